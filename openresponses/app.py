"""Quart-Trio routes: parse, authenticate, hand off to a run or the storage actor, render."""

from __future__ import annotations

import hashlib
import logging
from contextlib import aclosing
from typing import Any, Literal

import orjson
from quart import Response, request
from quart_trio import QuartTrio
from werkzeug.exceptions import HTTPException

from openresponses.errors import (
    AuthenticationFailed,
    GatewayError,
    InvalidRequest,
    NotFound,
    RequestTooLarge,
    internal_error,
)
from openresponses.gateway.run import Caller, Gateway, ResponseRun
from openresponses.gateway.storage import DeleteResponse, GetResponse, ListInputItems
from openresponses.render import error_response, json_response, sse_response
from openresponses.schema import validate as v
from openresponses.schema.request import parse_create_response

logger = logging.getLogger("openresponses.app")


def caller_from_headers() -> Caller:
    """The caller named by ``Authorization: Bearer …``; 401 when missing."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise AuthenticationFailed(
            "You didn't provide an API key. Provide it in the Authorization header "
            "(Authorization: Bearer YOUR_KEY).",
            code="missing_api_key",
        )
    return Caller(owner=hashlib.sha256(token.encode()).hexdigest(), bearer=token)


async def json_body(max_bytes: int) -> Any:
    """The request body decoded as JSON; 413 past ``max_bytes``, 400 for malformed JSON."""
    if (request.content_length or 0) > max_bytes:
        raise RequestTooLarge(f"The request body exceeds the limit of {max_bytes} bytes.")
    raw = await request.get_data(cache=False)
    assert isinstance(raw, bytes)
    if len(raw) > max_bytes:
        raise RequestTooLarge(f"The request body exceeds the limit of {max_bytes} bytes.")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise InvalidRequest(
            "We could not parse the JSON body of your request. The OpenAI API expects a JSON "
            "payload.",
            code="invalid_json",
        ) from None


def _not_found(response_id: str) -> NotFound:
    return NotFound(f"Response with id '{response_id}' not found.")


def create_app(gateway: Gateway) -> QuartTrio:
    """The ASGI app, bound to a started ``Gateway``."""
    app = QuartTrio("openresponses")
    app.config["MAX_CONTENT_LENGTH"] = gateway.config.max_body_bytes
    app.config["RESPONSE_TIMEOUT"] = None
    app.config["BODY_TIMEOUT"] = 600
    storage = gateway.storage

    @app.get("/health")
    async def health() -> Response:
        return json_response({"status": "ok"})

    @app.post("/v1/responses")
    async def create_response() -> Response:
        caller = caller_from_headers()
        parsed = parse_create_response(await json_body(gateway.config.max_body_bytes))
        run = ResponseRun(gateway, caller, parsed)
        batches = run.events()
        if parsed.stream:
            first = await anext(batches)  # errors before any output → plain HTTP errors
            return sse_response(first, batches)
        async with aclosing(batches) as drained:
            async for _ in drained:
                pass
        return json_response(run.response)

    @app.get("/v1/responses/<response_id>")
    async def get_response(response_id: str) -> Response:
        caller = caller_from_headers()
        record = await storage.ask(GetResponse(owner=caller.owner, response_id=response_id))
        if record is None:
            raise _not_found(response_id)
        return json_response(record.response)

    @app.delete("/v1/responses/<response_id>")
    async def delete_response(response_id: str) -> Response:
        caller = caller_from_headers()
        if not await storage.ask(DeleteResponse(owner=caller.owner, response_id=response_id)):
            raise _not_found(response_id)
        return json_response({"id": response_id, "object": "response", "deleted": True})

    @app.get("/v1/responses/<response_id>/input_items")
    async def input_items(response_id: str) -> Response:
        caller = caller_from_headers()
        args = request.args
        raw_order = args.get("order", "desc")
        if raw_order not in ("asc", "desc"):
            raise InvalidRequest("Invalid 'order': expected asc or desc.", param="order")
        order: Literal["asc", "desc"] = "asc" if raw_order == "asc" else "desc"
        limit = _limit(args.get("limit"))
        page = await storage.ask(ListInputItems(
            owner=caller.owner, response_id=response_id, limit=limit, order=order,
            after=args.get("after"), before=args.get("before"),
        ))
        if page is None:
            raise _not_found(response_id)
        return json_response({"object": "list", "data": page.data, "first_id": page.first_id,
                              "last_id": page.last_id, "has_more": page.has_more})

    _register_error_handlers(app)
    return app


def _limit(raw: str | None) -> int:
    if raw is None:
        return 20
    try:
        value = int(raw)
    except ValueError:
        raise InvalidRequest("Invalid 'limit': expected an integer.", param="limit") from None
    return v.opt_int({"limit": value}, "limit", low=1, high=100) or 20


def _register_error_handlers(app: QuartTrio) -> None:
    @app.errorhandler(GatewayError)
    async def gateway_error(error: GatewayError) -> Response:
        return error_response(error)

    @app.errorhandler(HTTPException)
    async def http_error(error: HTTPException) -> Response:
        status = error.code or 500
        if status == 413:
            return error_response(RequestTooLarge("The request body is too large."))
        kind = "invalid_request_error" if status < 500 else "server_error"
        message = {404: "Unknown route.", 405: "Method not allowed for this route."}.get(
            status, error.description or "HTTP error"
        )
        return error_response(GatewayError(message, status=status, type=kind))

    @app.errorhandler(Exception)
    async def unexpected(error: Exception) -> Response:
        logger.exception("unhandled error", exc_info=error)
        return error_response(internal_error())
