"""The storage actor's conversation messages (``/v1/conversations`` and the ``conversation``
parameter of ``POST /v1/responses``).

``StorageActor`` answers them like its chat messages: ``conversation_store_call`` says which
store method a message needs and whether it writes (its own transaction) or reads (the read
pool). Every message is scoped by ``owner``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, assert_never

import attrs

from actors import Ask
from openresponses.store.base import ItemsPage, Store
from openresponses.store.conversations import Item, StoredConversation


@attrs.frozen
class CreateConversation(Ask[None]):
    """Insert a conversation with its first items; answered once committed."""

    record: StoredConversation
    items: list[Item]


@attrs.frozen
class GetConversation(Ask[StoredConversation | None]):
    owner: str
    conversation_id: str


@attrs.frozen
class UpdateConversation(Ask[StoredConversation | None]):
    owner: str
    conversation_id: str
    metadata: dict[str, str]


@attrs.frozen
class DeleteConversation(Ask[bool]):
    owner: str
    conversation_id: str


@attrs.frozen
class AddConversationItems(Ask[list[Item] | None]):
    """Append items (ids already there skipped, or with ``refuse_known`` refused with
    ``KnownItem``); the items added, None if unknown."""

    owner: str
    conversation_id: str
    items: list[Item]
    refuse_known: bool = False


@attrs.frozen(kw_only=True)
class ListConversationItems(Ask[ItemsPage | None]):
    owner: str
    conversation_id: str
    limit: int = 20
    order: Literal["asc", "desc"] = "desc"
    after: str | None = None


@attrs.frozen
class GetConversationItem(Ask[Item | None]):
    owner: str
    conversation_id: str
    item_id: str


@attrs.frozen
class DeleteConversationItem(Ask[bool | None]):
    """True if deleted, False if the item is unknown, None if the conversation is."""

    owner: str
    conversation_id: str
    item_id: str


@attrs.frozen
class LoadConversation(Ask[list[Item] | None]):
    """Every item of the conversation, oldest first (None if unknown)."""

    owner: str
    conversation_id: str


ConversationMessage = (
    CreateConversation | GetConversation | UpdateConversation | DeleteConversation
    | AddConversationItems | ListConversationItems | GetConversationItem
    | DeleteConversationItem | LoadConversation
)


def conversation_store_call(message: ConversationMessage) -> tuple[bool, Callable[[Store], object]]:
    """(whether it writes, the store call) that answers ``message``."""
    match message:
        case CreateConversation(record=record, items=items):
            return True, lambda store: store.create_conversation(record, items)
        case GetConversation(owner=owner, conversation_id=cid):
            return False, lambda store: store.get_conversation(owner, cid)
        case UpdateConversation(owner=owner, conversation_id=cid, metadata=metadata):
            return True, lambda store: store.update_conversation(owner, cid, metadata)
        case DeleteConversation(owner=owner, conversation_id=cid):
            return True, lambda store: store.delete_conversation(owner, cid)
        case AddConversationItems(owner=owner, conversation_id=cid, items=items):
            return True, lambda store: store.add_conversation_items(
                owner, cid, items, refuse_known=message.refuse_known)
        case ListConversationItems():
            return False, lambda store: store.conversation_items(
                message.owner, message.conversation_id, limit=message.limit,
                order=message.order, after=message.after)
        case GetConversationItem(owner=owner, conversation_id=cid, item_id=item_id):
            return False, lambda store: store.conversation_item(owner, cid, item_id)
        case DeleteConversationItem(owner=owner, conversation_id=cid, item_id=item_id):
            return True, lambda store: store.delete_conversation_item(owner, cid, item_id)
        case LoadConversation(owner=owner, conversation_id=cid):
            return False, lambda store: store.conversation_history(owner, cid)
        case _:
            assert_never(message)
