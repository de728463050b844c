"""Stored chat completions and gateway keys in every backend, called directly on the store."""

from __future__ import annotations

import threading

import attrs
import pytest

from openresponses.chat.chunks import completion_id as new_completion_id
from openresponses.keys import KeyChange, KeyLimits, new_key
from openresponses.store.base import Order, Store, StoredChatCompletion


def completion(n: int, *, owner: str = "alice", model: str = "groq@m", created: int = 100,
               metadata: dict[str, str] | None = None,
               completion_id: str | None = None) -> StoredChatCompletion:
    completion_id = completion_id or f"chatcmpl-{n}"
    return StoredChatCompletion(
        id=completion_id, owner=owner, model=model, created_at=created,
        metadata=metadata or {}, completion={"id": completion_id, "object": "chat.completion"},
        messages=[{"id": f"{completion_id}-{i}", "role": "user", "content": f"m{i}"}
                  for i in range(3)],
    )


def test_completions_round_trip_scoped_by_owner(store: Store) -> None:
    store.save_chat_completion(completion(1, metadata={"k": "v"}))
    assert store.get_chat_completion("alice", "chatcmpl-1") == completion(1, metadata={"k": "v"})
    assert store.get_chat_completion("bob", "chatcmpl-1") is None
    assert store.update_chat_completion("bob", "chatcmpl-1", {}) is None
    assert not store.delete_chat_completion("bob", "chatcmpl-1")
    with pytest.raises(ValueError, match="already exists"):
        store.save_chat_completion(completion(1, owner="bob"))


def test_completions_list_in_order_with_cursor_and_filters(store: Store) -> None:
    for n, created in enumerate((100, 100, 200, 300)):
        store.save_chat_completion(completion(n, created=created, model=f"groq@m{n % 2}",
                                              metadata={"n": str(n)}))
    page = store.list_chat_completions("alice", limit=2, order="asc", after=None, model=None,
                                       metadata={})
    assert [r.id for r in page.records] == ["chatcmpl-0", "chatcmpl-1"]
    assert page.has_more
    page = store.list_chat_completions("alice", limit=5, order="asc", after="chatcmpl-1",
                                       model=None, metadata={})
    assert [r.id for r in page.records] == ["chatcmpl-2", "chatcmpl-3"]
    assert not page.has_more
    page = store.list_chat_completions("alice", limit=5, order="desc", after=None,
                                       model="groq@m1", metadata={})
    assert [r.id for r in page.records] == ["chatcmpl-3", "chatcmpl-1"]
    page = store.list_chat_completions("alice", limit=5, order="asc", after=None, model=None,
                                       metadata={"n": "2"})
    assert [r.id for r in page.records] == ["chatcmpl-2"]
    page = store.list_chat_completions("alice", limit=5, order="asc", after="nope",
                                       model=None, metadata={})
    assert page.records == []


def test_same_second_completions_list_in_creation_order_as_their_ids_sort(
    store: Store,
) -> None:
    made = [new_completion_id() for _ in range(12)]  # the gateway's ids, many in one ms
    assert all(len(cid) == len("chatcmpl-") + 48 for cid in made)
    for cid in made:
        store.save_chat_completion(completion(0, created=100, completion_id=cid))
    assert made == sorted(made)  # an id tells the order its completions were made in

    def listed(order: Order, after: str | None = None) -> list[str]:
        page = store.list_chat_completions("alice", limit=100, order=order, after=after,
                                           model=None, metadata={})
        return [r.id for r in page.records]

    assert listed("asc") == made
    assert listed("desc") == made[::-1]
    assert listed("asc", after=made[4]) == made[5:]
    assert listed("desc", after=made[4]) == made[3::-1]


def test_completion_metadata_update_delete_and_messages(store: Store) -> None:
    store.save_chat_completion(completion(1))
    updated = store.update_chat_completion("alice", "chatcmpl-1", {"a": "b"})
    assert updated is not None
    assert updated.metadata == {"a": "b"}
    page = store.chat_messages("alice", "chatcmpl-1", limit=2, order="desc", after=None)
    assert page is not None
    assert [m["id"] for m in page.data] == ["chatcmpl-1-2", "chatcmpl-1-1"]
    assert page.has_more
    assert store.chat_messages("bob", "chatcmpl-1", limit=2, order="asc", after=None) is None
    assert store.delete_chat_completion("alice", "chatcmpl-1")
    assert store.get_chat_completion("alice", "chatcmpl-1") is None


def test_keys_are_found_listed_revoked_and_unique(store: Store) -> None:
    _, first = new_key(name="alice", created_at=1, allowed=("groq@*",),
                       limits=KeyLimits(requests_per_day=5), expires_at=99)
    _, second = new_key(name="bob", created_at=1)
    store.save_key(first)
    store.save_key(second)
    assert store.find_key(first.hash) == first
    assert store.find_key("no-such-hash") is None
    assert [r.name for r in store.list_keys()] == ["alice", "bob"]  # same second: insert order
    revoked = store.revoke_key(first.id)
    assert revoked is not None
    assert revoked.revoked
    assert store.revoke_key(first.id) == revoked  # idempotent
    assert store.revoke_key("key_unknown") is None
    with pytest.raises(ValueError, match="already exists"):
        store.save_key(first)


def test_a_key_update_changes_only_what_it_names(store: Store) -> None:
    _, record = new_key(name="ci", created_at=1, allowed=("groq@*",),
                        limits=KeyLimits(requests_per_day=5, tokens_per_minute=900))
    store.save_key(record)
    updated = store.update_key(record.id, KeyChange(limits={"requests_per_minute": 2,
                                                            "requests_per_day": None}))
    assert updated == attrs.evolve(record, limits=KeyLimits(requests_per_minute=2,
                                                            tokens_per_minute=900))
    assert store.find_key(record.hash) == updated  # what the gateway reads on a request
    renamed = store.update_key(record.id, KeyChange(name="ci-nightly", allowed=()))
    assert renamed is not None
    assert (renamed.name, renamed.allowed, renamed.limits) == ("ci-nightly", (),
                                                               updated.limits)
    assert (renamed.hash, renamed.prefix, renamed.created_at) == (record.hash, record.prefix, 1)
    assert store.list_keys() == [renamed]
    assert store.update_key("key_unknown", KeyChange(name="x")) is None


def test_a_revoked_key_stays_revoked_when_updated(store: Store) -> None:
    _, record = new_key(name="old", created_at=1)
    store.save_key(record)
    store.revoke_key(record.id)
    updated = store.update_key(record.id, KeyChange(allowed=("openai@*",)))
    assert updated is not None
    assert updated.revoked
    assert updated.allowed == ("openai@*",)


def test_concurrent_updates_of_different_limits_both_hold(store: Store) -> None:
    _, record = new_key(name="busy", created_at=1)
    store.save_key(record)

    def bump(field: str) -> None:
        for value in range(1, 21):
            store.update_key(record.id, KeyChange(limits={field: value}))

    threads = [threading.Thread(target=bump, args=(field,))
               for field in ("requests_per_minute", "tokens_per_minute")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    found = store.find_key(record.hash)
    assert found is not None
    assert found.limits == KeyLimits(requests_per_minute=20, tokens_per_minute=20)
