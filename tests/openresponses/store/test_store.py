"""Every store backend: round trips, owner isolation, chains, upserts, all-or-nothing batches,
concurrent readers, and two stores on one database."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from openresponses.store.base import Store, StoredResponse, open_store
from tests.openresponses.store.backends import FILE_BACKENDS, backend_url
from tests.openresponses.store.samples import chain_of, record


def test_saved_response_reads_back_equal(store: Store) -> None:
    saved = record("resp_1", previous=None, items=3)
    store.save_batch([saved])
    assert store.get("alice", "resp_1") == saved


def test_unknown_response_is_none(store: Store) -> None:
    assert store.get("alice", "resp_missing") is None
    assert store.chain("alice", "resp_missing") is None
    page = store.input_items("alice", "resp_missing", limit=5, order="asc", after=None, before=None)
    assert page is None
    assert store.delete("alice", "resp_missing") is False


def test_another_owners_response_is_invisible_to_every_method(store: Store) -> None:
    store.save_batch([record("resp_1", owner="alice")])
    assert store.get("mallory", "resp_1") is None
    assert store.chain("mallory", "resp_1") is None
    page = store.input_items("mallory", "resp_1", limit=5, order="asc", after=None, before=None)
    assert page is None
    assert store.delete("mallory", "resp_1") is False
    assert store.get("alice", "resp_1") is not None  # the failed delete removed nothing


def test_chain_does_not_cross_into_another_owners_ancestor(store: Store) -> None:
    store.save_batch([record("resp_0", owner="mallory"), record("resp_1", previous="resp_0")])
    found = store.chain("alice", "resp_1")
    assert found is not None
    assert [r.id for r in found] == ["resp_1"]


def test_delete_removes_the_response_and_its_items(store: Store) -> None:
    store.save_batch([record("resp_1"), record("resp_2")])
    assert store.delete("alice", "resp_1") is True
    assert store.get("alice", "resp_1") is None
    assert (
        store.input_items("alice", "resp_1", limit=5, order="asc", after=None, before=None) is None
    )
    assert store.delete("alice", "resp_1") is False
    assert store.get("alice", "resp_2") is not None


def test_saving_again_replaces_the_response_and_its_items(store: Store) -> None:
    store.save_batch([record("resp_1", status="queued", items=3)])
    store.save_batch([record("resp_1", status="completed", items=1)])
    found = store.get("alice", "resp_1")
    assert found is not None
    assert found.response["status"] == "completed"
    assert [item["id"] for item in found.input_items] == ["resp_1_item0"]


def test_later_record_of_a_batch_wins(store: Store) -> None:
    store.save_batch([record("resp_1", status="in_progress"), record("resp_1", status="failed")])
    found = store.get("alice", "resp_1")
    assert found is not None
    assert found.response["status"] == "failed"


def test_later_record_of_a_batch_replaces_the_items_of_an_earlier_one(store: Store) -> None:
    store.save_batch([record("resp_0", items=2), record("resp_1", status="queued", items=3),
                      record("resp_1", status="completed", items=1), record("resp_2", items=2)])
    found = store.get("alice", "resp_1")
    assert found is not None
    assert found.response["status"] == "completed"
    assert [item["id"] for item in found.input_items] == ["resp_1_item0"]
    for other in ("resp_0", "resp_2"):
        kept = store.get("alice", other)
        assert kept is not None
        assert [item["id"] for item in kept.input_items] == [f"{other}_item0", f"{other}_item1"]


def test_saving_over_another_owners_id_is_refused(store: Store) -> None:
    store.save_batch([record("resp_1", owner="alice", status="completed")])
    with pytest.raises(ValueError, match="another owner"):
        store.save_batch([record("resp_1", owner="mallory", status="hijacked")])
    found = store.get("alice", "resp_1")
    assert found is not None
    assert found.response["status"] == "completed"
    assert store.get("mallory", "resp_1") is None


def test_failed_batch_stores_nothing(store: Store) -> None:
    unencodable = StoredResponse(
        id="resp_2",
        owner="alice",
        response={"not json": {1, 2}},
        input_items=[],
        previous_response_id=None,
        created_at=0,
    )
    with pytest.raises(TypeError):
        store.save_batch([record("resp_1"), unencodable])
    assert store.get("alice", "resp_1") is None
    store.save_batch([record("resp_3")])  # the writer is usable after the rollback
    assert store.get("alice", "resp_3") is not None


@pytest.mark.parametrize(
    "items",
    [[{"type": "message"}], [{"id": 7}], [{"id": "a"}, {"id": "a"}]],
    ids=["missing", "not-a-string", "repeated"],
)
def test_record_with_bad_item_ids_is_refused(
    store: Store, items: list[dict[str, Any]]
) -> None:
    bad = StoredResponse(
        id="resp_1",
        owner="alice",
        response={},
        input_items=items,
        previous_response_id=None,
        created_at=0,
    )
    with pytest.raises(ValueError, match="id"):
        store.save_batch([bad])
    assert store.get("alice", "resp_1") is None


def test_chain_lists_ancestors_oldest_first_with_their_items(store: Store) -> None:
    saved = chain_of(store, 4)
    found = store.chain("alice", "resp_3")
    assert found == saved
    middle = store.chain("alice", "resp_1")
    assert middle == saved[:2]


def test_chain_stops_at_a_deleted_ancestor(store: Store) -> None:
    chain_of(store, 5)
    assert store.delete("alice", "resp_2") is True
    found = store.chain("alice", "resp_4")
    assert found is not None
    assert [r.id for r in found] == ["resp_3", "resp_4"]


def test_a_cycle_made_by_resaving_an_ancestor_ends(store: Store) -> None:
    store.save_batch([record("resp_a", previous="resp_b"), record("resp_b", previous="resp_a")])
    found = store.chain("alice", "resp_a")
    assert found is not None
    assert len(found) > 2  # bounded by MAX_CHAIN_DEPTH rather than looping forever


def test_readers_in_threads_run_beside_the_writer(store: Store) -> None:
    errors: list[BaseException] = []

    def read_until(stop: threading.Event) -> None:
        try:
            while not stop.is_set():
                found = store.chain("alice", "resp_0")
                assert found is None or found[0].id == "resp_0"
        except BaseException as exc:  # reported to the test thread below
            errors.append(exc)

    stop = threading.Event()
    readers = [threading.Thread(target=read_until, args=(stop,)) for _ in range(4)]
    for thread in readers:
        thread.start()
    try:
        for n in range(50):
            store.save_batch([record(f"resp_{n}", previous=f"resp_{n - 1}" if n else None)])
    finally:
        stop.set()
        for thread in readers:
            thread.join()
    assert errors == []
    found = store.chain("alice", "resp_49")
    assert found is not None
    assert len(found) == 50


@pytest.mark.parametrize("backend", FILE_BACKENDS)
def test_a_store_opened_again_keeps_the_data(backend: str, tmp_path: Path) -> None:
    with backend_url(backend, tmp_path) as url:
        first = open_store(url)
        saved = chain_of(first, 3)
        first.close()
        second = open_store(url)
        try:
            assert second.chain("alice", "resp_2") == saved
        finally:
            second.close()


@pytest.mark.parametrize("backend", FILE_BACKENDS)
def test_two_stores_on_one_database_see_each_others_writes(backend: str, tmp_path: Path) -> None:
    with backend_url(backend, tmp_path) as url:
        one, two = open_store(url), open_store(url)
        try:
            one.save_batch([record("resp_1")])
            two.save_batch([record("resp_2")])
            assert two.get("alice", "resp_1") is not None
            assert one.get("alice", "resp_2") is not None
        finally:
            one.close()
            two.close()
