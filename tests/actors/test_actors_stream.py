"""Streams: items in order, early exit closes the producer, errors after items."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import attrs
import pytest
import trio
import trio.testing

from actors import Actor, ActorCrashed, ActorRef, Ask, MailboxFull, StreamAsk
from actors.testing import started


@attrs.frozen
class Count(StreamAsk[int]):
    upto: int | None  # None: forever
    fail_at: int | None = None


@attrs.frozen
class NotAStream(StreamAsk[int]):
    pass


@attrs.frozen
class Log(Ask[list[str]]):
    pass


@attrs.frozen
class Crash:
    pass


Msg = Count | NotAStream | Log | Crash


class Counter(Actor[Msg]):
    def __init__(self, concurrency: int = 1) -> None:
        self.concurrency = concurrency
        self.log: list[str] = []

    async def receive(self, message: Msg) -> object:
        match message:
            case Count(upto, fail_at):
                return self.count(upto, fail_at)
            case NotAStream():
                return 42
            case Log():
                return list(self.log)
            case Crash():
                raise RuntimeError("crash")
        return None

    async def count(self, upto: int | None, fail_at: int | None) -> AsyncIterator[int]:
        n = 0
        try:
            while upto is None or n < upto:
                if n == fail_at:
                    raise ValueError(f"failed at {n}")
                self.log.append(f"yield {n}")
                yield n
                n += 1
        finally:
            self.log.append("closed")


async def collect(ref: ActorRef[Msg], message: Count | NotAStream, into: list[int]) -> None:
    async with ref.stream(message, buffer=2) as items:
        async for item in items:
            into.append(item)


async def test_stream_yields_every_item_then_ends() -> None:
    async with started(Counter) as ref:
        received: list[int] = []
        await collect(ref, Count(5), received)
        assert received == [0, 1, 2, 3, 4]
        assert (await ref.ask(Log()))[-1] == "closed"


async def test_leaving_the_stream_early_closes_the_producer() -> None:
    async with started(Counter) as ref:
        async with ref.stream(Count(None)) as items:
            async for item in items:
                if item == 3:
                    break
        assert (await ref.ask(Log()))[-1] == "closed"
        assert ref.statistics().in_flight == 0


async def test_cancelled_consumer_cancels_the_producer() -> None:
    async with started(Counter) as ref:
        received: list[int] = []
        with trio.CancelScope() as scope:
            async with ref.stream(Count(None), buffer=0) as items:
                async for item in items:
                    received.append(item)
                    if item == 2:
                        scope.cancel()
        assert received == [0, 1, 2]
        assert (await ref.ask(Log()))[-1] == "closed"


async def test_stream_buffer_bounds_the_unread_items() -> None:
    counter = Counter()
    async with started(lambda: counter) as ref:
        async with ref.stream(Count(None), buffer=2):
            await trio.testing.wait_all_tasks_blocked()
            # two items wait in the buffer, the third waits for room
            assert counter.log == ["yield 0", "yield 1", "yield 2"]
            assert ref.statistics().in_flight == 1
        await trio.testing.wait_all_tasks_blocked()
        assert counter.log[-1] == "closed"


async def test_ready_count_says_what_can_be_taken_without_waiting() -> None:
    async with started(Counter) as ref:
        async with ref.stream(Count(3), buffer=8) as items:
            await trio.testing.wait_all_tasks_blocked()
            counted: Any = items
            assert counted.ready_count == 3
            assert [counted.receive_nowait() for _ in range(3)] == [0, 1, 2]
            assert counted.ready_count == 0  # the end is not counted: receive meets it
            with pytest.raises(trio.EndOfChannel):
                await items.receive()


@pytest.mark.parametrize("buffer", [0, 1, 3])
async def test_ready_count_never_promises_more_than_is_at_hand(buffer: int) -> None:
    async with started(Counter) as ref:
        taken: list[int] = []
        async with ref.stream(Count(40), buffer=buffer) as items:
            counted: Any = items
            while len(taken) < 40:
                await trio.testing.wait_all_tasks_blocked()
                for _ in range(counted.ready_count):  # raises WouldBlock if it promised more
                    taken.append(counted.receive_nowait())
                if len(taken) < 40:
                    taken.append(await items.receive())
        assert taken == list(range(40))


async def test_error_while_producing_reaches_the_consumer_after_the_items() -> None:
    async with started(Counter) as ref:
        received: list[int] = []
        with pytest.raises(ValueError, match="failed at 3"):
            await collect(ref, Count(10, fail_at=3), received)
        assert received == [0, 1, 2]
        assert ref.statistics().restarts == 0
        await collect(ref, Count(1), received)
        assert received == [0, 1, 2, 0]


async def test_receive_must_return_an_async_iterator_for_a_stream() -> None:
    async with started(Counter) as ref:
        with pytest.raises(TypeError, match="AsyncIterator"):
            await collect(ref, NotAStream(), [])


async def test_stream_nowait_raises_mailbox_full_on_entering() -> None:
    async with started(Counter, mailbox_size=1) as ref, ref.stream(Count(None), buffer=0):
        await trio.testing.wait_all_tasks_blocked()  # the producer is busy
        async with ref.stream(Count(1)):  # fills the mailbox
            with pytest.raises(MailboxFull):
                async with ref.stream(Count(1), nowait=True):
                    pass


async def test_stream_of_a_crashed_instance_fails_with_actor_crashed() -> None:
    async with started(lambda: Counter(concurrency=2)) as ref:
        received: list[int] = []
        async with ref.stream(Count(None), buffer=0) as items:
            received.append(await items.receive())
            await ref.send(Crash())
            with pytest.raises(ActorCrashed) as excinfo:
                received.extend([item async for item in items])
        assert isinstance(excinfo.value.__cause__, RuntimeError)
        assert received[0] == 0
        assert ref.statistics().restarts == 1
