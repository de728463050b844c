"""Background responses cancelled or deleted while they run, here or from another process
sharing the store: what stays stored is what the client was told."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import attrs
import httpx2
import openai
import pytest
import trio

from openresponses.gateway import run as run_module
from openresponses.gateway import storage as storage_module
from openresponses.gateway.background import BackgroundRunner
from openresponses.store.base import StoredResponse
from tests.e2e.sse_client import AUTH, parse_sse
from tests.e2e.test_background import gateway_on, in_thread, poll
from tests.fakes.script import Script
from tests.fakes.upstream import ErrorReply, FakeUpstream
from tests.spec import check_response


async def test_a_cancel_reaching_another_process_stops_the_job(
    upstream: FakeUpstream, tmp_path: Path
) -> None:
    """Two gateways on one database: the one not running the job marks it cancelled, the one
    running it stops it (the upstream call too), and ``cancelled`` is what stays stored."""
    upstream.hold = trio.Event()  # the upstream stream pauses after its first chunk
    upstream.queue(Script(text="one two three four", chunks=4))
    async with gateway_on(upstream, tmp_path) as runs, gateway_on(upstream, tmp_path) as other:
        created = await in_thread(runs.responses.create, model="groq@m", input="go",
                                  background=True)
        with trio.fail_after(5):
            await upstream.stream_opened.wait()
        await poll(lambda: runs.responses.retrieve(created.id),
                   lambda r: r.status == "in_progress")
        events: list[dict[str, Any]] = []
        followed = trio.Event()

        async def follow() -> None:
            async with httpx2.AsyncClient(timeout=10) as http:
                answer = await http.get(f"{runs.base_url}responses/{created.id}",
                                        params={"stream": "true"}, headers=AUTH)
            events.extend(parse_sse(answer.content))
            followed.set()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(follow)
            raw = await in_thread(other.responses.with_raw_response.cancel, created.id)
            cancelled = json.loads(raw.text)
            check_response(cancelled)
            assert cancelled["status"] == "cancelled"
            with trio.fail_after(5):
                await upstream.disconnected.wait()  # the running process stopped the call
                await followed.wait()  # and its stream ended
        assert events[0]["type"] == "response.created"
        assert "response.completed" not in [e["type"] for e in events]
        upstream.hold.set()
        for gateway in (runs, other):
            fetched = await in_thread(gateway.responses.retrieve, created.id)
            assert fetched.status == "cancelled"
        again = await in_thread(runs.responses.cancel, created.id)
        assert again.status == "cancelled"  # idempotent, on either process


async def test_a_cancel_from_elsewhere_after_the_run_ended_keeps_it_completed(
    client: openai.OpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process read the response still running, then cancelled it just after the
    run's final save: it answered, and left stored, ``cancelled`` (once with its output lost,
    when its stale copy was written over the completed one)."""
    marked = BackgroundRunner._marked
    answers: list[dict[str, Any]] = []

    async def cancelled_meanwhile(runner: BackgroundRunner, job: Any) -> bool:
        if not answers:  # what the other process does with what it read before
            record = job.work.record(job.work.snapshot())
            stale = attrs.evolve(record, response={**record.response, "output": [],
                                                   "status": "in_progress"})
            answers.append(await runner._cancel_elsewhere(stale))
        return await marked(runner, job)

    monkeypatch.setattr(BackgroundRunner, "_marked", cancelled_meanwhile)
    created = await in_thread(client.responses.create, model="groq@m", input="go",
                              background=True)
    await poll(lambda: client.responses.retrieve(created.id),
               lambda r: r.status not in ("queued", "in_progress"))
    await trio.sleep(0.3)  # the runner has stored how it ended
    assert [a["status"] for a in answers] == ["completed"]
    stored = await in_thread(client.responses.retrieve, created.id)
    assert (stored.status, stored.output_text) == ("completed", "Hello from the fake model.")


async def test_a_background_response_deleted_while_it_runs_stays_deleted(
    client: openai.OpenAI, upstream: FakeUpstream, caplog: pytest.LogCaptureFixture
) -> None:
    upstream.hold = trio.Event()
    upstream.queue(Script(text="one two three", chunks=3))
    created = await in_thread(client.responses.create, model="groq@m", input="go",
                              background=True)
    with trio.fail_after(5):
        await upstream.stream_opened.wait()
    await in_thread(client.responses.delete, created.id)
    with trio.fail_after(5):
        await upstream.disconnected.wait()  # the run was stopped, not left spending tokens
    upstream.hold.set()
    await trio.sleep(0.3)
    with pytest.raises(openai.NotFoundError):
        await in_thread(client.responses.retrieve, created.id)
    assert "broke" not in caplog.text


async def test_a_background_response_deleted_elsewhere_just_before_its_final_save_stays_gone(
    upstream: FakeUpstream, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Another process deletes the response after its last event was recorded and before the
    run's final save: that save used to store it again, ``completed``, for good."""
    upstream.queue(Script(text="one two", chunks=2))
    async with gateway_on(upstream, tmp_path) as runs, gateway_on(upstream, tmp_path) as other:
        save = storage_module.save_response
        deleted = trio.Event()

        async def deleted_first(storage: Any, commits: Any, record: StoredResponse) -> None:
            if record.response["status"] == "completed":
                await in_thread(other.responses.delete, record.id)
                deleted.set()
            await save(storage, commits, record)

        monkeypatch.setattr(run_module, "save_response", deleted_first)
        created = await in_thread(runs.responses.create, model="groq@m", input="go",
                                  background=True)
        with trio.fail_after(5):
            await deleted.wait()
        await trio.sleep(0.3)  # the run has ended
        for gateway in (runs, other):
            with pytest.raises(openai.NotFoundError):
                await in_thread(gateway.responses.retrieve, created.id)
    assert "broke" not in caplog.text


async def test_a_cancel_during_the_failed_save_of_a_refused_run_leaves_it_failed(
    client: openai.OpenAI, upstream: FakeUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The upstream refuses the call; a cancel lands while the failed response is saved. It
    was left ``queued`` for good (about 2 runs in 150 when fuzzed): the save was cut short."""
    save = BackgroundRunner._save

    async def cancelled_meanwhile(runner: BackgroundRunner, job: Any,
                                  response: dict[str, Any]) -> None:
        if response.get("status") == "failed":
            job.cancelled = True
            job.scope.cancel()  # as Cancel does
            await trio.lowlevel.checkpoint()  # where the cancel would land
        await save(runner, job, response)

    monkeypatch.setattr(BackgroundRunner, "_save", cancelled_meanwhile)
    upstream.queue(ErrorReply(401, {"error": {"message": "no", "type": "invalid_request_error"}}))
    created = await in_thread(client.responses.create, model="groq@m", input="go",
                              background=True)
    failed = await poll(lambda: client.responses.retrieve(created.id),
                        lambda r: r.status != "queued")
    assert failed.status == "failed"


async def test_a_deletion_from_another_process_stops_the_run_at_once(
    upstream: FakeUpstream, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The run is stopped and stores nothing. Its runner learned of the deletion only at its
    next write: a model slow to answer kept the deleted response readable there, and kept
    spending tokens, until then."""
    upstream.hold = trio.Event()  # the upstream stream pauses after its first chunk
    upstream.queue(Script(text="one two three four", chunks=4))
    async with gateway_on(upstream, tmp_path) as runs, gateway_on(upstream, tmp_path) as other:
        created = await in_thread(runs.responses.create, model="groq@m", input="go",
                                  background=True)
        await poll(lambda: runs.responses.retrieve(created.id),
                   lambda r: r.status == "in_progress")
        await in_thread(other.responses.delete, created.id)
        with trio.fail_after(3):
            await upstream.disconnected.wait()  # the run was stopped, not left waiting
        await trio.sleep(0.2)
        for gateway in (runs, other):
            with pytest.raises(openai.NotFoundError):
                await in_thread(gateway.responses.retrieve, created.id)
        upstream.hold.set()
    assert "broke" not in caplog.text
