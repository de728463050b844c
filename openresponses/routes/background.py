"""Background responses over HTTP: create (``background: true``), retrieve with progress or as
a resumable stream, and ``POST /v1/responses/{id}/cancel``.

``create_background`` stores the response ``queued`` and hands it to the ``BackgroundRunner``
(which survives the client); with ``stream: true`` the client follows its events at once.
``get_response`` answers a live job's current state (else the stored one), or, with
``stream=true``, the recorded events after ``starting_after`` and then the new ones. A cancel
reaching a process that does not run the job marks it for the process that does
(``CancelElsewhere``).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from typing import Any

import attrs
from quart import Blueprint, Response, request

from actors import ActorRef
from openresponses.auth import Caller, caller_from_headers
from openresponses.errors import InvalidRequest, NotFound
from openresponses.gateway.background import (
    UNFINISHED,
    BackgroundMessage,
    Cancel,
    CancelElsewhere,
    Follow,
    Snapshot,
    Start,
    StopElsewhere,
    Work,
)
from openresponses.gateway.builder import Event
from openresponses.gateway.run import Gateway
from openresponses.gateway.storage import GetResponse, SaveResponse
from openresponses.gateway.turns import prepare_turn
from openresponses.render import json_response, sse_response
from openresponses.routes.common import INT64_MAX, discard_body, query_int
from openresponses.schema.request import CreateResponse


def _not_found(response_id: str) -> NotFound:
    return NotFound(f"Response with id '{response_id}' not found.")


def _runner(gateway: Gateway) -> ActorRef[BackgroundMessage]:
    if gateway.background is None:
        raise InvalidRequest("Background responses are not available on this gateway.",
                             param="background")
    runner: ActorRef[BackgroundMessage] = gateway.background
    return runner


async def _follow(runner: ActorRef[BackgroundMessage], owner: str, response_id: str,
                  after: int) -> AsyncGenerator[list[Event], None]:
    """The response's events after ``after``, as the runner streams them. Closing it (the
    client went away) stops following; the response itself runs on."""
    async with runner.stream(Follow(owner=owner, response_id=response_id, after=after)) as out:
        async for batch in out:
            if batch:
                yield batch


async def create_background(gateway: Gateway, caller: Caller, parsed: CreateResponse,
                            warn: Callable[[list[str]], dict[str, str]]) -> Response:
    """Store the response ``queued``, start its job, answer at once (or follow its stream)."""
    runner = _runner(gateway)
    if not parsed.store:
        raise InvalidRequest("Background responses are stored: 'background' needs 'store' "
                             "to be true.", param="store")
    # The upstream is always streamed, so that progress is visible while it runs.
    turn = await prepare_turn(gateway, caller, attrs.evolve(parsed, stream=True))
    headers = warn(turn.run.warnings)  # tools requested but not offered
    queued = turn.snapshot()
    queued["status"] = "queued"
    await gateway.storage.ask(SaveResponse(turn.record(queued)))
    await runner.ask(Start(Work(
        response_id=queued["id"], owner=caller.owner, batches=turn.events(),
        snapshot=turn.snapshot, record=turn.record, fail_before_start=turn.fail_before_start,
    )))
    if parsed.stream:
        return sse_response([], _follow(runner, caller.owner, queued["id"], -1), headers)
    return json_response(queued, headers=headers)


async def get_response(gateway: Gateway, response_id: str) -> Response:
    """``GET /v1/responses/{id}``: the live state of a running background response, else the
    stored one; ``?stream=true`` streams a background response's events (resumable)."""
    caller = caller_from_headers()
    response: dict[str, Any] | None = None
    if gateway.background is not None:
        response = await gateway.background.ask(Snapshot(caller.owner, response_id))
    if response is None:
        record = await gateway.storage.ask(GetResponse(caller.owner, response_id))
        if record is None:
            raise _not_found(response_id)
        response = record.response
    if request.args.get("stream", "").lower() not in ("true", "1"):
        return json_response(response)
    if not response.get("background"):
        raise InvalidRequest("Only background responses can be streamed again; this one was "
                             "not created with background=true.", param="stream")
    after = query_int("starting_after", default=-1, low=-1, high=INT64_MAX)
    return sse_response([], _follow(_runner(gateway), caller.owner, response_id, after))


async def stop_running(gateway: Gateway, owner: str, response_id: str) -> None:
    """Stop a background run of ``response_id`` before it is deleted (a run left going would
    spend upstream tokens on a response nobody can read): at once in this process; a run in
    another process is marked, and its runner stops it within its ``watch`` (0.5 s) instead
    of at its next write, which a model thinking quietly could put off for minutes."""
    runner = gateway.background
    if runner is None or await runner.ask(Cancel(owner, response_id)) is not None:
        return
    record = await gateway.storage.ask(GetResponse(owner, response_id))
    if record is not None and record.response.get("status") in UNFINISHED:
        await runner.ask(StopElsewhere(owner, response_id))


def background_blueprint(gateway: Gateway) -> Blueprint:
    """``POST /v1/responses/{id}/cancel``."""
    bp = Blueprint("background", __name__)

    @bp.post("/v1/responses/<response_id>/cancel")
    async def cancel_response(response_id: str) -> Response:
        await discard_body(gateway.config.max_body_bytes)
        caller = caller_from_headers()
        record = await gateway.storage.ask(GetResponse(caller.owner, response_id))
        if record is None:
            raise _not_found(response_id)
        if not record.response.get("background"):
            raise InvalidRequest("Only responses created with background=true can be "
                                 "cancelled.", param="response_id")
        runner = _runner(gateway)
        cancelled = await runner.ask(Cancel(caller.owner, response_id))
        if cancelled is not None:
            return json_response(cancelled)
        # Not running here: it finished meanwhile, or another process runs it.
        record = await gateway.storage.ask(GetResponse(caller.owner, response_id)) or record
        if record.response.get("status") in UNFINISHED:
            return json_response(await runner.ask(CancelElsewhere(record)))
        return json_response(record.response)  # already final: as it is (idempotent)

    return bp
