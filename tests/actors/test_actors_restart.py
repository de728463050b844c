"""Crashes: fresh instance, restart counter, mailbox kept, in-flight asks failed."""

from __future__ import annotations

import functools

import attrs
import pytest
import trio
import trio.testing

from actors import Actor, ActorCrashed, ActorRef, Ask, open_supervisor
from actors.testing import started


@attrs.frozen
class Crash:
    """Plain message: raises once `gate` is set."""

    gate: trio.Event | None = None


@attrs.frozen
class Add(Ask[int]):
    n: int


@attrs.frozen
class Park(Ask[int]):
    """Blocks its handler forever."""


Msg = Crash | Add | Park


class Worker(Actor[Msg]):
    def __init__(self, instances: list[Worker], concurrency: int = 1) -> None:
        self.concurrency = concurrency
        self.value = 0
        self.started = False
        instances.append(self)

    async def on_start(self) -> None:
        self.started = True

    async def receive(self, message: Msg) -> object:
        match message:
            case Crash(gate):
                if gate is not None:
                    await gate.wait()
                raise ValueError("crash")
            case Add(n):
                self.value += n
                return self.value
            case Park():
                await trio.sleep_forever()
        return None


async def test_crash_on_a_plain_message_restarts_a_fresh_instance() -> None:
    instances: list[Worker] = []
    async with started(lambda: Worker(instances)) as ref:
        assert await ref.ask(Add(5)) == 5
        await ref.send(Crash())
        assert await ref.ask(Add(1)) == 1
        assert len(instances) == 2
        assert instances[1].started
        assert ref.statistics().restarts == 1


async def test_queued_messages_are_kept_for_the_fresh_instance() -> None:
    instances: list[Worker] = []
    gate = trio.Event()
    replies: list[int] = []

    async def ask(ref: ActorRef[Msg], n: int) -> None:
        replies.append(await ref.ask(Add(n)))

    async with started(lambda: Worker(instances)) as ref:
        await ref.send(Crash(gate))  # the actor is busy: what follows stays queued
        async with trio.open_nursery() as nursery:
            nursery.start_soon(ask, ref, 1)
            await trio.testing.wait_all_tasks_blocked()
            nursery.start_soon(ask, ref, 2)
            await trio.testing.wait_all_tasks_blocked()
            assert ref.statistics().depth == 2
            gate.set()
    assert replies == [1, 3]
    assert instances[-1].value == 3
    assert ref.statistics().restarts == 1


async def open_when_all_blocked(gate: trio.Event) -> None:
    await trio.testing.wait_all_tasks_blocked()
    gate.set()


async def test_in_flight_asks_of_a_crashed_instance_fail_with_actor_crashed() -> None:
    gate = trio.Event()
    factory = functools.partial(Worker, [], concurrency=2)
    async with started(factory, name="w") as ref, trio.open_nursery() as nursery:
        await ref.send(Crash(gate))
        nursery.start_soon(open_when_all_blocked, gate)
        with pytest.raises(ActorCrashed, match="'w'") as excinfo:
            await ref.ask(Park())
        assert isinstance(excinfo.value.__cause__, ValueError)
        assert await ref.ask(Add(2)) == 2


class Background(Actor[Add]):
    def __init__(self, trigger: trio.Event, starts: list[int]) -> None:
        self.trigger = trigger
        starts.append(len(starts))

    async def on_start(self) -> None:
        self.context.nursery.start_soon(self.watch)

    async def watch(self) -> None:
        await self.trigger.wait()
        raise OSError("connection lost")

    async def receive(self, message: Add) -> int:
        return message.n


async def test_exception_in_a_context_nursery_task_crashes_the_instance() -> None:
    triggers = [trio.Event(), trio.Event()]
    starts: list[int] = []
    async with started(lambda: Background(triggers[len(starts)], starts)) as ref:
        triggers[0].set()
        await trio.testing.wait_all_tasks_blocked()
        assert starts == [0, 1]
        assert ref.statistics().restarts == 1
        assert await ref.ask(Add(4)) == 4


class FailsSecondStart(Actor[Add]):
    def __init__(self, starts: list[int]) -> None:
        self.number = len(starts)
        starts.append(self.number)

    async def on_start(self) -> None:
        if self.number == 1:
            raise RuntimeError("second start fails")

    async def receive(self, message: Add) -> int:
        if message.n < 0:
            raise ValueError("negative")
        return message.n


async def test_on_start_failure_on_a_restart_counts_as_a_crash() -> None:
    starts: list[int] = []
    async with started(lambda: FailsSecondStart(starts)) as ref:
        await ref.send(Add(-1))  # sent, not asked: the exception crashes the instance
        assert await ref.ask(Add(1)) == 1
        assert starts == [0, 1, 2]
        assert ref.statistics().restarts == 2


async def test_restarts_are_one_for_one() -> None:
    async with open_supervisor() as supervisor:
        steady = await supervisor.start(lambda: Worker([]), name="steady")
        flaky = await supervisor.start(lambda: Worker([]), name="flaky")
        assert await steady.ask(Add(10)) == 10
        await flaky.send(Crash())
        assert await flaky.ask(Add(1)) == 1
        assert await steady.ask(Add(1)) == 11
        assert [s.restarts for s in supervisor.statistics()] == [0, 1]
