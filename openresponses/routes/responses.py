"""``/v1/responses`` routes: parse, authenticate, hand off to a run or the storage actor, render."""

from __future__ import annotations

import logging
from contextlib import aclosing
from typing import Literal

from quart import Blueprint, Response, request

from openresponses.auth import authorize_model, caller_from_headers
from openresponses.errors import InvalidRequest, NotFound
from openresponses.gateway.run import Gateway
from openresponses.gateway.storage import DeleteResponse, ListInputItems
from openresponses.gateway.turns import prepare_turn
from openresponses.render import json_response, sse_response
from openresponses.routes.background import create_background, stop_running
from openresponses.routes.background import get_response as get_background_aware
from openresponses.routes.common import json_body, query_int
from openresponses.schema.request import parse_create_response

logger = logging.getLogger("openresponses.app")


_MAX_WARNING_HEADER = 1024  # characters: far below what clients take in one header (~8 KB+)


def _warning_headers(warnings: list[str]) -> dict[str, str]:
    """Tools that were requested but not offered: said in a header (cut to a size every
    client reads) and in the log."""
    for warning in warnings:
        logger.warning("%s", warning)
    if not warnings:
        return {}
    value = " | ".join(warnings)
    if len(value) > _MAX_WARNING_HEADER:
        value = value[:_MAX_WARNING_HEADER - 3] + "..."
    return {"x-openresponses-warning": value}


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
        authorize_model(gateway.config, caller, parsed.model)  # 403 outside the key's models
        if parsed.background:  # runs in the BackgroundRunner (routes/background.py)
            return await create_background(gateway, caller, parsed, _warning_headers)
        turn = await prepare_turn(gateway, caller, parsed)  # history, conversation, compaction
        run = turn.run
        headers = _warning_headers(run.warnings)
        batches = turn.events()  # metered: tokens/minute
        if parsed.stream:
            first = await anext(batches)  # errors before any output → plain HTTP errors
            return sse_response(first, batches, headers)
        async with aclosing(batches) as drained:
            async for _ in drained:
                pass
        return json_response(run.response, headers=headers)

    @bp.get("/v1/responses/<response_id>")
    async def get_response(response_id: str) -> Response:
        return await get_background_aware(gateway, response_id)  # routes/background.py

    @bp.delete("/v1/responses/<response_id>")
    async def delete_response(response_id: str) -> Response:
        caller = caller_from_headers()
        await stop_running(gateway, caller.owner, response_id)
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
        limit = query_int("limit", default=20, low=1, high=100)
        page = await storage.ask(ListInputItems(
            owner=caller.owner, response_id=response_id, limit=limit, order=order,
            after=args.get("after"), before=args.get("before"),
        ))
        if page is None:
            raise _not_found(response_id)
        # ``ResponseItemList`` types the ids as strings: an empty page has "" (as OpenAI).
        return json_response({"object": "list", "data": page.data,
                              "first_id": page.first_id or "", "last_id": page.last_id or "",
                              "has_more": page.has_more})


    return bp
