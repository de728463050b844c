"""WebSocket mode on ``/v1/responses``: many responses over one connection.

The upgrade is authenticated like any ``/v1`` request (bearer token, address and key rate
limits); a refusal is the plain HTTP error. Then the client sends ``{"type":
"response.create", ...}`` messages (a ``POST /v1/responses`` body; ``stream`` and
``stream_id`` are ignored, ``background`` is refused) and receives the same event objects as
SSE, one message each.

- The key is checked again on each ``response.create``: one revoked, expired or narrowed since
  the upgrade is refused from the next message (its error event), its new limits apply.
- One response at a time: a ``response.create`` while one runs gets an error event; the
  connection stays usable.
- Continuation: the connection remembers its last completed response made with ``store:
  false`` (its whole context), so ``previous_response_id`` naming it needs no store; any other
  id is looked up in the store (unknown, or deleted since → ``previous_response_not_found``),
  through the chain cache. A failed continuation evicts the remembered response.
- Errors outside a running response use the WebSocket shape
  ``{"type": "error", "status", "error": {"type", "code", "message", "param"}}``.
- After ``websocket_max_seconds`` (60 minutes) the connection gets the error
  ``websocket_connection_limit_reached`` and is closed; a response still running is cancelled.

Cancellation: a client that disconnects cancels the running response (and its upstream call).

Access log (the HTTP middleware sees no WebSocket): one ``openresponses.access`` line per
session when it ends (its request id, echoed as ``x-request-id`` on the upgrade; key hash
prefix, ``101`` or the refusal's status, duration, responses served, how it ended) and one per
``response.create`` (its own request id, the session's, the response id and status, provider,
model, tokens, latency; ``499`` when the client left mid-response).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from contextlib import aclosing
from functools import partial
from typing import Any

import attrs
import orjson
import trio
from quart import Blueprint, Response, websocket

from openresponses.auth import Caller, authenticate, authorize_model
from openresponses.errors import GatewayError, InvalidRequest, internal_error
from openresponses.gateway.rate_limiter import ip_hits, key_hits
from openresponses.gateway.run import Gateway
from openresponses.gateway.turns import Cached, prepare_turn
from openresponses.keys import KeyDirectory
from openresponses.observability.http import REQUEST_ID_HEADER, request_id
from openresponses.observability.logs import (
    RequestRecord,
    current_request,
    key_hash_prefix,
    log_access,
)
from openresponses.render import error_response
from openresponses.routes.admission import check, client_ip
from openresponses.routes.common import check_depth
from openresponses.schema.request import parse_create_response

_IGNORED = ("type", "stream", "stream_options", "stream_id")
_KEPT = ("completed", "incomplete")
_CLIENT_CLOSED = 499

logger = logging.getLogger("openresponses.app")


def ws_error(error: GatewayError, stream_id: Any = None) -> dict[str, Any]:
    """The WebSocket error event for ``error``."""
    event: dict[str, Any] = {
        "type": "error", "status": error.status,
        "error": {"type": error.type, "code": error.code or error.type,
                  "message": error.message, "param": error.param},
    }
    if isinstance(stream_id, str):
        event["stream_id"] = stream_id
    return event


class LimitReached(GatewayError):
    status = 400
    type = "invalid_request_error"
    code = "websocket_connection_limit_reached"


def _bearer() -> str | None:
    scheme, _, token = websocket.headers.get("authorization", "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


async def _admit(gateway: Gateway, keys: KeyDirectory) -> Caller:
    """The caller of this upgrade, rate limits checked (as the HTTP admission does)."""
    config = gateway.config
    client = websocket.scope.get("client")
    ip = client_ip(str(client[0]) if client else None,
                   websocket.headers.get("x-forwarded-for"), config.trusted_proxies)
    await check(gateway, ip_hits(config, ip))
    caller = await authenticate(config, keys, _bearer())
    await check(gateway, key_hits(config, caller.owner, caller.limits, tokens=False))
    return caller


class Connection:
    """One accepted WebSocket: its caller, whether a response runs, its last response.

    ``reauthenticate`` gives the caller as its key stands now: each ``response.create`` asks
    it, so a key revoked, expired, narrowed or given lower limits since the upgrade applies
    from the next message, as it does over HTTP.
    """

    def __init__(self, gateway: Gateway, caller: Caller, session: RequestRecord,
                 reauthenticate: Callable[[], Awaitable[Caller]]) -> None:
        self.gateway = gateway
        self.caller = caller
        self._reauthenticate = reauthenticate
        self.session = session
        self.busy = False
        self.cached: Cached | None = None
        self.responses = 0  # response.create messages run, for the session's log line
        self.ended = "client"  # or "limit"
        self._send_lock = trio.Lock()

    async def send(self, event: dict[str, Any]) -> None:
        async with self._send_lock:
            await websocket.send(orjson.dumps(event).decode())

    async def serve(self) -> None:
        """Handle messages until the client leaves or the time limit passes."""
        limit = self.gateway.config.websocket_max_seconds
        async with trio.open_nursery() as nursery:
            with trio.move_on_after(limit):
                while True:
                    await self._dispatch(await websocket.receive(), nursery)
            nursery.cancel_scope.cancel()  # the limit passed: end a response still running
        self.ended = "limit"
        await self.send(ws_error(LimitReached(
            f"This WebSocket connection reached its limit of {limit:g} seconds; open a new "
            "connection to continue.")))
        await websocket.close(1000, "websocket_connection_limit_reached")

    async def _dispatch(self, raw: str | bytes, nursery: trio.Nursery) -> None:
        try:
            message = orjson.loads(raw)
            check_depth(message, len(raw))
        except orjson.JSONDecodeError:
            await self.send(ws_error(InvalidRequest("The message is not valid JSON.",
                                                    code="invalid_json")))
            return
        except InvalidRequest as too_deep:
            await self.send(ws_error(too_deep))
            return
        stream_id = message.get("stream_id") if isinstance(message, dict) else None
        if not isinstance(message, dict) or message.get("type") != "response.create":
            kind = message.get("type") if isinstance(message, dict) else None
            await self.send(ws_error(InvalidRequest(
                f"Unsupported event type {kind!r}: expected 'response.create'.", param="type",
                code="invalid_event_type"), stream_id))
            return
        if self.busy:
            await self.send(ws_error(InvalidRequest(
                "A response is already in progress on this connection; wait for it to finish.",
                code="response_in_progress"), stream_id))
            return
        self.busy = True
        self.responses += 1
        nursery.start_soon(self._respond, message)

    async def _respond(self, message: dict[str, Any]) -> None:
        """Run one response, sending its events; remember it (or evict the one it continued).
        Logs its access line at the end, cancelled or not."""
        record = attrs.evolve(self.session, request_id=request_id(None), method="WS",
                              status=0, started=time.perf_counter())
        token = current_request.set(record)  # the run's turn watcher adds model and tokens
        outcome: dict[str, Any] = {"session_id": self.session.request_id, **_key_name(self.caller)}
        previous: str | None = None
        try:
            body = {k: val for k, val in message.items() if k not in _IGNORED}
            if body.get("background"):
                raise InvalidRequest("Background responses are not available over WebSocket; "
                                     "use POST /v1/responses.", param="background")
            parsed = parse_create_response({**body, "stream": True})  # upstream streamed
            previous = parsed.previous_response_id
            self.caller = await self._reauthenticate()
            authorize_model(self.gateway.config, self.caller, parsed.model)
            await check(self.gateway,
                        key_hits(self.gateway.config, self.caller.owner, self.caller.limits))
            outcome["model"] = parsed.model
            turn = await prepare_turn(self.gateway, self.caller, parsed, cached=self.cached)
            outcome["response_id"] = turn.response["id"]
            async with aclosing(turn.events()) as batches:
                async for batch in batches:
                    for event in batch:
                        await self.send(event)
            record.status = 200
            outcome["response_status"] = turn.response["status"]
            if turn.response["status"] not in _KEPT:
                self._evict(previous)
            else:  # a stored one is read back from the store, where a DELETE is seen
                self.cached = None if parsed.store else (turn.response["id"], turn.context())
        except Exception as exc:  # a bug: the client hears a 500 and the connection lives on
            error = exc if isinstance(exc, GatewayError) else internal_error()
            if error is not exc:
                logger.exception("a WebSocket response failed")
            record.status = error.status
            outcome["error_code"] = error.code or error.type
            self._evict(previous)
            await self.send(ws_error(error, message.get("stream_id")))
        finally:
            self.busy = False
            _log_response(record, outcome)
            current_request.reset(token)

    def _evict(self, response_id: str | None) -> None:
        if response_id is not None and self.cached is not None and self.cached[0] == response_id:
            self.cached = None


def _session_record() -> RequestRecord:
    """The session's record, as the HTTP middleware makes one per request."""
    headers = websocket.headers
    return RequestRecord(request_id=request_id(headers.get(REQUEST_ID_HEADER)), method="GET",
                         path=websocket.path, key=key_hash_prefix(headers.get("authorization")),
                         started=time.perf_counter(), route="/v1/responses")


def _key_name(caller: Caller) -> dict[str, str]:
    """The gateway key's name (keys mode) for a log line; nothing in passthrough."""
    return {"key_name": caller.key_name} if caller.key_name else {}


def _log_response(record: RequestRecord, outcome: dict[str, Any]) -> None:
    record.completed = bool(record.status)
    if not record.completed:
        record.status = _CLIENT_CLOSED  # cancelled: the client left (or the time limit)
    if record.provider:  # a model was called: the record says which
        outcome.pop("model", None)
    log_access(record, time.perf_counter() - record.started, {"websocket": True, **outcome})


def _log_session(session: RequestRecord, connection: Connection | None) -> None:
    session.completed = True
    fields: dict[str, Any] = {"websocket": True}
    if connection is not None:
        fields.update(responses=connection.responses, ended=connection.ended,
                      **_key_name(connection.caller))
    log_access(session, time.perf_counter() - session.started, fields)


def websocket_blueprint(gateway: Gateway, keys: KeyDirectory) -> Blueprint:
    """The WebSocket route on ``/v1/responses``."""
    bp = Blueprint("responses_websocket", __name__)

    @bp.websocket("/v1/responses")
    async def responses_socket() -> Response | None:
        session = _session_record()
        token = current_request.set(session)
        connection: Connection | None = None
        try:
            try:
                caller = await _admit(gateway, keys)
            except GatewayError as error:
                session.status = error.status
                refusal = error_response(error)  # the upgrade is refused with the HTTP error
                refusal.headers[REQUEST_ID_HEADER] = session.request_id
                return refusal
            await websocket.accept(headers={REQUEST_ID_HEADER: session.request_id})
            session.status = 101
            connection = Connection(gateway, caller, session,
                                    partial(authenticate, gateway.config, keys, _bearer()))
            await connection.serve()
            return None
        finally:
            _log_session(session, connection)
            current_request.reset(token)

    return bp
