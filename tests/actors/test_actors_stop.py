"""Graceful stop: in-flight finish, queued fail, sends refused, on_stop once."""

from __future__ import annotations

import functools

import attrs
import pytest
import trio
import trio.testing

from actors import Actor, ActorRef, ActorStopped, Ask, StreamAsk, open_supervisor
from actors.testing import started


@attrs.frozen
class Work(Ask[str]):
    gate: trio.Event
    label: str


@attrs.frozen
class Quit(Ask[str]):
    """The actor stops itself from its own handler."""


@attrs.frozen
class Items(StreamAsk[int]):
    pass


Msg = Work | Quit | Items


class Clerk(Actor[Msg]):
    def __init__(self, log: list[str], name: str = "clerk") -> None:
        self.log = log
        self.name = name

    async def on_start(self) -> None:
        self.context.nursery.start_soon(self.background)

    async def background(self) -> None:
        try:
            await trio.sleep_forever()
        finally:
            self.log.append(f"{self.name}: background cancelled")

    async def receive(self, message: Msg) -> object:
        match message:
            case Work(gate, label):
                await gate.wait()
                self.log.append(f"{self.name}: done {label}")
                return label
            case Quit():
                await self.context.ref.stop()
                return "bye"
        return None

    async def on_stop(self) -> None:
        self.log.append(f"{self.name}: on_stop")


async def ask_into(ref: ActorRef[Msg], message: Work, into: list[object]) -> None:
    try:
        into.append(await ref.ask(message))
    except ActorStopped as exc:
        into.append(exc)


async def test_stop_lets_in_flight_finish_and_fails_queued_asks() -> None:
    log: list[str] = []
    gate = trio.Event()
    replies: list[object] = []
    async with started(lambda: Clerk(log)) as ref, trio.open_nursery() as nursery:
        nursery.start_soon(ask_into, ref, Work(gate, "first"), replies)
        await trio.testing.wait_all_tasks_blocked()
        nursery.start_soon(ask_into, ref, Work(gate, "queued"), replies)
        await trio.testing.wait_all_tasks_blocked()
        nursery.start_soon(ref.stop)
        await trio.testing.wait_all_tasks_blocked()
        assert isinstance(replies[0], ActorStopped)  # the queued ask, at once
        assert log == []
        gate.set()
    assert replies[1] == "first"
    assert log == ["clerk: done first", "clerk: on_stop", "clerk: background cancelled"]


async def test_messages_after_stop_raise_actor_stopped() -> None:
    async with started(lambda: Clerk([]), name="gone") as ref:
        await ref.stop()
        with pytest.raises(ActorStopped, match="'gone'"):
            await ref.send(Quit())
        with pytest.raises(ActorStopped):
            ref.send_nowait(Quit())
        with pytest.raises(ActorStopped):
            await ref.ask(Quit())
        with pytest.raises(ActorStopped):
            async with ref.stream(Items()):
                pass


async def test_senders_waiting_for_room_get_actor_stopped() -> None:
    gate = trio.Event()
    async with started(lambda: Clerk([]), mailbox_size=1) as ref:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(ref.send, Work(gate, "busy"))
            nursery.start_soon(ref.send, Work(gate, "queued"))
            await trio.testing.wait_all_tasks_blocked()
            assert ref.statistics().depth == 1
            nursery.start_soon(ref.stop)
            with pytest.raises(ActorStopped):
                await ref.send(Work(gate, "waiting"))
            gate.set()


async def test_stop_is_idempotent_and_on_stop_runs_once() -> None:
    log: list[str] = []
    async with started(lambda: Clerk(log)) as ref:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(ref.stop)
            nursery.start_soon(ref.stop)
        await ref.stop()
    assert log.count("clerk: on_stop") == 1


async def test_actor_can_stop_itself_from_a_handler() -> None:
    log: list[str] = []
    async with started(lambda: Clerk(log)) as ref:
        assert await ref.ask(Quit()) == "bye"
        await ref.stop()
        assert log[0] == "clerk: on_stop"


async def test_supervisor_exit_stops_actors_in_reverse_start_order() -> None:
    log: list[str] = []
    async with open_supervisor() as supervisor:
        for name in ("a", "b", "c"):
            await supervisor.start(functools.partial(Clerk, log, name), name=name)
    assert [line for line in log if "on_stop" in line] == [
        "c: on_stop",
        "b: on_stop",
        "a: on_stop",
    ]


async def test_stopped_actors_leave_the_supervisor_statistics() -> None:
    async with open_supervisor() as supervisor:
        first = await supervisor.start(lambda: Clerk([]), name="first")
        await supervisor.start(lambda: Clerk([]), name="second")
        await first.stop()
        assert [s.name for s in supervisor.statistics()] == ["second"]
        await supervisor.stop_all()
        assert supervisor.statistics() == []


async def drain(ref: ActorRef[Msg]) -> list[int]:
    async with ref.stream(Items()) as items:
        return [item async for item in items]


async def test_queued_stream_fails_with_actor_stopped_from_the_iteration() -> None:
    gate = trio.Event()
    async with started(lambda: Clerk([])) as ref, trio.open_nursery() as nursery:
        nursery.start_soon(ref.ask, Work(gate, "busy"))
        await trio.testing.wait_all_tasks_blocked()
        async with ref.stream(Items()) as items:
            nursery.start_soon(ref.stop)
            with pytest.raises(ActorStopped):
                await items.receive()
        gate.set()


class FailingStop(Actor[Quit]):
    def __init__(self, starts: list[int]) -> None:
        self.number = len(starts)
        starts.append(self.number)

    async def on_stop(self) -> None:
        if self.number == 0:
            raise OSError("flush failed")


async def test_on_stop_failure_counts_as_a_crash() -> None:
    starts: list[int] = []
    async with started(lambda: FailingStop(starts)) as ref:
        await ref.stop()
        assert starts == [0, 1]
        assert ref.statistics().restarts == 1
