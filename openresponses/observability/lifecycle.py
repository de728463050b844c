"""Graceful shutdown: let model calls finish within a grace period, then fail them cleanly.

``Drain`` is shared by the server and every run. ``Drain.start(grace)`` (on SIGTERM) sets a
deadline; every wait for the next upstream event runs in a cancel scope bound to it (see
``Drain.receive``), so a call still streaming at the deadline stops waiting and raises
``ShuttingDown``, which the run turns into ``error`` + ``response.failed`` (stored as failed).
Until the drain starts the scopes have no deadline and cost a set insertion per event.
"""

from __future__ import annotations

import math
from typing import TypeVar

import trio

from openresponses.errors import GatewayError

T = TypeVar("T")


class ShuttingDown(GatewayError):
    """The gateway is shutting down; the request may be retried elsewhere."""

    status = 503
    type = "server_error"
    code = "server_shutting_down"

    def __init__(self, message: str = "The gateway is shutting down; retry the request.") -> None:
        super().__init__(message)


class Drain:
    """The shutdown deadline, and the cancel scopes waiting on upstream events."""

    def __init__(self) -> None:
        self.deadline = math.inf
        self.draining = False
        self._scopes: set[trio.CancelScope] = set()

    def start(self, grace: float) -> None:
        """Begin draining: calls still waiting on their upstream ``grace`` seconds from now
        fail with ``ShuttingDown``. Idempotent (a second call does not extend the deadline)."""
        if self.draining:
            return
        self.draining = True
        self.deadline = trio.current_time() + max(grace, 0.0)
        for scope in self._scopes:
            scope.deadline = self.deadline

    async def receive(self, items: trio.abc.ReceiveChannel[T]) -> T:
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

