"""A fake provider server on 127.0.0.1: Chat Completions, Responses and Anthropic Messages.

Tests queue ``Script``s (or raw error replies) and inspect what the gateway sent. The server
notices when a streaming client goes away (``disconnected`` events), so cancellation tests can
assert the upstream call really ended.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import AsyncIterator, Callable
from functools import partial
from typing import Any

import attrs
import trio
from hypercorn.config import Config as HypercornConfig
from hypercorn.trio import serve
from quart import Response, request
from quart_trio import QuartTrio

from tests.fakes.responses_format import responses_body, responses_stream
from tests.fakes.script import (
    Script,
    anthropic_body,
    anthropic_stream,
    chat_body,
    chat_stream,
)

Renderer = tuple[Callable[[Script, str], dict[str, Any]], Callable[[Script, str], list[bytes]]]
_FORMATS: dict[str, Renderer] = {
    "chat": (chat_body, chat_stream),
    "responses": (responses_body, responses_stream),
    "anthropic": (anthropic_body, anthropic_stream),
}


@attrs.frozen
class ErrorReply:
    status: int
    body: dict[str, Any] | str
    headers: dict[str, str] = attrs.field(factory=dict)


@attrs.frozen
class RawReply:
    """A recorded answer replayed as is (a transcript's body); streamed in small pieces."""

    body: bytes
    content_type: str = "application/json"
    status: int = 200


@attrs.frozen
class SearchReply:
    results: tuple[tuple[str, str, str], ...] = (
        ("Trio docs", "https://trio.readthedocs.io/", "Trio is an async library."),
        ("Structured concurrency", "https://example.org/sc", "Nurseries &amp; scopes."),
    )
    status: int = 200
    delay: float = 0.0
    raw: str | None = None  # a body to answer instead of the results (any shape)


@attrs.frozen
class Received:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


def _asks_usage(body: dict[str, Any]) -> bool:
    options = body.get("stream_options")
    return isinstance(options, dict) and options.get("include_usage") is True


@attrs.define
class FakeUpstream:
    """Serves queued replies; with none queued it answers the default ``Script``."""

    replies: deque[Script | ErrorReply | RawReply] = attrs.Factory(deque)
    received: list[Received] = attrs.Factory(list)
    stream_opened: trio.Event = attrs.Factory(trio.Event)
    disconnected: trio.Event = attrs.Factory(trio.Event)
    hold: trio.Event | None = None  # when set, streams pause after the first chunk until set
    searches: list[Received] = attrs.Factory(list)  # Brave search requests received
    search_replies: deque[SearchReply] = attrs.Factory(deque)
    search_started: trio.Event = attrs.Factory(trio.Event)
    search_cancelled: trio.Event = attrs.Factory(trio.Event)
    models: tuple[str, ...] = ("fake-model-a", "fake-model-b")  # GET …/models answers these
    model_lists: list[Received] = attrs.Factory(list)  # GET …/models requests received
    token_counts: deque[int] = attrs.Factory(deque)  # answers of Anthropic count_tokens
    url: str = ""

    def queue(self, *replies: Script | ErrorReply | RawReply) -> None:
        self.replies.extend(replies)

    def last(self) -> Received:
        return self.received[-1]

    def _app(self) -> QuartTrio:
        app = QuartTrio("fake-upstream")

        @app.post("/v1/messages/count_tokens")
        async def count_tokens() -> Response:
            body = await request.get_json()
            headers = {k.lower(): val for k, val in request.headers.items()}
            self.received.append(Received("/v1/messages/count_tokens", headers, body))
            count = self.token_counts.popleft() if self.token_counts else len(json.dumps(body))
            return Response(json.dumps({"input_tokens": count}), content_type="application/json")

        @app.post("/<path:path>")
        async def handle(path: str) -> Response:
            body = await request.get_json()
            fmt = ("anthropic" if path.endswith("messages")
                   else "responses" if path.endswith("responses") else "chat")
            headers = {k.lower(): val for k, val in request.headers.items()}
            self.received.append(Received("/" + path, headers, body))
            reply = self.replies.popleft() if self.replies else Script()
            if isinstance(reply, ErrorReply):
                return Response(reply.body if isinstance(reply.body, str) else
                                json.dumps(reply.body), status=reply.status,
                                headers=reply.headers, content_type="application/json")
            if isinstance(reply, RawReply):
                pieces = [reply.body[i:i + 1000] for i in range(0, len(reply.body), 1000)]
                response = Response(self._stream(pieces, 0.0), status=reply.status,
                                    content_type=reply.content_type)
                response.timeout = None
                return response
            make_body, make_stream = _FORMATS[fmt]
            if not body.get("stream"):
                return Response(json.dumps(make_body(reply, body["model"])),
                                content_type="application/json")
            pieces = (chat_stream(reply, body["model"], include_usage=_asks_usage(body))
                      if fmt == "chat" else make_stream(reply, body["model"]))
            response = Response(self._stream(pieces, reply.delay),
                                content_type="text/event-stream")
            response.timeout = None
            return response

        @app.get("/<path:path>")
        async def list_models(path: str) -> Response:
            if not path.endswith("models"):
                return Response("{}", status=404, content_type="application/json")
            headers = {k.lower(): val for k, val in request.headers.items()}
            self.model_lists.append(Received("/" + path, headers, dict(request.args)))
            if "anthropic-version" in headers:  # Anthropic's shape
                listed = [{"type": "model", "id": m, "display_name": m,
                           "created_at": "2025-02-19T00:00:00Z"} for m in self.models]
                return Response(json.dumps({"data": listed, "has_more": False}),
                                content_type="application/json")
            data: list[dict[str, Any]] = [
                {"id": m, "object": "model", "created": 1700000000, "owned_by": "fake"}
                for m in self.models]
            return Response(json.dumps({"object": "list", "data": data}),
                            content_type="application/json")

        @app.get("/res/v1/web/search")
        async def search() -> Response:
            headers = {k.lower(): val for k, val in request.headers.items()}
            self.searches.append(Received("/res/v1/web/search", headers, dict(request.args)))
            reply = self.search_replies.popleft() if self.search_replies else SearchReply()
            self.search_started.set()
            if reply.status != 200:
                return Response("{}", status=reply.status, content_type="application/json")
            results = [{"title": f"<b>{t}</b>", "url": u, "description": d}
                       for t, u, d in reply.results]
            body = (json.dumps({"web": {"results": results}}) if reply.raw is None
                    else reply.raw).encode()
            if not reply.delay:
                return Response(body, content_type="application/json")
            response = Response(self._slow_body(body, reply.delay),
                                content_type="application/json")
            response.timeout = None
            return response

        return app

    async def _slow_body(self, body: bytes, delay: float) -> AsyncIterator[bytes]:
        """``body`` after ``delay`` s, with JSON-neutral spaces meanwhile, so that a client
        that goes away is noticed (a write fails) and recorded in ``search_cancelled``."""
        finished = False
        try:
            deadline = trio.current_time() + delay
            while trio.current_time() < deadline:
                yield b" "
                await trio.sleep(0.05)
            finished = True
            yield body
        finally:
            if not finished:
                self.search_cancelled.set()

    async def _stream(self, chunks: list[bytes], delay: float) -> AsyncIterator[bytes]:
        self.stream_opened.set()
        try:
            for n, chunk in enumerate(chunks):
                yield chunk
                if n == 0 and self.hold is not None:
                    await self.hold.wait()
                if delay:
                    await trio.sleep(delay)
        finally:
            self.disconnected.set()

    async def serve(self, *, task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED) -> None:
        """Serve on 127.0.0.1 (a free port) until cancelled; reports the base URL."""
        config = HypercornConfig()
        config.bind = ["127.0.0.1:0"]
        config.accesslog = None
        config.graceful_timeout = 0.1
        async with trio.open_nursery() as nursery:
            binds = await nursery.start(partial(serve, self._app(), config))
            self.url = binds[0]
            task_status.started(self.url)
