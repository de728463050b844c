"""``run_in_worker``: a store call in a worker thread, never abandoned, in the caller's context."""

from __future__ import annotations

import threading
from contextvars import ContextVar

import pytest
import trio

from openresponses.gateway.storage_thread import Held, run_in_worker

request_id: ContextVar[str] = ContextVar("request_id", default="none")


async def test_the_call_runs_in_another_thread_with_the_callers_context() -> None:
    request_id.set("req_1")
    seen = await run_in_worker(lambda: (threading.get_ident(), request_id.get()))
    assert seen[0] != threading.get_ident()
    assert seen[1] == "req_1"


async def test_an_exception_is_raised_to_the_caller() -> None:
    def fail() -> None:
        raise KeyError("boom")

    with pytest.raises(KeyError, match="boom"):
        await run_in_worker(fail)


async def test_a_started_call_is_waited_for_even_when_cancelled() -> None:
    release = threading.Event()
    finished: list[bool] = []

    def slow() -> None:
        release.wait(5)
        finished.append(True)

    with trio.CancelScope() as scope:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(run_in_worker, slow)
            await trio.sleep(0.01)  # the call is running in its thread
            threading.Timer(0.1, release.set).start()  # the call ends after the cancel
            scope.cancel()
    assert finished == [True]  # the cancelled wait still lasted until the call ended


async def test_held_takes_a_free_resource_and_waits_for_a_taken_one() -> None:
    lock = trio.Lock()
    order: list[str] = []

    async def second() -> None:
        async with Held(lock):
            order.append("second")

    async with trio.open_nursery() as nursery:
        async with Held(lock):
            assert lock.locked()
            nursery.start_soon(second)
            await trio.sleep(0.01)  # the second holder waits meanwhile
            order.append("first")
    assert order == ["first", "second"]
    assert not lock.locked()
