"""Restart budget: too many crashes within `within` seconds escalate."""

from __future__ import annotations

import attrs
import pytest
import trio
import trio.testing

from actors import (
    Actor,
    ActorRef,
    ActorStopped,
    Ask,
    RestartBudgetExceeded,
    RestartPolicy,
    open_supervisor,
)


@attrs.frozen
class Crash:
    pass


@attrs.frozen
class Park(Ask[None]):
    pass


class Flaky(Actor[Crash | Park]):
    async def receive(self, message: Crash | Park) -> None:
        if isinstance(message, Crash):
            raise ValueError("flaky")
        await trio.sleep_forever()


def caused_by_flaky(exc: RestartBudgetExceeded) -> bool:
    return isinstance(exc.__cause__, ValueError) and str(exc.__cause__) == "flaky"


async def test_crashes_beyond_the_budget_escalate_out_of_the_supervisor(
    autojump_clock: trio.testing.MockClock,
) -> None:
    policy = RestartPolicy(max_restarts=2, within=10)
    escalated = pytest.RaisesGroup(
        pytest.RaisesExc(RestartBudgetExceeded, match="'flaky'", check=caused_by_flaky)
    )
    with escalated:
        async with open_supervisor(policy=policy) as supervisor:
            ref = await supervisor.start(Flaky, name="flaky")
            for _ in range(3):
                await ref.send(Crash())
                await trio.sleep(1)
            pytest.fail("the third crash within 10s should have escalated")


async def test_crashes_spread_out_beyond_within_do_not_escalate(
    autojump_clock: trio.testing.MockClock,
) -> None:
    policy = RestartPolicy(max_restarts=1, within=10)
    async with open_supervisor(policy=policy) as supervisor:
        ref = await supervisor.start(Flaky, name="flaky")
        for _ in range(4):
            await ref.send(Crash())
            await trio.sleep(10.5)
        assert ref.statistics().restarts == 4


async def test_per_actor_policy_overrides_the_supervisor_policy() -> None:
    async with open_supervisor(policy=RestartPolicy(max_restarts=0)) as supervisor:
        ref = await supervisor.start(Flaky, name="flaky", policy=RestartPolicy(max_restarts=3))
        for _ in range(3):
            await ref.send(Crash())
        await trio.testing.wait_all_tasks_blocked()
        assert ref.statistics().restarts == 3


class Bystander(Actor[Park]):
    def __init__(self, log: list[str]) -> None:
        self.log = log

    async def on_start(self) -> None:
        self.context.nursery.start_soon(self.background)

    async def background(self) -> None:
        try:
            await trio.sleep_forever()
        finally:
            self.log.append("background cancelled")

    async def receive(self, message: Park) -> None:
        await trio.sleep_forever()

    async def on_stop(self) -> None:
        self.log.append("on_stop")


async def test_escalation_cancels_the_other_actors_and_fails_their_askers() -> None:
    log: list[str] = []
    refs: list[ActorRef[Park]] = []
    ready = trio.Event()
    failures: list[ActorStopped] = []

    async def ask_bystander_from_outside() -> None:
        await ready.wait()
        try:
            await refs[0].ask(Park())
        except ActorStopped as exc:
            failures.append(exc)

    async with trio.open_nursery() as outside:
        outside.start_soon(ask_bystander_from_outside)
        with pytest.RaisesGroup(RestartBudgetExceeded):
            async with open_supervisor(policy=RestartPolicy(max_restarts=0)) as supervisor:
                refs.append(await supervisor.start(lambda: Bystander(log), name="bystander"))
                flaky = await supervisor.start(Flaky, name="flaky")
                ready.set()
                await trio.testing.wait_all_tasks_blocked()
                assert refs[0].statistics().in_flight == 1
                await flaky.send(Crash())
                await trio.sleep_forever()
    assert log == ["background cancelled"]  # cancelled: no on_stop
    assert len(failures) == 1
