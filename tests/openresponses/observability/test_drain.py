"""The drain: upstream waits run free until shutdown, then end at the grace deadline."""

from __future__ import annotations

import pytest
import trio

from openresponses.observability.lifecycle import Drain, ShuttingDown

WAYS = ("receive", "receive_closable")  # a wait in a cancel scope; one closed at the deadline


@pytest.mark.parametrize("way", WAYS)
async def test_receives_pass_through_until_the_drain_starts(
    way: str, autojump_clock: trio.abc.Clock,
) -> None:
    drain = Drain()
    send, receive = trio.open_memory_channel[int](1)
    async with trio.open_nursery() as nursery:

        async def later() -> None:
            await trio.sleep(1000)
            await send.send(7)

        nursery.start_soon(later)
        assert await getattr(drain, way)(receive) == 7


@pytest.mark.parametrize("way", WAYS)
async def test_a_wait_pending_at_the_deadline_raises_shutting_down(
    way: str, autojump_clock: trio.abc.Clock,
) -> None:
    drain = Drain()
    send, receive = trio.open_memory_channel[int](1)
    async with trio.open_nursery() as nursery:

        async def shut_down() -> None:
            await trio.sleep(5)
            drain.start(grace=2)

        nursery.start_soon(shut_down)
        with pytest.raises(ShuttingDown):
            await getattr(drain, way)(receive)
        assert trio.current_time() == pytest.approx(7)
    if way == "receive":
        send.send_nowait(1)  # nothing was lost: the item is still there
        assert receive.receive_nowait() == 1
    else:
        with pytest.raises(trio.BrokenResourceError):  # closed: the producer hears it
            send.send_nowait(1)


async def test_items_arriving_within_the_grace_still_flow(autojump_clock: trio.abc.Clock) -> None:
    drain = Drain()
    drain.start(grace=10)
    drain.start(grace=100)  # idempotent: the first deadline stands
    send, receive = trio.open_memory_channel[int](4)
    send.send_nowait(1)
    assert await drain.receive(receive) == 1
    await trio.sleep(9)
    send.send_nowait(2)
    assert await drain.receive(receive) == 2
    with pytest.raises(ShuttingDown):
        await drain.receive(receive)
    assert trio.current_time() == pytest.approx(10)


def test_shutting_down_is_a_503() -> None:
    error = ShuttingDown()
    assert (error.status, error.type, error.code) == (503, "server_error",
                                                      "server_shutting_down")


async def test_an_item_within_the_grace_ends_a_closable_wait_normally(
    autojump_clock: trio.abc.Clock,
) -> None:
    drain = Drain()
    send, receive = trio.open_memory_channel[int](1)
    async with trio.open_nursery() as nursery:

        async def shut_down_then_answer() -> None:
            await trio.sleep(5)
            drain.start(grace=10)
            await trio.sleep(3)
            await send.send(8)

        nursery.start_soon(shut_down_then_answer)
        assert await drain.receive_closable(receive) == 8
        assert trio.current_time() == pytest.approx(8)
        with pytest.raises(ShuttingDown):  # begun while draining: bounded by the deadline
            await drain.receive_closable(receive)
        assert trio.current_time() == pytest.approx(15)
    send.send_nowait(9)  # that wait had a cancel scope: the channel is still open
    assert receive.receive_nowait() == 9


async def test_a_channel_closed_by_someone_else_is_not_a_shutdown() -> None:
    drain = Drain()
    _send, receive = trio.open_memory_channel[int](1)
    async with trio.open_nursery() as nursery:

        async def close_soon() -> None:
            await trio.testing.wait_all_tasks_blocked()
            receive.close()

        nursery.start_soon(close_soon)
        with pytest.raises(trio.ClosedResourceError):
            await drain.receive_closable(receive)


class _StuckOnClose:
    """A closable channel whose close() fails (the drain must not crash on it)."""

    def __init__(self) -> None:
        self.send, self.items = trio.open_memory_channel[int](1)

    async def receive(self) -> int:
        return await self.items.receive()

    def close(self) -> None:
        raise RuntimeError("cannot close")


async def test_a_channel_failing_to_close_is_logged_and_the_others_still_end(
    autojump_clock: trio.abc.Clock, caplog: pytest.LogCaptureFixture,
) -> None:
    drain = Drain()
    stuck = _StuckOnClose()
    _send, receive = trio.open_memory_channel[int](1)
    ended: list[str] = []

    async def wait_closed() -> None:
        with pytest.raises(ShuttingDown):
            await drain.receive_closable(receive)
        ended.append("closed")

    async with trio.open_nursery() as nursery:
        nursery.start_soon(drain.receive_closable, stuck)  # registered first
        nursery.start_soon(wait_closed)
        await trio.testing.wait_all_tasks_blocked()
        drain.start(grace=1)
        await trio.sleep(2)
        assert ended == ["closed"]
        assert "could not close a channel" in caplog.text
        stuck.send.send_nowait(1)  # the stuck wait ends when its item comes
