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
class Received:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@attrs.define
class FakeUpstream:
    """Serves queued replies; with none queued it answers the default ``Script``."""

    replies: deque[Script | ErrorReply] = attrs.Factory(deque)
    received: list[Received] = attrs.Factory(list)
    stream_opened: trio.Event = attrs.Factory(trio.Event)
    disconnected: trio.Event = attrs.Factory(trio.Event)
    hold: trio.Event | None = None  # when set, streams pause after the first chunk until set
    url: str = ""

    def queue(self, *replies: Script | ErrorReply) -> None:
        self.replies.extend(replies)

    def last(self) -> Received:
        return self.received[-1]

    def _app(self) -> QuartTrio:
        app = QuartTrio("fake-upstream")

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
            make_body, make_stream = _FORMATS[fmt]
            if not body.get("stream"):
                return Response(json.dumps(make_body(reply, body["model"])),
                                content_type="application/json")
            response = Response(self._stream(make_stream(reply, body["model"]), reply.delay),
                                content_type="text/event-stream")
            response.timeout = None
            return response

        return app

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
