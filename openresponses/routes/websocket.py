"""WebSocket mode on ``/v1/responses``: many responses over one connection.

The upgrade is authenticated like any ``/v1`` request (bearer token, address and key rate
limits); a refusal is the plain HTTP error. Then the client sends ``{"type":
"response.create", ...}`` messages (a ``POST /v1/responses`` body; ``stream`` and
``stream_id`` are ignored, ``background`` is refused) and receives the same event objects as
SSE, one message each.

- One response at a time: a ``response.create`` while one runs gets an error event; the
  connection stays usable.
- Continuation: the connection remembers its last completed response (its whole context), so
  ``previous_response_id`` naming it needs no store, even with ``store: false``; any other id
  is looked up in the store (unknown → ``previous_response_not_found``). A failed continuation
  evicts the remembered response.
- Errors outside a running response use the WebSocket shape
  ``{"type": "error", "status", "error": {"type", "code", "message", "param"}}``.
- After ``websocket_max_seconds`` (60 minutes) the connection gets the error
  ``websocket_connection_limit_reached`` and is closed; a response still running is cancelled.

Cancellation: a client that disconnects cancels the running response (and its upstream call).
"""

from __future__ import annotations

from contextlib import aclosing
from typing import Any

import orjson
import trio
from quart import Blueprint, Response, websocket

from openresponses.auth import Caller, authenticate, authorize_model
from openresponses.errors import GatewayError, InvalidRequest
from openresponses.gateway.rate_limiter import ip_hits, key_hits
from openresponses.gateway.run import Gateway
from openresponses.gateway.turns import Cached, prepare_turn
from openresponses.keys import KeyDirectory
from openresponses.render import error_response
from openresponses.routes.admission import check, client_ip
from openresponses.schema.request import parse_create_response

_IGNORED = ("type", "stream", "stream_options", "stream_id")
_KEPT = ("completed", "incomplete")


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
    await check(gateway, key_hits(config, caller.owner, caller.limits))
    return caller


class Connection:
    """One accepted WebSocket: its caller, whether a response runs, its last response."""

    def __init__(self, gateway: Gateway, caller: Caller) -> None:
        self.gateway = gateway
        self.caller = caller
        self.busy = False
        self.cached: Cached | None = None
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
        await self.send(ws_error(LimitReached(
            f"This WebSocket connection reached its limit of {limit:g} seconds; open a new "
            "connection to continue.")))
        await websocket.close(1000, "websocket_connection_limit_reached")

    async def _dispatch(self, raw: str | bytes, nursery: trio.Nursery) -> None:
        try:
            message = orjson.loads(raw)
        except orjson.JSONDecodeError:
            await self.send(ws_error(InvalidRequest("The message is not valid JSON.",
                                                    code="invalid_json")))
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
        nursery.start_soon(self._respond, message)

    async def _respond(self, message: dict[str, Any]) -> None:
        """Run one response, sending its events; remember it (or evict the one it continued)."""
        previous: str | None = None
        try:
            body = {k: val for k, val in message.items() if k not in _IGNORED}
            if body.get("background"):
                raise InvalidRequest("Background responses are not available over WebSocket; "
                                     "use POST /v1/responses.", param="background")
            parsed = parse_create_response({**body, "stream": True})  # upstream streamed
            previous = parsed.previous_response_id
            authorize_model(self.gateway.config, self.caller, parsed.model)
            await check(self.gateway,
                        key_hits(self.gateway.config, self.caller.owner, self.caller.limits))
            turn = await prepare_turn(self.gateway, self.caller, parsed, cached=self.cached)
            async with aclosing(turn.events()) as batches:
                async for batch in batches:
                    for event in batch:
                        await self.send(event)
            if turn.response["status"] in _KEPT:
                self.cached = (turn.response["id"], turn.context())
            else:
                self._evict(previous)
        except GatewayError as error:
            self._evict(previous)
            await self.send(ws_error(error, message.get("stream_id")))
        finally:
            self.busy = False

    def _evict(self, response_id: str | None) -> None:
        if response_id is not None and self.cached is not None and self.cached[0] == response_id:
            self.cached = None


def websocket_blueprint(gateway: Gateway, keys: KeyDirectory) -> Blueprint:
    """The WebSocket route on ``/v1/responses``."""
    bp = Blueprint("responses_websocket", __name__)

    @bp.websocket("/v1/responses")
    async def responses_socket() -> Response | None:
        try:
            caller = await _admit(gateway, keys)
        except GatewayError as error:
            return error_response(error)  # the upgrade is refused with the HTTP error
        await websocket.accept()
        await Connection(gateway, caller).serve()
        return None

    return bp
