"""Background responses: queued at once, progress on GET, cancel, resumable streams, and
responses interrupted by a stopped gateway marked failed."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any

import httpx2
import openai
import pytest
import trio
import trio.lowlevel

from openresponses.config import load_config
from openresponses.keys import hash_key
from openresponses.server import serve
from openresponses.store.background import BackgroundJob
from openresponses.store.base import StoredResponse
from openresponses.store.sqlite import SqliteStore
from tests.e2e.conftest import CLIENT_KEY, gateway_env
from tests.e2e.sse_client import AUTH, parse_sse, stream_events
from tests.fakes.script import Script
from tests.fakes.upstream import ErrorReply, FakeUpstream
from tests.spec import check_response, check_stream


async def in_thread(fn: Any, *args: Any, **kwargs: Any) -> Any:
    return await trio.to_thread.run_sync(lambda: fn(*args, **kwargs))


async def poll(fetch: Callable[[], Any], done: Callable[[Any], bool]) -> Any:
    """``fetch()`` (in a thread) until ``done`` holds for its result; 10 s at most."""
    with trio.fail_after(10):
        while True:
            result = await trio.to_thread.run_sync(fetch)
            if done(result):
                return result
            await trio.sleep(0.05)


async def test_a_background_response_is_queued_then_runs_to_completion(
    client: openai.OpenAI, upstream: FakeUpstream
) -> None:
    upstream.hold = trio.Event()
    upstream.queue(Script(text="one two three", chunks=3))
    raw = await in_thread(client.responses.with_raw_response.create, model="groq@m",
                          input="count", background=True)
    created = json.loads(raw.text)
    check_response(created)
    assert (created["status"], created["background"]) == ("queued", True)
    with trio.fail_after(5):
        await upstream.stream_opened.wait()
    running = await poll(lambda: client.responses.retrieve(created["id"]),
                         lambda r: r.status == "in_progress")
    assert running.id == created["id"]
    upstream.hold.set()
    final = await poll(lambda: client.responses.with_raw_response.retrieve(created["id"]),
                       lambda r: json.loads(r.text)["status"] == "completed")
    body = json.loads(final.text)
    check_response(body)
    assert body["output_text"] == "one two three"


async def test_cancel_stops_the_upstream_and_is_idempotent(
    client: openai.OpenAI, upstream: FakeUpstream
) -> None:
    upstream.hold = trio.Event()
    created = await in_thread(client.responses.create, model="groq@m", input="go",
                              background=True)
    with trio.fail_after(5):
        await upstream.stream_opened.wait()
    raw = await in_thread(client.responses.with_raw_response.cancel, created.id)
    cancelled = json.loads(raw.text)
    check_response(cancelled)
    assert cancelled["status"] == "cancelled"
    with trio.fail_after(5):
        await upstream.disconnected.wait()  # the upstream call was cancelled
    again = await in_thread(client.responses.cancel, created.id)
    assert again.status == "cancelled"
    fetched = await in_thread(client.responses.retrieve, created.id)
    assert fetched.status == "cancelled"


async def test_a_background_stream_can_be_resumed_after_any_event(
    gateway_url: str, client: openai.OpenAI, upstream: FakeUpstream
) -> None:
    upstream.queue(Script(text="a b c d", chunks=4))
    events = await stream_events(gateway_url, {"model": "groq@m", "input": "go",
                                               "background": True})
    check_stream(events)
    response_id = events[0]["response"]["id"]
    assert events[-1]["response"]["background"] is True
    async with httpx2.AsyncClient(timeout=10) as http:
        resumed = await http.get(f"{gateway_url}/responses/{response_id}",
                                 params={"stream": "true", "starting_after": 3}, headers=AUTH)
        assert resumed.status_code == 200, resumed.text
        assert parse_sse(resumed.content) == events[4:]
        plain = await http.get(f"{gateway_url}/responses/{response_id}", headers=AUTH)
    assert plain.json()["status"] == "completed"

    def resume_with_the_sdk() -> list[int]:
        with client.responses.retrieve(response_id, stream=True, starting_after=5) as stream:
            return [event.sequence_number for event in stream]

    assert await trio.to_thread.run_sync(resume_with_the_sdk) == [
        e["sequence_number"] for e in events[6:]]


async def test_an_upstream_refusal_fails_the_background_response(
    client: openai.OpenAI, upstream: FakeUpstream
) -> None:
    upstream.queue(ErrorReply(500, {"error": {"message": "boom", "type": "server_error"}}))
    created = await in_thread(client.responses.create, model="groq@m", input="go",
                              background=True)
    failed = await poll(lambda: client.responses.with_raw_response.retrieve(created.id),
                        lambda r: json.loads(r.text)["status"] == "failed")
    body = json.loads(failed.text)
    check_response(body)
    assert body["error"]["message"]


async def test_a_refused_background_stream_numbers_its_events_from_zero(
    gateway_url: str, upstream: FakeUpstream
) -> None:
    """They started at 2: the run had numbered its opening events before the refusal."""
    upstream.queue(ErrorReply(500, {"error": {"message": "boom", "type": "server_error"}}))
    events = await stream_events(gateway_url, {"model": "groq@m", "input": "go",
                                               "background": True})
    assert [e["type"] for e in events] == [
        "response.created", "response.in_progress", "error", "response.failed"]
    check_stream(events)  # sequence numbers 0..n-1
    async with httpx2.AsyncClient(timeout=10) as http:
        replayed = await http.get(f"{gateway_url}/responses/{events[0]['response']['id']}",
                                  params={"stream": "true"}, headers=AUTH)
    assert parse_sse(replayed.content) == events


async def test_a_background_response_is_continued_only_once_it_has_finished(
    client: openai.OpenAI, upstream: FakeUpstream
) -> None:
    """A turn after a running response used to see its input without its output, and the
    next turn both: two histories of one chain."""
    upstream.hold = trio.Event()
    upstream.queue(Script(text="PINEAPPLE", chunks=2), Script(text="next"))
    created = await in_thread(client.responses.create, model="groq@m", input="the word?",
                              background=True)
    await poll(lambda: client.responses.retrieve(created.id),
               lambda r: r.status == "in_progress")
    with pytest.raises(openai.BadRequestError) as caught:
        await in_thread(client.responses.create, model="groq@m", input="go on",
                        previous_response_id=created.id)
    error = caught.value.body
    assert isinstance(error, dict)
    assert (error["code"], error["param"]) == ("previous_response_in_progress",
                                               "previous_response_id")
    upstream.hold.set()
    await poll(lambda: client.responses.retrieve(created.id), lambda r: r.status == "completed")
    continued = await in_thread(client.responses.create, model="groq@m", input="go on",
                                previous_response_id=created.id)
    assert continued.status == "completed"
    assert "PINEAPPLE" in [m.get("content") for m in upstream.last().body["messages"]]


async def test_what_cannot_be_backgrounded_or_cancelled_is_refused(
    client: openai.OpenAI, gateway_url: str
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await in_thread(client.responses.create, model="groq@m", input="go", background=True,
                        store=False)
    assert caught.value.body["param"] == "store"  # type: ignore[index]
    plain = await in_thread(client.responses.create, model="groq@m", input="go")
    with pytest.raises(openai.BadRequestError):
        await in_thread(client.responses.cancel, plain.id)
    async with httpx2.AsyncClient(timeout=10) as http:
        again = await http.get(f"{gateway_url}/responses/{plain.id}", params={"stream": "true"},
                               headers=AUTH)
    assert again.status_code == 400
    with pytest.raises(openai.NotFoundError):
        await in_thread(client.responses.cancel, "resp_unknown")


@asynccontextmanager
async def gateway_on(upstream: FakeUpstream, tmp_path: Path, **extra: str
                     ) -> AsyncIterator[openai.OpenAI]:
    """A gateway on ``tmp_path``'s database (so a test can stop and start it again)."""
    config = load_config(env={**gateway_env(upstream, tmp_path), **extra}, path=None)
    shutdown = trio.Event()
    async with trio.open_nursery() as nursery:
        binds = await nursery.start(partial(serve, config, host="127.0.0.1", port=0,
                                            shutdown=shutdown))
        with openai.OpenAI(base_url=f"{binds[0]}/v1", api_key=CLIENT_KEY,
                           max_retries=0) as sdk:
            yield sdk
        shutdown.set()


def queued_record(response_id: str, owner: str) -> StoredResponse:
    response = {"id": response_id, "object": "response", "status": "queued",
                "background": True, "created_at": 1, "error": None, "output": []}
    return StoredResponse(id=response_id, owner=owner, response=response, input_items=[],
                          previous_response_id=None, created_at=1)


async def test_responses_left_by_a_dead_process_are_failed_at_start(
    upstream: FakeUpstream, tmp_path: Path
) -> None:
    store = SqliteStore(str(tmp_path / "gateway.db"))
    owner = hash_key(CLIENT_KEY)
    store.save_batch([queued_record("resp_orphan", owner)])
    store.track_job(BackgroundJob(response_id="resp_orphan", owner=owner, runner="dead:1",
                                  heartbeat_at=1.0))
    store.close()
    async with gateway_on(upstream, tmp_path) as client:
        fetched = await in_thread(client.responses.retrieve, "resp_orphan")
        async with httpx2.AsyncClient(timeout=10) as http:
            replay = await http.get(f"{client.base_url}responses/resp_orphan",
                                    params={"stream": "true"}, headers=AUTH)
    replayed = [event["type"] for event in parse_sse(replay.content)]
    assert fetched.status == "failed"
    assert fetched.error is not None
    assert "gateway stopped" in fetched.error.message
    assert replayed == ["error", "response.failed"]  # the replay ends (it stopped short)


async def test_responses_of_a_dead_process_on_this_host_are_failed_at_once(
    upstream: FakeUpstream, tmp_path: Path
) -> None:
    store = SqliteStore(str(tmp_path / "gateway.db"))
    owner = hash_key(CLIENT_KEY)
    store.save_batch([queued_record("resp_restarted", owner)])
    dead = f"{socket.gethostname()}:{2**22 + 12345}:abcd"  # above Linux's largest pid
    store.track_job(BackgroundJob(response_id="resp_restarted", owner=owner, runner=dead,
                                  heartbeat_at=time.time()))
    store.close()
    async with gateway_on(upstream, tmp_path) as client:
        fetched = await in_thread(client.responses.retrieve, "resp_restarted")
    assert fetched.status == "failed"


async def test_a_gateway_stop_fails_the_background_responses_it_was_running(
    upstream: FakeUpstream, tmp_path: Path
) -> None:
    upstream.hold = trio.Event()
    async with gateway_on(upstream, tmp_path, OPENRESPONSES_SHUTDOWN_GRACE="0.1") as client:
        created = await in_thread(client.responses.create, model="groq@m", input="go",
                                  background=True)
        with trio.fail_after(5):
            await upstream.stream_opened.wait()
    async with gateway_on(upstream, tmp_path) as client:
        fetched = await in_thread(client.responses.retrieve, created.id)
    assert fetched.status == "failed"
    assert fetched.error is not None
