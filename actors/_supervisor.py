"""Supervision: restart crashed actors one-for-one, escalate past the budget."""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import attrs
import trio

from ._actor import Actor, run_instance
from ._errors import RestartBudgetExceeded, reraise, unwrap_group
from ._mailbox import Mailbox
from ._ref import ActorRef, ActorStatistics

M = TypeVar("M")


@attrs.frozen
class RestartPolicy:
    """How often an actor may crash: more than `max_restarts` crashes within
    `within` seconds (trio clock) escalate as RestartBudgetExceeded.
    """

    max_restarts: int = 5
    within: float = 60.0


_DEFAULT_POLICY = RestartPolicy()


def _record_crash(
    mailbox: Mailbox, policy: RestartPolicy, crashes: deque[float], crash: BaseException
) -> None:
    """Fail the crashed instance's in-flight asks, then count the crash.

    Raises RestartBudgetExceeded (chained from `crash`) past the budget.
    """
    mailbox.fail_in_flight(crash)
    now = trio.current_time()
    crashes.append(now)
    while crashes[0] <= now - policy.within:
        crashes.popleft()
    if len(crashes) > policy.max_restarts:
        raise RestartBudgetExceeded(mailbox.name, policy.max_restarts, policy.within) from crash
    mailbox.restarts += 1


async def _run_with_restarts(
    factory: Callable[[], Actor[Any]],
    ref: ActorRef[Any],
    mailbox: Mailbox,
    policy: RestartPolicy,
    task_status: trio.TaskStatus[None],
) -> None:
    """Run fresh instances until one stops gracefully; count crashes on the way.

    A crash before the first on_start finished is raised as it is (unwrapped
    from its exception group). Cancellation: propagates; never swallowed.
    """
    started = False

    def mark_started() -> None:
        nonlocal started
        if not started:
            started = True
            task_status.started()

    crashes: deque[float] = deque()
    while True:
        try:
            await run_instance(factory(), mailbox, ref, mark_started)
        except Exception as exc:  # a crash: Cancelled is a BaseException
            crash = unwrap_group(exc)
        else:
            return
        if not started:
            reraise(crash)
        _record_crash(mailbox, policy, crashes, crash)


class Supervisor:
    """Runs actors in one nursery and restarts each one when it crashes.

    Made by `open_supervisor`; not meant to be constructed directly.
    """

    def __init__(self, nursery: trio.Nursery, policy: RestartPolicy) -> None:
        self._nursery = nursery
        self._policy = policy
        self._refs: list[ActorRef[Any]] = []

    async def start(
        self,
        factory: Callable[[], Actor[M]],
        *,
        name: str,
        mailbox_size: int = 128,
        policy: RestartPolicy | None = None,
    ) -> ActorRef[M]:
        """Start an actor made by `factory()` and return its ref once on_start finished.

        A crashed instance is replaced by a fresh `factory()` (on_start runs
        again) behind the same ref and mailbox. An exception from factory or
        on_start at this first start is raised here. Cancellation: the actor
        is not started.
        """
        mailbox = Mailbox(name, mailbox_size)
        ref: ActorRef[M] = ActorRef(mailbox)
        await self._nursery.start(self._supervise, factory, ref, mailbox, policy or self._policy)
        return ref

    async def _supervise(
        self,
        factory: Callable[[], Actor[Any]],
        ref: ActorRef[Any],
        mailbox: Mailbox,
        policy: RestartPolicy,
        *,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Run instances one after another until a graceful stop; restart on crash.

        Whenever it ends (stop, escalation, cancellation) the mailbox is
        closed and every waiting asker is failed, so none waits forever.
        """
        mailbox.owner = trio.lowlevel.current_task()
        self._refs.append(ref)
        try:
            await _run_with_restarts(factory, ref, mailbox, policy, task_status)
        finally:
            mailbox.close()
            mailbox.fail_in_flight(None)
            mailbox.stopped.set()
            self._refs.remove(ref)

    async def stop_all(self) -> None:
        """Stop every running actor gracefully, the last started first.

        Each actor has fully stopped before the one started before it is asked
        to stop. Cancellation: the actors not reached yet keep running.
        """
        for ref in reversed(self._refs.copy()):
            await ref.stop()

    def statistics(self) -> list[ActorStatistics]:
        """Return statistics of the running actors, in start order."""
        return [ref.statistics() for ref in self._refs]


@asynccontextmanager
async def open_supervisor(*, policy: RestartPolicy = _DEFAULT_POLICY) -> AsyncIterator[Supervisor]:
    """Open a nursery that supervises actors with `policy` as their default.

    On normal exit of the block all actors are stopped gracefully, the last
    started first. If the block raises or is cancelled, the actors are
    cancelled instead (no on_stop). If an actor exceeds its restart budget,
    RestartBudgetExceeded (naming the actor, chained from its last crash) is
    raised out of the nursery and cancels the block and the other actors.
    Since trio's exception groups are strict, what reaches the caller is
    then an ExceptionGroup containing it: catch it with ``except*``.
    """
    async with trio.open_nursery() as nursery:
        supervisor = Supervisor(nursery, policy)
        yield supervisor
        # Not reached when the block raised: the nursery cancels everyone then.
        await supervisor.stop_all()
