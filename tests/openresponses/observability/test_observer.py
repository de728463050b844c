"""Ops.turn: one model call's latency, first output, tokens, outcome and active streams."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import trio

from actors import MailboxFull
from openresponses.observability.logs import RequestRecord, current_request
from openresponses.observability.observer import Ops
from openresponses.schema import model_events as me

CALL = {"provider": "groq", "model": "m"}


@asynccontextmanager
async def stream_of(*items: object) -> AsyncIterator[trio.MemoryReceiveChannel[object]]:
    send, receive = trio.open_memory_channel[object](len(items))
    for item in items:
        send.send_nowait(item)
    send.close()
    yield receive


@asynccontextmanager
async def full_mailbox() -> AsyncIterator[trio.MemoryReceiveChannel[object]]:
    raise MailboxFull("provider:groq", 1)
    yield trio.open_memory_channel[object](0)[1]  # pragma: no cover


def sample(ops: Ops, name: str, **labels: str) -> float | None:
    return ops.metrics.sample(name, labels)


async def test_a_finished_call_records_tokens_first_output_and_outcome() -> None:
    ops = Ops()
    record = RequestRecord(request_id="r", method="POST", path="/", key=None, started=0.0)
    token = current_request.set(record)
    try:
        items = (object(), me.Usage(input_tokens=3, output_tokens=4),
                 me.TextDelta("k", "hi"), me.Usage(input_tokens=1, output_tokens=1),
                 me.Finish("stop"))
        async with ops.turn("groq", "m", stream_of(*items)) as upstream:
            assert sample(ops, "openresponses_active_streams", provider="groq") == 1
            received = [item async for item in upstream]
    finally:
        current_request.reset(token)
    assert received == list(items)
    assert sample(ops, "openresponses_active_streams", provider="groq") == 0
    assert sample(ops, "openresponses_tokens_total", direction="input", **CALL) == 4
    assert sample(ops, "openresponses_tokens_total", direction="output", **CALL) == 5
    assert sample(ops, "openresponses_time_to_first_token_seconds_count", **CALL) == 1
    assert sample(ops, "openresponses_upstream_duration_seconds_count", **CALL) == 1
    assert sample(ops, "openresponses_model_calls_total", outcome="ok", **CALL) == 1
    assert (record.provider, record.model, record.input_tokens, record.output_tokens) == (
        "groq", "m", 4, 5)
    assert record.ttft_seconds is not None
    assert record.upstream_seconds > 0


async def test_an_error_inside_the_call_is_counted_as_error() -> None:
    ops = Ops()
    with pytest.raises(RuntimeError):
        async with ops.turn("groq", "m", stream_of()):
            raise RuntimeError("upstream broke")
    assert sample(ops, "openresponses_model_calls_total", outcome="error", **CALL) == 1
    assert sample(ops, "openresponses_active_streams", provider="groq") == 0


async def test_a_full_mailbox_is_counted_as_shed() -> None:
    ops = Ops()
    with pytest.raises(MailboxFull):
        async with ops.turn("groq", "m", full_mailbox()):
            pass  # pragma: no cover
    assert sample(ops, "openresponses_model_calls_total", outcome="shed", **CALL) == 1


async def test_a_call_abandoned_by_its_client_is_counted_as_cancelled() -> None:
    ops = Ops()
    with trio.move_on_after(0):
        async with ops.turn("groq", "m", stream_of()):
            await trio.sleep_forever()
    assert sample(ops, "openresponses_model_calls_total", outcome="cancelled", **CALL) == 1
    assert sample(ops, "openresponses_active_streams", provider="groq") == 0


async def test_the_drain_bounds_waits_on_the_upstream(autojump_clock: trio.abc.Clock) -> None:
    ops = Ops()
    send, receive = trio.open_memory_channel[object](1)

    @asynccontextmanager
    async def stalled() -> AsyncIterator[trio.MemoryReceiveChannel[object]]:
        yield receive

    ops.drain.start(grace=3)
    with pytest.raises(Exception, match="shutting down"):
        async with ops.turn("groq", "m", stalled()) as upstream:
            await upstream.receive()
    assert trio.current_time() == pytest.approx(3)
    send.close()


async def test_the_drain_ends_a_stream_wait_begun_before_it(autojump_clock: trio.abc.Clock,
                                                            ) -> None:
    ops = Ops()
    send, receive = trio.open_memory_channel[object](1)

    @asynccontextmanager
    async def stalled() -> AsyncIterator[trio.MemoryReceiveChannel[object]]:
        yield receive

    async with trio.open_nursery() as nursery:
        nursery.start_soon(_start_drain_at, ops, 4.0, 3.0)
        with pytest.raises(Exception, match="shutting down"):
            async with ops.turn("groq", "m", stalled()) as upstream:
                await upstream.receive()  # waits from t=0, with no cancel scope of its own
    assert trio.current_time() == pytest.approx(7)
    assert sample(ops, "openresponses_model_calls_total", outcome="error", **CALL) == 1
    send.close()


async def _start_drain_at(ops: Ops, when: float, grace: float) -> None:
    await trio.sleep(when)
    ops.drain.start(grace=grace)


async def test_an_item_at_hand_is_taken_without_a_checkpoint() -> None:
    ops = Ops()
    send, receive = trio.open_memory_channel[object](1)
    send.send_nowait(me.TextDelta("k", "a"))

    @asynccontextmanager
    async def one_then_silence() -> AsyncIterator[trio.MemoryReceiveChannel[object]]:
        yield receive

    got: list[object] = []
    async with ops.turn("groq", "m", one_then_silence()) as upstream:
        with trio.CancelScope() as scope:
            scope.cancel()
            got.append(await upstream.receive())  # at hand: returned, not cancelled
            got.append(await upstream.receive())  # nothing at hand: a wait, cancelled
        assert scope.cancelled_caught
    assert got == [me.TextDelta("k", "a")]
    send.close()


async def test_ready_hands_over_what_waits_and_leaves_the_end_to_receive() -> None:
    ops = Ops()
    items = (me.Usage(input_tokens=2, output_tokens=1), me.TextDelta("k", "a"),
             me.TextDelta("k", "b"))
    async with ops.turn("groq", "m", stream_of(*items)) as upstream:
        assert await upstream.receive() == items[0]
        assert upstream.ready() == list(items[1:])  # counted like received items
        assert upstream.ready() == []
        with pytest.raises(trio.EndOfChannel):
            await upstream.receive()
    assert sample(ops, "openresponses_tokens_total", direction="input", **CALL) == 2
    assert sample(ops, "openresponses_time_to_first_token_seconds_count", **CALL) == 1


class _Counted(trio.abc.ReceiveChannel[object]):
    """Says how many items it holds (``ready_count``) and fails any other ``receive_nowait``."""

    def __init__(self, *items: object) -> None:
        self.items = list(items)

    @property
    def ready_count(self) -> int:
        return len(self.items)

    def receive_nowait(self) -> object:
        if not self.items:
            raise AssertionError("ready must not ask past ready_count")
        return self.items.pop(0)

    async def receive(self) -> object:
        await trio.lowlevel.checkpoint()
        return self.receive_nowait()

    async def aclose(self) -> None:
        await trio.lowlevel.checkpoint()


async def test_ready_takes_what_a_channel_counts_without_asking_for_more() -> None:
    @asynccontextmanager
    async def counted() -> AsyncIterator[_Counted]:
        yield _Counted(me.TextDelta("k", "a"), me.TextDelta("k", "b"))

    async with Ops().turn("groq", "m", counted()) as upstream:
        assert upstream.ready() == [me.TextDelta("k", "a"), me.TextDelta("k", "b")]
        assert upstream.ready() == []


class _Late(_Counted):
    """Counts nothing until waited on: only ``receive`` brings the item. Closable, as
    ``ActorRef.stream``'s channel is (its waits need no cancel scope)."""

    def __init__(self, late: object) -> None:
        super().__init__()
        self.late = late

    async def receive(self) -> object:
        await trio.lowlevel.checkpoint()
        return self.late

    def close(self) -> None:
        self.items.clear()


async def test_receive_waits_without_asking_a_channel_that_counts_nothing() -> None:
    @asynccontextmanager
    async def late() -> AsyncIterator[_Late]:
        yield _Late(me.TextDelta("k", "a"))

    async with Ops().turn("groq", "m", late()) as upstream:
        assert await upstream.receive() == me.TextDelta("k", "a")


class _Ended(_Counted):
    """Counts nothing and has ended: ``receive_nowait`` says so (as a non-stream turn's
    answer does once taken); its scoped wait must not be needed to find out."""

    def receive_nowait(self) -> object:
        raise trio.EndOfChannel

    async def receive(self) -> object:
        raise AssertionError("the end was at hand: no wait")


async def test_an_end_at_hand_is_met_without_a_wait() -> None:
    @asynccontextmanager
    async def ended() -> AsyncIterator[_Ended]:
        yield _Ended()

    async with Ops().turn("groq", "m", ended()) as upstream:
        with pytest.raises(trio.EndOfChannel):
            await upstream.receive()


class _Failing(trio.abc.ReceiveChannel[object]):
    """Items, then the producer's error (as an actor stream ends), without waiting."""

    def __init__(self, *items: object) -> None:
        self.items = list(items)

    def receive_nowait(self) -> object:
        if self.items:
            return self.items.pop(0)
        raise RuntimeError("upstream broke")

    async def receive(self) -> object:
        await trio.lowlevel.checkpoint()
        return self.receive_nowait()

    async def aclose(self) -> None:
        await trio.lowlevel.checkpoint()


async def test_an_error_met_by_ready_is_raised_by_the_next_receive() -> None:
    @asynccontextmanager
    async def failing() -> AsyncIterator[trio.abc.ReceiveChannel[object]]:
        yield _Failing(me.TextDelta("k", "a"), me.TextDelta("k", "b"))

    ops = Ops()
    seen: list[object] = []

    async def consume() -> None:
        async with ops.turn("groq", "m", failing()) as upstream:
            seen.append(upstream.ready())
            seen.append(upstream.ready())  # the error waits for receive
            await upstream.receive()

    with pytest.raises(RuntimeError, match="upstream broke"):
        await consume()
    assert seen == [[me.TextDelta("k", "a"), me.TextDelta("k", "b")], []]
    assert sample(ops, "openresponses_model_calls_total", outcome="error", **CALL) == 1
