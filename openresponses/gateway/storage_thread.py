"""A worker-thread call for the storage actor's store calls, lighter than ``to_thread``.

``trio.to_thread.run_sync`` does, on every call, what a store call does not need: two renames
of the OS thread (each a write to ``/proc``) and a message loop for ``trio.from_thread``. Store
calls never call back into trio, so they run on trio's own thread cache
(``trio.lowlevel.start_thread_soon``) and report straight back to the waiting task: the same
worker threads, the same guarantee (the call always runs to its end). The caller holds a
``CapacityLimiter`` where the calls may run concurrently (the storage actor's reads and
writes); the group commits need none (one at a time under the flush lock). The call runs in a
copy of the caller's context, as with ``to_thread`` (a log line from a store call keeps the
request id).
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable
from typing import Protocol, TypeVar

import outcome
import trio

T = TypeVar("T")


def _no_abort(_: Callable[[], object]) -> trio.lowlevel.Abort:
    return trio.lowlevel.Abort.FAILED  # a write in its thread is never abandoned


async def run_in_worker(call: Callable[[], T]) -> T:
    """``call()`` in a worker thread; its result, or its exception re-raised here.

    Cancellation: checked on entry; once the call has started, it is waited for to its end
    (like ``to_thread.run_sync(abandon_on_cancel=False)``) and the cancellation is delivered
    at the caller's next checkpoint.
    """
    await trio.lowlevel.checkpoint_if_cancelled()
    task = trio.lowlevel.current_task()
    token = trio.lowlevel.current_trio_token()

    def deliver(result: outcome.Outcome[T]) -> None:
        try:
            token.run_sync_soon(trio.lowlevel.reschedule, task, result)
        except trio.RunFinishedError:  # pragma: no cover - the run ended under us
            pass

    trio.lowlevel.start_thread_soon(functools.partial(contextvars.copy_context().run, call),
                                    deliver)
    result: T = await trio.lowlevel.wait_task_rescheduled(_no_abort)
    return result


class _Acquirable(Protocol):
    def acquire_nowait(self) -> None: ...

    async def acquire(self) -> None: ...

    def release(self) -> None: ...


class Held:
    """``async with Held(resource)``: a ``trio.Lock`` or ``CapacityLimiter`` taken at once
    when free (no scheduler round trip, unlike ``async with lock``), else waited for; released
    on leaving. Free, it is no checkpoint: the caller's next wait is."""

    __slots__ = ("_resource",)

    def __init__(self, resource: _Acquirable) -> None:
        self._resource = resource

    async def __aenter__(self) -> None:
        try:
            self._resource.acquire_nowait()
        except trio.WouldBlock:
            await self._resource.acquire()

    async def __aexit__(self, *exc: object) -> None:
        self._resource.release()
