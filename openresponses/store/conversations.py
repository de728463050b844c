"""Conversations in the storage interface: the record and the methods a backend provides.

A conversation is an owner's ordered list of items (Responses items with their ids) plus
metadata. Items keep their position; an item id appears at most once per conversation (adding
it again is skipped, or refused with ``KnownItem``). ``Store`` includes this protocol; every
method is scoped by ``owner``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

import attrs

if TYPE_CHECKING:
    from openresponses.store.base import ItemsPage, Order

Item = dict[str, Any]


class KnownItem(ValueError):
    """An item added to a conversation that already holds its id (nothing was added)."""

    def __init__(self, item_id: str) -> None:
        super().__init__(f"the conversation already holds an item with id {item_id!r}")
        self.item_id = item_id


@attrs.frozen(kw_only=True)
class StoredConversation:
    """A conversation's own fields (its items are stored and read separately)."""

    id: str
    owner: str  # hash of the caller's key: tenant isolation
    created_at: int
    metadata: dict[str, str]


class ConversationStore(Protocol):
    """The conversation methods of a ``Store``; blocking, called from worker threads."""

    def create_conversation(self, record: StoredConversation, items: Sequence[Item]) -> None:
        """Insert the conversation with its first items, in one transaction
        (``ValueError`` if the id is taken)."""
        ...

    def get_conversation(self, owner: str, conversation_id: str) -> StoredConversation | None:
        """The conversation, or None if unknown for this owner."""
        ...

    def update_conversation(
        self, owner: str, conversation_id: str, metadata: dict[str, str]
    ) -> StoredConversation | None:
        """Replace the metadata; the updated record, or None if unknown."""
        ...

    def delete_conversation(self, owner: str, conversation_id: str) -> bool:
        """Delete the conversation and its items; False if unknown for this owner."""
        ...

    def add_conversation_items(
        self, owner: str, conversation_id: str, items: Sequence[Item], *,
        refuse_known: bool = False,
    ) -> list[Item] | None:
        """Append ``items`` (those whose id is already there are skipped, or with
        ``refuse_known`` make it ``KnownItem`` and nothing is added); the items added, or None
        if the conversation is unknown."""
        ...

    def conversation_items(
        self, owner: str, conversation_id: str, *, limit: int, order: Order, after: str | None
    ) -> ItemsPage | None:
        """A page of the items (``after``: an item id, unknown → an empty page); None if the
        conversation is unknown."""
        ...

    def conversation_item(self, owner: str, conversation_id: str, item_id: str) -> Item | None:
        """One item, or None if it (or the conversation) is unknown."""
        ...

    def delete_conversation_item(
        self, owner: str, conversation_id: str, item_id: str
    ) -> bool | None:
        """Delete one item: True, False if the item is unknown, None if the conversation is."""
        ...

    def conversation_history(self, owner: str, conversation_id: str) -> list[Item] | None:
        """Every item, oldest first (the history a response in it continues); None if unknown."""
        ...
