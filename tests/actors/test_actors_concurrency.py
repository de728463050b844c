"""Actor.concurrency: sequential by default, at most N handlers at once."""

from __future__ import annotations

import attrs
import pytest
import trio
import trio.testing

from actors import Actor, ActorRef, Ask, open_supervisor
from actors.testing import started


@attrs.frozen
class Wait(Ask[int]):
    gate: trio.Event
    n: int


class Pool(Actor[Wait]):
    def __init__(self, concurrency: int) -> None:
        self.concurrency = concurrency
        self.running = 0
        self.peak = 0

    async def receive(self, message: Wait) -> int:
        self.running += 1
        self.peak = max(self.peak, self.running)
        try:
            await message.gate.wait()
        finally:
            self.running -= 1
        return message.n


async def ask_all(ref: ActorRef[Wait], gate: trio.Event, count: int) -> list[int]:
    replies: list[int] = []

    async def one(n: int) -> None:
        replies.append(await ref.ask(Wait(gate, n)))

    async with trio.open_nursery() as nursery:
        for n in range(count):
            nursery.start_soon(one, n)
    return sorted(replies)


async def test_concurrent_actor_handles_n_asks_in_parallel() -> None:
    gate = trio.Event()
    pool = Pool(concurrency=4)
    async with started(lambda: pool) as ref, trio.open_nursery() as nursery:
        results: list[list[int]] = []

        async def run() -> None:
            results.append(await ask_all(ref, gate, 4))

        nursery.start_soon(run)
        await trio.testing.wait_all_tasks_blocked()
        # All four got in before any finished: only then is the gate opened.
        assert pool.running == 4
        assert ref.statistics().in_flight == 4
        gate.set()
    assert results == [[0, 1, 2, 3]]


async def test_concurrent_actor_never_runs_more_than_n_at_once() -> None:
    gate = trio.Event()
    pool = Pool(concurrency=3)
    async with started(lambda: pool) as ref, trio.open_nursery() as nursery:
        nursery.start_soon(ask_all, ref, gate, 10)
        await trio.testing.wait_all_tasks_blocked()
        assert pool.running == 3
        assert ref.statistics().in_flight == 3
        assert ref.statistics().depth == 7
        gate.set()
    assert pool.peak == 3
    assert ref.statistics().processed == 10


async def test_default_actor_handles_one_message_at_a_time() -> None:
    gate = trio.Event()
    pool = Pool(concurrency=1)
    async with started(lambda: pool) as ref, trio.open_nursery() as nursery:
        nursery.start_soon(ask_all, ref, gate, 3)
        await trio.testing.wait_all_tasks_blocked()
        assert pool.running == 1
        assert ref.statistics().depth == 2
        gate.set()
    assert pool.peak == 1


async def test_concurrency_below_one_is_rejected_at_start() -> None:
    async with open_supervisor() as supervisor:
        with pytest.raises(ValueError, match="concurrency"):
            await supervisor.start(lambda: Pool(concurrency=0), name="none")


@attrs.frozen
class WhichTask(Ask[object]):
    pass


class Tasks(Actor[WhichTask]):
    concurrency = 8

    async def receive(self, message: WhichTask) -> object:
        return trio.lowlevel.current_task()


async def test_concurrent_actor_reuses_its_handler_tasks() -> None:
    async with started(Tasks) as ref:
        tasks = [await ref.ask(WhichTask()) for _ in range(50)]  # kept: ids stay unique
    # One at a time: one worker takes each message, a second waits idle; no task per message.
    assert len({id(task) for task in tasks}) <= 2


async def test_a_worker_freed_by_a_cancelled_ask_takes_the_next_message() -> None:
    gate = trio.Event()
    pool = Pool(concurrency=2)
    async with started(lambda: pool) as ref:
        with trio.move_on_after(0.05):
            await ask_all(ref, gate, 2)  # both workers busy, then both asks cancelled
        await trio.testing.wait_all_tasks_blocked()
        assert pool.running == 0
        gate.set()
        assert await ask_all(ref, gate, 3) == [0, 1, 2]
        assert pool.peak == 2
