"""Rendering: JSON bodies, error envelopes and Server-Sent Events, all through orjson."""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from typing import Any

import orjson
from quart import Response

from openresponses.errors import GatewayError, error_body, internal_error
from openresponses.gateway.response_object import error_event

logger = logging.getLogger("openresponses.app")
_JSON = "application/json"
_SSE_HEADERS = {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
    "x-accel-buffering": "no",
}


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON response encoded with orjson."""
    return Response(orjson.dumps(data), status=status, content_type=_JSON, headers=headers)


def error_response(error: GatewayError) -> Response:
    """The OpenAI error envelope with the error's status (and Retry-After when known)."""
    headers = {}
    if error.retry_after is not None:
        headers["retry-after"] = str(max(1, round(error.retry_after)))
    return json_response(error_body(error), error.status, headers)


def sse_bytes(events: list[dict[str, Any]]) -> bytes:
    """One SSE frame per event (``event:`` name duplicated in ``data.type``, as OpenAI does).

    A slow stream's batches are mostly one event: that frame is built in one step (one
    allocation, no join), half the cost of the general case."""
    if len(events) == 1:
        return _frame(events[0])
    return b"".join([_frame(event) for event in events])


def _frame(event: dict[str, Any]) -> bytes:
    return b"event: %b\ndata: %b\n\n" % (event["type"].encode(), orjson.dumps(event))


def sse_response(
    first: list[dict[str, Any]],
    rest: AsyncGenerator[list[dict[str, Any]], None],
    headers: dict[str, str] | None = None,
) -> Response:
    """Stream ``first`` then every batch of ``rest`` as SSE; ``rest`` is closed when the client
    goes away (the request's scope is cancelled, which cancels the upstream call)."""
    response = Response(_sse_body(first, rest), status=200,
                        headers={**_SSE_HEADERS, **(headers or {})})
    response.timeout = None  # a stream may last as long as the model talks
    return response


async def _sse_body(
    first: list[dict[str, Any]], rest: AsyncGenerator[list[dict[str, Any]], None]
) -> AsyncIterator[bytes]:
    """``first`` is let go once framed: its events (``response.created``, ``in_progress``)
    carry whole snapshots of the response, which would otherwise stay in memory for as long as
    the stream lasts (a few KB for each of thousands of slow streams).

    A failure the run did not turn into events of its own (a bug) ends the stream with an
    ``error`` event, logged with its traceback: the client gets a terminal event and a whole
    HTTP body, never a connection cut mid-stream."""
    sequence = _next_sequence(first)  # numbered only when needed: not per batch
    async with aclosing(rest) as batches:
        frame = sse_bytes(first)
        del first
        yield frame
        del frame
        last: list[dict[str, Any]] = []  # the latest batch with events
        try:
            async for batch in batches:
                yield sse_bytes(batch)
                if batch:
                    last = batch
        except Exception:
            logger.exception("a stream failed after it started")
            yield _frame(error_event(internal_error(), _next_sequence(last, sequence)))


def _next_sequence(batch: list[dict[str, Any]], default: int = 0) -> int:
    """The sequence number after ``batch``'s last event (``default`` if it has none)."""
    last = batch[-1].get("sequence_number") if batch else None
    return last + 1 if isinstance(last, int) else default

