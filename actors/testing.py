"""Helpers for testing code that uses actors.

Import it as ``actors.testing``; it is not imported by ``actors`` itself.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

from ._actor import Actor
from ._ref import ActorRef
from ._supervisor import RestartPolicy, open_supervisor

M = TypeVar("M")

__all__ = ["started"]


@asynccontextmanager
async def started(
    factory: Callable[[], Actor[M]],
    *,
    name: str = "actor-under-test",
    mailbox_size: int = 128,
    policy: RestartPolicy | None = None,
) -> AsyncIterator[ActorRef[M]]:
    """Run one actor under its own supervisor for the duration of the block.

    Yields the ref once on_start finished; stops the actor gracefully when the
    block ends normally. Escalation and errors behave as in `open_supervisor`
    (an ExceptionGroup may reach the caller). Cancellation: the actor is
    cancelled with the block.
    """
    async with open_supervisor() as supervisor:
        yield await supervisor.start(factory, name=name, mailbox_size=mailbox_size, policy=policy)
