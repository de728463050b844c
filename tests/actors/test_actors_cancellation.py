"""Cancellation: a gone asker cancels or skips its message; the actor lives on."""

from __future__ import annotations

import attrs
import trio
import trio.testing

from actors import Actor, Ask
from actors.testing import started


@attrs.frozen
class Slow(Ask[str]):
    label: str


@attrs.frozen
class Hold(Ask[None]):
    gate: trio.Event


@attrs.frozen
class Log(Ask[list[str]]):
    pass


Msg = Slow | Hold | Log


class Tracker(Actor[Msg]):
    def __init__(self, concurrency: int = 1) -> None:
        self.concurrency = concurrency
        self.log: list[str] = []

    async def receive(self, message: Msg) -> object:
        match message:
            case Slow(label):
                self.log.append(f"start {label}")
                try:
                    await trio.sleep(100)
                except trio.Cancelled:
                    self.log.append(f"cancelled {label}")
                    raise
                return label
            case Hold(gate):
                await gate.wait()
            case Log():
                return list(self.log)
        return None


async def test_cancelled_asker_cancels_the_handler_and_the_actor_lives_on(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with started(Tracker) as ref:
        with trio.move_on_after(1) as scope:
            await ref.ask(Slow("a"))
        assert scope.cancelled_caught
        assert await ref.ask(Log()) == ["start a", "cancelled a"]
        assert trio.current_time() < 2
        stats = ref.statistics()
        assert (stats.restarts, stats.in_flight) == (0, 0)


async def test_cancelled_asker_cancels_only_its_own_handler(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with started(lambda: Tracker(concurrency=2)) as ref:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(ref.ask, Slow("kept"))
            with trio.move_on_after(1):
                await ref.ask(Slow("dropped"))
        log = await ref.ask(Log())
        assert sorted(log) == ["cancelled dropped", "start dropped", "start kept"]


async def test_message_of_a_cancelled_asker_is_skipped() -> None:
    gate = trio.Event()
    async with started(Tracker) as ref:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(ref.ask, Hold(gate))
            await trio.testing.wait_all_tasks_blocked()
            with trio.CancelScope() as scope:
                nursery.start_soon(cancel_when_all_blocked, scope)
                await ref.ask(Slow("never"))
            assert ref.statistics().depth == 1
            gate.set()
        assert await ref.ask(Log()) == []
        assert ref.statistics().processed == 2  # Hold and Log; the skipped one not


async def cancel_when_all_blocked(scope: trio.CancelScope) -> None:
    await trio.testing.wait_all_tasks_blocked()
    scope.cancel()


async def test_cancelling_the_supervisor_is_not_swallowed(
    autojump_clock: trio.testing.MockClock,
) -> None:
    tracker = Tracker()
    with trio.move_on_after(5) as scope:
        async with started(lambda: tracker) as ref:
            await ref.ask(Slow("forever"))
    assert scope.cancelled_caught
    assert tracker.log == ["start forever", "cancelled forever"]
