"""``Store.get`` reads one response with a plain query (not the chain's recursive one): it must
give exactly the record ``chain`` gives for that response, on every backend."""

from __future__ import annotations

from openresponses.store.base import Store
from tests.openresponses.store.samples import record


def test_get_gives_the_chains_record_of_each_response(store: Store) -> None:
    saved = [record("resp_0", items=0), record("resp_1", previous="resp_0", items=12),
             record("resp_2", previous="resp_1", items=1)]
    store.save_batch(saved)
    chain = store.chain("alice", "resp_2")
    assert chain == saved
    for stored in saved:
        assert store.get("alice", stored.id) == stored


def test_get_keeps_the_items_in_position_order_past_ten(store: Store) -> None:
    store.save_batch([record("resp_1", items=12)])
    found = store.get("alice", "resp_1")
    assert found is not None
    assert [item["id"] for item in found.input_items] == [f"resp_1_item{n}" for n in range(12)]


def test_get_of_a_response_without_items_gives_no_items(store: Store) -> None:
    store.save_batch([record("resp_1", items=0)])
    found = store.get("alice", "resp_1")
    assert found is not None
    assert found.input_items == []
    assert store.get("mallory", "resp_1") is None


def test_get_after_the_items_were_replaced_gives_only_the_new_ones(store: Store) -> None:
    store.save_batch([record("resp_1", items=5)])
    store.save_batch([record("resp_1", items=2, status="failed")])
    assert store.get("alice", "resp_1") == record("resp_1", items=2, status="failed")


def test_tip_gives_the_record_get_gives_and_a_deletion_count(store: Store) -> None:
    saved = [record("resp_0", items=0), record("resp_1", previous="resp_0", items=3)]
    store.save_batch(saved)
    tip = store.tip("alice", "resp_1")
    assert tip is not None
    assert tip.record == store.get("alice", "resp_1") == saved[1]
    assert store.tip("mallory", "resp_1") is None
    assert store.tip("alice", "resp_unknown") is None


def test_every_response_deleted_counts_whoever_deletes_it(store: Store) -> None:
    store.save_batch([record(f"resp_{n}", items=1) for n in range(4)])

    def deletions() -> int:
        tip = store.tip("alice", "resp_3")
        assert tip is not None
        return tip.deletions

    before = deletions()
    store.save_batch([record("resp_1", items=2)])  # a rewrite deletes no response
    assert deletions() == before
    assert store.delete("alice", "resp_0")
    assert deletions() == before + 1
    assert not store.delete("alice", "resp_0")  # nothing deleted, nothing counted
    assert not store.delete("mallory", "resp_1")
    assert deletions() == before + 1
    assert store.delete("alice", "resp_1")
    assert deletions() == before + 2
