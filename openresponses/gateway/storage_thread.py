"""A worker-thread call for the storage actor's group commits, lighter than ``to_thread``.

``trio.to_thread.run_sync`` does, on every call, what a commit every few milliseconds does not
need: a capacity limiter, a copy of the context, two renames of the OS thread (each a write to
``/proc``) and a message loop for ``trio.from_thread``. The writes of the storage actor are
one at a time (its flush lock) and never call back into trio, so they run on trio's own
thread cache (``trio.lowlevel.start_thread_soon``) and report straight back to the waiting
task: the same worker threads, the same guarantee (the call always runs to its end).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

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

    trio.lowlevel.start_thread_soon(call, deliver)
    result: T = await trio.lowlevel.wait_task_rescheduled(_no_abort)
    return result
