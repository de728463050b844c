"""``/v1/conversations`` routes (OpenAI's Conversations API), scoped by the caller's key.

Create (metadata and up to 20 items), retrieve, update metadata, delete; and the items: add (up
to 20), list (paged by ``after``, ``order`` desc by default), retrieve, delete. Items are
normalized like response input (each gets an id). Another key's conversation is a 404, exactly
as an unknown one. ``POST /v1/responses`` with ``conversation`` reads and extends the same
items (``gateway.turns``).
"""

from __future__ import annotations

from typing import Any, Literal

from quart import Blueprint, Response, request

from openresponses.auth import caller_from_headers
from openresponses.errors import InvalidRequest, NotFound
from openresponses.gateway.compaction_items import check_sealed
from openresponses.gateway.run import Gateway
from openresponses.gateway.storage_conversations import (
    AddConversationItems,
    CreateConversation,
    DeleteConversation,
    DeleteConversationItem,
    GetConversation,
    GetConversationItem,
    ListConversationItems,
    UpdateConversation,
)
from openresponses.gateway.turns import conversation_not_found
from openresponses.render import json_response
from openresponses.routes.common import json_body, query_int
from openresponses.schema import validate as v
from openresponses.schema.ids import new_id
from openresponses.schema.items import check_unique_ids, duplicate_item, normalize_item
from openresponses.store.conversations import Item, KnownItem, StoredConversation

MAX_ITEMS = 20


def resource(record: StoredConversation) -> dict[str, Any]:
    """The ``ConversationResource`` body."""
    return {"id": record.id, "object": "conversation", "metadata": record.metadata,
            "created_at": record.created_at}


def _items(data: dict[str, Any], *, required: bool) -> list[Item]:
    raw = v.opt_list(data, "items")
    if raw is None:
        if required:
            raise InvalidRequest("Missing required parameter: 'items'.", param="items",
                                 code="missing_required_parameter")
        return []
    if len(raw) > MAX_ITEMS:
        raise InvalidRequest(f"Invalid 'items': at most {MAX_ITEMS} items may be added at a "
                             "time.", param="items", code="array_above_max_length")
    items = [normalize_item(item, f"items[{i}]") for i, item in enumerate(raw)]
    check_unique_ids(items, "items")
    return items


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise InvalidRequest("The request body must be a JSON object.", code="invalid_json")
    return body


def _item_list(data: list[Item], has_more: bool, first: str | None, last: str | None,
               ) -> dict[str, Any]:
    """The ``ConversationItemList`` body. Its ``first_id`` / ``last_id`` are required strings
    (OpenAI's spec; the SDK's ``ConversationItemList`` refuses null), so an empty page has
    ``""``: falsy, which the SDK's pager reads as "no further page"."""
    return {"object": "list", "data": data, "first_id": first or "", "last_id": last or "",
            "has_more": has_more}


def _page_args() -> tuple[int, Literal["asc", "desc"], str | None]:
    args = request.args
    order = args.get("order", "desc")
    if order not in ("asc", "desc"):
        raise InvalidRequest("Invalid 'order': expected asc or desc.", param="order")
    limit = query_int("limit", default=20, low=1, high=100)
    return limit, "asc" if order == "asc" else "desc", args.get("after")


def conversations_blueprint(gateway: Gateway) -> Blueprint:
    """The Conversations API routes bound to a started ``Gateway``."""
    bp = Blueprint("conversations", __name__)
    storage = gateway.storage
    limit = gateway.config.max_body_bytes

    async def _get(owner: str, conversation_id: str) -> StoredConversation:
        record = await storage.ask(GetConversation(owner, conversation_id))
        if record is None:
            raise conversation_not_found(conversation_id)
        return record

    @bp.post("/v1/conversations")
    async def create() -> Response:
        caller = caller_from_headers()
        data = _object(await json_body(limit))
        record = StoredConversation(id=new_id("conv"), owner=caller.owner,
                                    created_at=int(gateway.clock()),
                                    metadata=v.metadata(data) or {})
        items = _items(data, required=False)
        await check_sealed(storage, items, "items")
        await storage.ask(CreateConversation(record, items))
        return json_response(resource(record))

    @bp.get("/v1/conversations/<conversation_id>")
    async def retrieve(conversation_id: str) -> Response:
        return json_response(resource(await _get(caller_from_headers().owner, conversation_id)))

    @bp.post("/v1/conversations/<conversation_id>")
    async def update(conversation_id: str) -> Response:
        caller = caller_from_headers()
        data = _object(await json_body(limit))
        if data.get("metadata") is None:
            raise InvalidRequest("Missing required parameter: 'metadata'.", param="metadata",
                                 code="missing_required_parameter")
        metadata = v.metadata(data) or {}
        record = await storage.ask(UpdateConversation(caller.owner, conversation_id, metadata))
        if record is None:
            raise conversation_not_found(conversation_id)
        return json_response(resource(record))

    @bp.delete("/v1/conversations/<conversation_id>")
    async def delete(conversation_id: str) -> Response:
        caller = caller_from_headers()
        if not await storage.ask(DeleteConversation(caller.owner, conversation_id)):
            raise conversation_not_found(conversation_id)
        return json_response({"id": conversation_id, "object": "conversation.deleted",
                              "deleted": True})

    @bp.post("/v1/conversations/<conversation_id>/items")
    async def add_items(conversation_id: str) -> Response:
        caller = caller_from_headers()
        items = _items(_object(await json_body(limit)), required=True)
        await check_sealed(storage, items, "items")
        try:
            added = await storage.ask(AddConversationItems(caller.owner, conversation_id, items,
                                                           refuse_known=True))
        except KnownItem as known:
            where = next(i for i, item in enumerate(items) if item["id"] == known.item_id)
            raise duplicate_item(known.item_id, f"items[{where}]") from None
        if added is None:
            raise conversation_not_found(conversation_id)
        first, last = (added[0]["id"], added[-1]["id"]) if added else ("", "")
        return json_response(_item_list(added, False, first, last))

    @bp.get("/v1/conversations/<conversation_id>/items")
    async def list_items(conversation_id: str) -> Response:
        caller = caller_from_headers()
        count, order, after = _page_args()
        page = await storage.ask(ListConversationItems(
            owner=caller.owner, conversation_id=conversation_id, limit=count, order=order,
            after=after))
        if page is None:
            raise conversation_not_found(conversation_id)
        return json_response(_item_list(page.data, page.has_more, page.first_id, page.last_id))

    @bp.get("/v1/conversations/<conversation_id>/items/<path:item_id>")  # ids may hold "/"
    async def get_item(conversation_id: str, item_id: str) -> Response:
        caller = caller_from_headers()
        item = await storage.ask(GetConversationItem(caller.owner, conversation_id, item_id))
        if item is None:
            await _get(caller.owner, conversation_id)  # 404 naming the conversation if unknown
            raise NotFound(f"Item with id '{item_id}' not found.", param="item_id")
        return json_response(item)

    @bp.delete("/v1/conversations/<conversation_id>/items/<path:item_id>")
    async def delete_item(conversation_id: str, item_id: str) -> Response:
        caller = caller_from_headers()
        deleted = await storage.ask(DeleteConversationItem(caller.owner, conversation_id,
                                                           item_id))
        if deleted is None:
            raise conversation_not_found(conversation_id)
        if not deleted:
            raise NotFound(f"Item with id '{item_id}' not found.", param="item_id")
        return json_response(resource(await _get(caller.owner, conversation_id)))

    return bp
