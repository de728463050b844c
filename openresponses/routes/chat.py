"""``/v1/chat/completions`` routes: create (stream or not) on every provider, and the stored
completions (list, get, update metadata, delete, messages), scoped by the caller's key."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from typing import Literal

from quart import Blueprint, Response, request

from openresponses.auth import authorize_model, caller_from_headers
from openresponses.chat.request import parse_chat_request
from openresponses.chat.run import ChatRun
from openresponses.chat.stored import public_completion
from openresponses.errors import InvalidRequest, NotFound
from openresponses.gateway.run import Gateway
from openresponses.gateway.storage_chat import (
    DeleteChatCompletion,
    GetChatCompletion,
    ListChatCompletions,
    ListChatMessages,
    UpdateChatCompletion,
)
from openresponses.render import json_response
from openresponses.routes.common import json_body, query_int
from openresponses.schema import validate as v

_SSE_HEADERS = {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
    "x-accel-buffering": "no",
}


def _not_found(completion_id: str) -> NotFound:
    return NotFound(f"Chat completion with id '{completion_id}' not found.")


def chat_sse_response(first: bytes, rest: AsyncGenerator[bytes, None]) -> Response:
    """Stream ``first`` then ``rest``; ``rest`` is closed when the client goes away (which
    cancels the upstream call)."""

    async def body() -> AsyncIterator[bytes]:
        async with aclosing(rest) as frames:
            yield first
            async for data in frames:
                yield data

    response = Response(body(), status=200, headers=_SSE_HEADERS)
    response.timeout = None  # a stream may last as long as the model talks
    return response


def _order(default: Literal["asc", "desc"]) -> Literal["asc", "desc"]:
    raw = request.args.get("order", default)
    if raw not in ("asc", "desc"):
        raise InvalidRequest("Invalid 'order': expected asc or desc.", param="order")
    return "asc" if raw == "asc" else "desc"


def _limit() -> int:
    return query_int("limit", default=20, low=1, high=100)


def _metadata_filter() -> dict[str, str]:
    """``metadata[key]=value`` query parameters."""
    found = {}
    for name, value in request.args.items():
        if name.startswith("metadata[") and name.endswith("]") and len(name) > len("metadata[]"):
            found[name[len("metadata["):-1]] = value
    return found


def _page(data: list[dict[str, object]], has_more: bool) -> Response:
    return json_response({
        "object": "list", "data": data, "has_more": has_more,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
    })


def chat_blueprint(gateway: Gateway) -> Blueprint:
    """``/v1/chat/completions`` routes bound to a started ``Gateway``."""
    bp = Blueprint("chat", __name__)
    storage = gateway.storage

    @bp.post("/v1/chat/completions")
    async def create_completion() -> Response:
        caller = caller_from_headers()
        parsed = parse_chat_request(await json_body(gateway.config.max_body_bytes))
        authorize_model(gateway.config, caller, parsed.model)  # 403 outside the key's models
        run = ChatRun(gateway, caller, parsed)
        if parsed.stream:
            frames = run.frames()
            first = await anext(frames)  # errors before any output → plain HTTP errors
            return chat_sse_response(first, frames)
        return json_response(await run.completion())

    @bp.get("/v1/chat/completions")
    async def list_completions() -> Response:
        caller = caller_from_headers()
        page = await storage.ask(ListChatCompletions(
            owner=caller.owner, limit=_limit(), order=_order("asc"),
            after=request.args.get("after"), model=request.args.get("model"),
            metadata=_metadata_filter(),
        ))
        return _page([public_completion(r) for r in page.records], page.has_more)

    @bp.get("/v1/chat/completions/<completion_id>")
    async def get_completion(completion_id: str) -> Response:
        caller = caller_from_headers()
        record = await storage.ask(GetChatCompletion(caller.owner, completion_id))
        if record is None:
            raise _not_found(completion_id)
        return json_response(public_completion(record))

    @bp.post("/v1/chat/completions/<completion_id>")
    async def update_completion(completion_id: str) -> Response:
        caller = caller_from_headers()
        body = await json_body(gateway.config.max_body_bytes)
        if not isinstance(body, dict) or "metadata" not in body:
            raise InvalidRequest("Missing required parameter: 'metadata'.", param="metadata",
                                 code="missing_required_parameter")
        metadata = v.metadata(body) or {}
        record = await storage.ask(UpdateChatCompletion(caller.owner, completion_id, metadata))
        if record is None:
            raise _not_found(completion_id)
        return json_response(public_completion(record))

    @bp.delete("/v1/chat/completions/<completion_id>")
    async def delete_completion(completion_id: str) -> Response:
        caller = caller_from_headers()
        if not await storage.ask(DeleteChatCompletion(caller.owner, completion_id)):
            raise _not_found(completion_id)
        return json_response(
            {"object": "chat.completion.deleted", "id": completion_id, "deleted": True})

    @bp.get("/v1/chat/completions/<completion_id>/messages")
    async def list_messages(completion_id: str) -> Response:
        caller = caller_from_headers()
        page = await storage.ask(ListChatMessages(
            owner=caller.owner, completion_id=completion_id, limit=_limit(),
            order=_order("asc"), after=request.args.get("after"),
        ))
        if page is None:
            raise _not_found(completion_id)
        return _page(page.data, page.has_more)

    return bp
