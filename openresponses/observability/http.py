"""HTTP instrumentation: request id, timing, request metrics and the access log line.

``instrument(app, ops)`` wraps the app's ASGI callable, so a request is measured from its
arrival to the last byte of its body (a stream included), and adds a ``before_request`` hook
that names the matched route (a template such as ``/v1/responses/<response_id>``, so label
values stay bounded) and refuses new responses while the gateway drains.

Every response carries ``x-request-id``: the client's own when it sent a sane one, else a
fresh ``req_…``. A response whose body was not sent to the end (the client went away) is
counted with status ``499`` and logged with ``client_closed``.

A response that starts before the request body was fully received (an error raised before the
route read it: 401, 404, 413, 429...) is sent with ``connection: close``: hypercorn's HTTP/1.1
connection then ends cleanly instead of, now and then, leaving the client's next request on
that keep-alive connection unanswered. While the gateway drains, every response closes too.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

from quart import request
from quart_trio import QuartTrio

from openresponses.observability.lifecycle import ShuttingDown
from openresponses.observability.logs import (
    RequestRecord,
    current_request,
    key_hash_prefix,
    log_access,
    new_request_id,
)
from openresponses.observability.observer import Ops
from openresponses.observability.tracing import end_request_span, request_span

# ASGI shapes, loosely typed: hypercorn's TypedDict unions add nothing for a pass-through.
Scope = Any
Message = Any
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

REQUEST_ID_HEADER = "x-request-id"
_SANE_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
_CLIENT_CLOSED = 499
_READ_HEADERS = frozenset({REQUEST_ID_HEADER.encode(), b"authorization", b"transfer-encoding",
                           b"content-length"})


def request_id(sent: str | None) -> str:
    """The client's request id if it is short and plain, else a new one."""
    if sent is not None and _SANE_ID.fullmatch(sent):
        return sent
    return new_request_id()


class ObservedApp:
    """ASGI middleware: one ``RequestRecord`` per HTTP request, metrics and an access line at
    its end. Cancellation: the record is still counted and logged (synchronously)."""

    def __init__(self, app: ASGIApp, ops: Ops) -> None:
        self.app = app
        self.metrics = ops.metrics
        self.drain = ops.drain
        self.tracer = ops.tracer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        record = _record(scope, headers)
        body_pending = "transfer-encoding" in headers or headers.get("content-length", "0") != "0"
        token = current_request.set(record)

        async def receive_observed() -> Message:
            nonlocal body_pending
            message = await receive()
            if message["type"] != "http.request" or not message.get("more_body"):
                body_pending = False
            return message

        async def send_observed(message: Message) -> None:
            if message["type"] == "http.response.start":
                record.status = int(message["status"])
                extra = [(REQUEST_ID_HEADER.encode(), record.request_id.encode())]
                if body_pending or self.drain.draining:  # see the module docstring
                    extra.append((b"connection", b"close"))
                message = {**message, "headers": [*message.get("headers", ()), *extra]}
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                record.completed = True
            await send(message)

        with request_span(self.tracer, record.method, record.path) as span:
            try:
                await self.app(scope, receive_observed, send_observed)
            finally:
                current_request.reset(token)
                self._finish(record)
                end_request_span(span, record.method, record.route, record.status,
                                 record.request_id)

    def _finish(self, record: RequestRecord) -> None:
        latency = time.perf_counter() - record.started
        if not (record.completed and record.status):
            record.status = _CLIENT_CLOSED
        status = record.status
        metrics, route = self.metrics, record.route
        metrics.child(metrics.requests, route, record.method, record.provider, str(status)).inc()
        metrics.child(metrics.request_seconds, route).observe(latency)
        if record.upstream_seconds:
            overhead = max(latency - record.upstream_seconds, 0.0)
            metrics.child(metrics.overhead_seconds, route).observe(overhead)
        log_access(record, latency)


def _headers(scope: Scope) -> dict[str, str]:
    """The request headers this middleware reads (the first value of each), decoded."""
    headers: dict[str, str] = {}
    for name, value in scope.get("headers", ()):
        name = name.lower()
        if name in _READ_HEADERS:
            headers.setdefault(name.decode("latin-1"), value.decode("latin-1").strip())
    return headers


def _record(scope: Scope, headers: dict[str, str]) -> RequestRecord:
    return RequestRecord(
        request_id=request_id(headers.get(REQUEST_ID_HEADER)),
        method=str(scope.get("method", "")),
        path=str(scope.get("path", "")),
        key=key_hash_prefix(headers.get("authorization")),
        started=time.perf_counter(),
    )


def instrument(app: QuartTrio, ops: Ops) -> None:
    """Wrap ``app`` with ``ObservedApp`` and name each request's route (see module doc)."""

    @app.before_request
    async def name_route() -> None:
        rule = request.url_rule
        record = current_request.get()
        if record is not None and rule is not None:
            record.route = rule.rule
        if ops.drain.draining and request.method == "POST" and record is not None and (
            record.route == "/v1/responses"
        ):
            raise ShuttingDown()

    # Quart's documented way to add ASGI middleware.
    app.asgi_app = ObservedApp(app.asgi_app, ops)  # type: ignore[method-assign]
