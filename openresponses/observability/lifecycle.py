"""Graceful shutdown: let model calls finish within a grace period, then fail them cleanly.

``Drain`` is shared by the server and every run. ``Drain.start(grace)`` (on SIGTERM) sets a
deadline, and a call still waiting for its next upstream event at the deadline stops waiting
and raises ``ShuttingDown``, which the run turns into ``error`` + ``response.failed`` (stored as
failed). Two ways to bound a wait:

- ``Drain.receive``: the wait runs in a cancel scope bound to the deadline. Any channel.
- ``Drain.receive_closable``: for a channel whose ``close()`` wakes a waiting ``receive()``
  with ``ClosedResourceError`` (a trio memory channel, ``ActorRef.stream``'s). Before the drain
  starts the wait has no cancel scope (entering and leaving one is ~42 k instructions, paid on
  every streamed upstream read); the drain closes the channels still waited on at the
  deadline, from a system task. Once draining, it waits as ``receive`` does.
"""

from __future__ import annotations

import logging
import math
from typing import Protocol, TypeVar

import trio

from openresponses.errors import GatewayError

logger = logging.getLogger("openresponses.drain")

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


class ShuttingDown(GatewayError):
    """The gateway is shutting down; the request may be retried elsewhere."""

    status = 503
    type = "server_error"
    code = "server_shutting_down"

    def __init__(self, message: str = "The gateway is shutting down; retry the request.") -> None:
        super().__init__(message)


class Receiving(Protocol[T_co]):
    """What the drain waits on: a channel's ``receive()``."""

    async def receive(self) -> T_co: ...


class Closable(Receiving[T_co], Protocol[T_co]):
    """A channel whose ``close()`` wakes a task waiting in ``receive()`` with
    ``trio.ClosedResourceError``."""

    def close(self) -> None: ...


class Drain:
    """The shutdown deadline, and the waits on upstream events it must end."""

    def __init__(self) -> None:
        self.deadline = math.inf
        self.draining = False
        self.expired = False  # the deadline passed: the open waits were closed
        self._scopes: set[trio.CancelScope] = set()
        self._open_waits: set[Closable[object]] = set()

    def start(self, grace: float) -> None:
        """Begin draining: calls still waiting on their upstream ``grace`` seconds from now
        fail with ``ShuttingDown``. Idempotent (a second call does not extend the deadline).
        Call from a trio task (it starts the system task that closes the open waits)."""
        if self.draining:
            return
        self.draining = True
        self.deadline = trio.current_time() + max(grace, 0.0)
        for scope in self._scopes:
            scope.deadline = self.deadline
        trio.lowlevel.spawn_system_task(self._expire, name="openresponses.drain")

    async def _expire(self) -> None:
        """At the deadline, close the channels still waited on without a scope."""
        await trio.sleep_until(self.deadline)
        self.expired = True
        for items in list(self._open_waits):
            try:
                items.close()
            except Exception:  # a system task must not raise: that would end the process
                logger.exception("could not close a channel at the drain deadline")

    async def receive(self, items: Receiving[T]) -> T:
        """``items.receive()``, bounded by the drain deadline.

        Raises ``ShuttingDown`` when the deadline passes first (no item is lost: a memory
        channel receive is cancelled cleanly). Outside cancellation propagates as usual.
        """
        scope = trio.CancelScope(deadline=self.deadline)
        self._scopes.add(scope)
        try:
            with scope:
                return await items.receive()
        finally:
            self._scopes.discard(scope)
        raise ShuttingDown()

    async def receive_closable(self, items: Closable[T]) -> T:
        """``items.receive()``, ended at the drain deadline by closing ``items``.

        Raises ``ShuttingDown`` when the deadline passes first; the items not yet read are
        lost with the closed channel (the call is failed anyway). A wait begun once draining
        runs as ``receive``. Outside cancellation propagates as usual.
        """
        if self.draining:
            return await self.receive(items)
        self._open_waits.add(items)
        try:
            return await items.receive()
        except trio.ClosedResourceError:
            if self.expired:
                raise ShuttingDown() from None
            raise
        finally:
            self._open_waits.discard(items)

