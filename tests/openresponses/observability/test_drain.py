"""The drain: upstream waits run free until shutdown, then end at the grace deadline."""

from __future__ import annotations

import pytest
import trio

from openresponses.observability.lifecycle import Drain, ShuttingDown


async def test_receives_pass_through_until_the_drain_starts(autojump_clock: trio.abc.Clock) -> None:
    drain = Drain()
    send, receive = trio.open_memory_channel[int](1)
    async with trio.open_nursery() as nursery:

        async def later() -> None:
            await trio.sleep(1000)
            await send.send(7)

        nursery.start_soon(later)
        assert await drain.receive(receive) == 7


async def test_a_wait_pending_at_the_deadline_raises_shutting_down(
    autojump_clock: trio.abc.Clock,
) -> None:
    drain = Drain()
    send, receive = trio.open_memory_channel[int](1)
    async with trio.open_nursery() as nursery:

        async def shut_down() -> None:
            await trio.sleep(5)
            drain.start(grace=2)

        nursery.start_soon(shut_down)
        with pytest.raises(ShuttingDown):
            await drain.receive(receive)
        assert trio.current_time() == pytest.approx(7)
    send.send_nowait(1)  # nothing was lost: the item is still there
    assert receive.receive_nowait() == 1


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
