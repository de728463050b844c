"""The storage actor's group commit: saves gathered into one transaction per batch.

Every save joins the pending batch and waits; one flusher (a task of the storage actor's
instance) writes all that is pending in one transaction, then wakes every saver of that batch
together, so a save returns only once its record is durable. While one batch is being written
the next one gathers, so under load many saves share one commit. A failed write fails every
saver of its batch with the same exception.

The queue outlives the actor's instances (``server.running_gateway`` makes one and hands it to
each instance), so a run on the hot path can join the batch directly (``save_response``)
instead of asking the actor to do it: that skips a mailbox round trip, a reply slot with its
cancel scope, and two task wake-ups per stored response (bench/results/2026-11-25-perf-3.md).
It joins directly only while an instance's flusher is attached and fewer than ``limit`` saves
are pending; otherwise it asks the actor (``SaveResponse``), so the mailbox's bound, the
actor's restarts and its "stopped" errors apply exactly as before.

Cancellation: a saver that stops waiting does not take its record back: once pending, it is
written.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

import attrs
import trio

from openresponses.gateway.storage_thread import Held
from openresponses.store.base import StoredResponse, validate_record


@attrs.define
class PendingSave:
    """A save waiting for its batch to commit."""

    record: StoredResponse
    committed: trio.Event = attrs.Factory(trio.Event)
    error: Exception | None = None


class GroupCommit:
    """The pending batch, its flusher's wake-up and the flush lock."""

    def __init__(self, limit: int = 4096) -> None:
        self.limit = limit
        self.attached = False  # an instance's flusher is running and its store is open
        self.pending: list[PendingSave] = []
        self._wake = trio.Event()
        self._lock = trio.Lock()

    def can_join(self) -> bool:
        """Whether a save may join the batch directly (else it goes through the mailbox)."""
        return self.attached and len(self.pending) < self.limit

    async def save(self, record: StoredResponse) -> None:
        """Queue ``record`` for the next batch and wait until that batch is committed.

        A record that could not be stored fails here alone (``ValueError``), before it joins
        a batch; a failed write raises its exception to every saver of the batch.
        """
        validate_record(record)
        pending = PendingSave(record)
        self.pending.append(pending)
        self._wake.set()
        await pending.committed.wait()
        if pending.error is not None:
            raise pending.error

    async def wait(self) -> None:
        """Wait until something may be pending (the flusher's loop)."""
        await self._wake.wait()
        self._wake = trio.Event()

    async def flush(self, write: Callable[[list[StoredResponse]], Awaitable[None]]) -> None:
        """Write everything pending with ``write`` (one transaction) and answer its savers.

        Shielded: once taken, a batch is written and answered even if the caller is cancelled.
        """
        with trio.CancelScope(shield=True):
            async with Held(self._lock):
                batch, self.pending = self.pending, []
                if not batch:
                    return
                try:
                    await write([pending.record for pending in batch])
                except Exception as exc:
                    _answer(batch, exc)
                else:
                    _answer(batch, None)


def _answer(batch: Sequence[PendingSave], error: Exception | None) -> None:
    """Wake every saver of ``batch`` with the outcome (no checkpoint: all or none)."""
    for pending in batch:
        pending.error = error
        pending.committed.set()
