"""``/v1/responses`` routes: parse, authenticate, hand off to a run or the storage actor, render."""

from __future__ import annotations

from contextlib import aclosing
from typing import Literal

from quart import Blueprint, Response, request

from openresponses.auth import caller_from_headers
from openresponses.errors import InvalidRequest, NotFound
from openresponses.gateway.run import Gateway, ResponseRun
from openresponses.gateway.storage import DeleteResponse, GetResponse, ListInputItems
from openresponses.render import json_response, sse_response
from openresponses.routes.common import json_body
from openresponses.schema import validate as v
from openresponses.schema.request import parse_create_response


def _not_found(response_id: str) -> NotFound:
    return NotFound(f"Response with id '{response_id}' not found.")


def responses_blueprint(gateway: Gateway) -> Blueprint:
    """``/v1/responses`` routes bound to a started ``Gateway``."""
    bp = Blueprint("responses", __name__)
    storage = gateway.storage

    @bp.post("/v1/responses")
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

    @bp.get("/v1/responses/<response_id>")
    async def get_response(response_id: str) -> Response:
        caller = caller_from_headers()
        record = await storage.ask(GetResponse(owner=caller.owner, response_id=response_id))
        if record is None:
            raise _not_found(response_id)
        return json_response(record.response)

    @bp.delete("/v1/responses/<response_id>")
    async def delete_response(response_id: str) -> Response:
        caller = caller_from_headers()
        if not await storage.ask(DeleteResponse(owner=caller.owner, response_id=response_id)):
            raise _not_found(response_id)
        return json_response({"id": response_id, "object": "response", "deleted": True})

    @bp.get("/v1/responses/<response_id>/input_items")
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


    return bp


def _limit(raw: str | None) -> int:
    if raw is None:
        return 20
    try:
        value = int(raw)
    except ValueError:
        raise InvalidRequest("Invalid 'limit': expected an integer.", param="limit") from None
    return v.opt_int({"limit": value}, "limit", low=1, high=100) or 20
