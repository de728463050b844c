"""Conversations in every store backend: create with items, metadata, paging, owner isolation."""

from __future__ import annotations

from typing import Any

import pytest

from openresponses.store.base import Store
from openresponses.store.conversations import KnownItem, StoredConversation


def item(n: int) -> dict[str, Any]:
    return {"id": f"msg_{n}", "type": "message", "role": "user",
            "content": [{"type": "input_text", "text": f"text {n}"}]}


def conversation(conversation_id: str = "conv_1", owner: str = "alice") -> StoredConversation:
    return StoredConversation(id=conversation_id, owner=owner, created_at=1_700_000_000,
                              metadata={"topic": "demo"})


def test_a_conversation_is_created_with_its_items_in_order(store: Store) -> None:
    store.create_conversation(conversation(), [item(1), item(2)])
    assert store.get_conversation("alice", "conv_1") == conversation()
    assert store.conversation_history("alice", "conv_1") == [item(1), item(2)]


def test_another_owner_sees_nothing(store: Store) -> None:
    store.create_conversation(conversation(), [item(1)])
    assert store.get_conversation("bob", "conv_1") is None
    assert store.conversation_history("bob", "conv_1") is None
    assert store.add_conversation_items("bob", "conv_1", [item(2)]) is None
    assert store.conversation_item("bob", "conv_1", "msg_1") is None
    assert store.delete_conversation_item("bob", "conv_1", "msg_1") is None
    assert store.update_conversation("bob", "conv_1", {}) is None
    assert not store.delete_conversation("bob", "conv_1")
    assert store.conversation_history("alice", "conv_1") == [item(1)]


def test_adding_an_item_already_there_is_skipped(store: Store) -> None:
    store.create_conversation(conversation(), [item(1)])
    added = store.add_conversation_items("alice", "conv_1", [item(1), item(2)])
    assert added == [item(2)]
    assert store.conversation_history("alice", "conv_1") == [item(1), item(2)]


def test_adding_an_item_already_there_can_be_refused_adding_nothing(store: Store) -> None:
    store.create_conversation(conversation(), [item(1)])
    with pytest.raises(KnownItem) as caught:
        store.add_conversation_items("alice", "conv_1", [item(2), item(1), item(3)],
                                     refuse_known=True)
    assert caught.value.item_id == "msg_1"
    assert store.conversation_history("alice", "conv_1") == [item(1)]  # rolled back
    assert store.add_conversation_items("alice", "conv_1", [item(2)], refuse_known=True) == [
        item(2)]


def test_items_page_both_ways_from_a_cursor(store: Store) -> None:
    store.create_conversation(conversation(), [item(n) for n in range(5)])
    page = store.conversation_items("alice", "conv_1", limit=2, order="desc", after=None)
    assert page is not None
    assert [i["id"] for i in page.data] == ["msg_4", "msg_3"]
    assert (page.first_id, page.last_id, page.has_more) == ("msg_4", "msg_3", True)
    page = store.conversation_items("alice", "conv_1", limit=2, order="desc", after="msg_3")
    assert page is not None
    assert [i["id"] for i in page.data] == ["msg_2", "msg_1"]
    page = store.conversation_items("alice", "conv_1", limit=10, order="asc", after="msg_2")
    assert page is not None
    assert [i["id"] for i in page.data] == ["msg_3", "msg_4"]
    assert not page.has_more
    empty = store.conversation_items("alice", "conv_1", limit=10, order="asc", after="nope")
    assert empty is not None
    assert empty.data == []
    assert empty.first_id is None


def test_metadata_is_replaced_and_items_deleted(store: Store) -> None:
    store.create_conversation(conversation(), [item(1), item(2)])
    updated = store.update_conversation("alice", "conv_1", {"topic": "other"})
    assert updated is not None
    assert updated.metadata == {"topic": "other"}
    assert store.delete_conversation_item("alice", "conv_1", "msg_1") is True
    assert store.delete_conversation_item("alice", "conv_1", "msg_1") is False
    assert store.conversation_item("alice", "conv_1", "msg_2") == item(2)
    assert store.conversation_history("alice", "conv_1") == [item(2)]


def test_deleting_a_conversation_deletes_its_items(store: Store) -> None:
    store.create_conversation(conversation(), [item(1)])
    assert store.delete_conversation("alice", "conv_1")
    store.create_conversation(conversation(), [])  # the id is free again, with no items left
    assert store.conversation_history("alice", "conv_1") == []


def test_a_taken_id_is_refused(store: Store) -> None:
    store.create_conversation(conversation(), [])
    with pytest.raises(ValueError, match="already exists"):
        store.create_conversation(conversation(owner="bob"), [])
