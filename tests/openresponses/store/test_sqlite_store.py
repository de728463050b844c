"""The SQLite store: round trips, owner isolation, chains, upserts, durability, schema."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from openresponses.store.base import StoredResponse
from openresponses.store.sqlite import SCHEMA_VERSION, SqliteStore


def record(
    response_id: str,
    *,
    owner: str = "alice",
    previous: str | None = None,
    items: int = 2,
    status: str = "completed",
) -> StoredResponse:
    """A response with ``items`` input items whose ids derive from the response id."""
    return StoredResponse(
        id=response_id,
        owner=owner,
        response={"id": response_id, "object": "response", "status": status, "output": []},
        input_items=[
            {"id": f"{response_id}_item{n}", "type": "message", "role": "user", "content": "hi"}
            for n in range(items)
        ],
        previous_response_id=previous,
        created_at=1_700_000_000,
    )


def chain_of(store: SqliteStore, length: int, *, owner: str = "alice") -> list[StoredResponse]:
    """Save ``length`` responses, each following the one before, in one batch."""
    records: list[StoredResponse] = []
    for n in range(length):
        previous = records[-1].id if records else None
        records.append(record(f"resp_{n}", owner=owner, previous=previous, items=1))
    store.save_batch(records)
    return records


@pytest.fixture(params=["memory", "file"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqliteStore]:
    path = ":memory:" if request.param == "memory" else str(tmp_path / "store.db")
    opened = SqliteStore(path)
    yield opened
    opened.close()


def test_saved_response_reads_back_equal(store: SqliteStore) -> None:
    saved = record("resp_1", previous=None, items=3)
    store.save_batch([saved])
    assert store.get("alice", "resp_1") == saved


def test_unknown_response_is_none(store: SqliteStore) -> None:
    assert store.get("alice", "resp_missing") is None
    assert store.chain("alice", "resp_missing") is None
    page = store.input_items("alice", "resp_missing", limit=5, order="asc", after=None, before=None)
    assert page is None
    assert store.delete("alice", "resp_missing") is False


def test_another_owners_response_is_invisible_to_every_method(store: SqliteStore) -> None:
    store.save_batch([record("resp_1", owner="alice")])
    assert store.get("mallory", "resp_1") is None
    assert store.chain("mallory", "resp_1") is None
    page = store.input_items("mallory", "resp_1", limit=5, order="asc", after=None, before=None)
    assert page is None
    assert store.delete("mallory", "resp_1") is False
    assert store.get("alice", "resp_1") is not None  # the failed delete removed nothing


def test_chain_does_not_cross_into_another_owners_ancestor(store: SqliteStore) -> None:
    store.save_batch([record("resp_0", owner="mallory"), record("resp_1", previous="resp_0")])
    found = store.chain("alice", "resp_1")
    assert found is not None
    assert [r.id for r in found] == ["resp_1"]


def test_delete_removes_the_response_and_its_items(store: SqliteStore) -> None:
    store.save_batch([record("resp_1"), record("resp_2")])
    assert store.delete("alice", "resp_1") is True
    assert store.get("alice", "resp_1") is None
    assert (
        store.input_items("alice", "resp_1", limit=5, order="asc", after=None, before=None) is None
    )
    assert store.delete("alice", "resp_1") is False
    assert store.get("alice", "resp_2") is not None


def test_saving_again_replaces_the_response_and_its_items(store: SqliteStore) -> None:
    store.save_batch([record("resp_1", status="queued", items=3)])
    store.save_batch([record("resp_1", status="completed", items=1)])
    found = store.get("alice", "resp_1")
    assert found is not None
    assert found.response["status"] == "completed"
    assert [item["id"] for item in found.input_items] == ["resp_1_item0"]


def test_later_record_of_a_batch_wins(store: SqliteStore) -> None:
    store.save_batch([record("resp_1", status="in_progress"), record("resp_1", status="failed")])
    found = store.get("alice", "resp_1")
    assert found is not None
    assert found.response["status"] == "failed"


def test_saving_over_another_owners_id_is_refused(store: SqliteStore) -> None:
    store.save_batch([record("resp_1", owner="alice", status="completed")])
    with pytest.raises(ValueError, match="another owner"):
        store.save_batch([record("resp_1", owner="mallory", status="hijacked")])
    found = store.get("alice", "resp_1")
    assert found is not None
    assert found.response["status"] == "completed"
    assert store.get("mallory", "resp_1") is None


def test_failed_batch_stores_nothing(store: SqliteStore) -> None:
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
    store: SqliteStore, items: list[dict[str, Any]]
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


def test_chain_lists_ancestors_oldest_first_with_their_items(store: SqliteStore) -> None:
    saved = chain_of(store, 4)
    found = store.chain("alice", "resp_3")
    assert found == saved
    middle = store.chain("alice", "resp_1")
    assert middle == saved[:2]


def test_chain_of_200_turns_is_one_statement(tmp_path: Path) -> None:
    statements: list[str] = []
    store = SqliteStore(str(tmp_path / "deep.db"), trace=statements.append)
    try:
        saved = chain_of(store, 200)
        store.get("alice", "resp_0")  # opens a reader connection before counting
        statements.clear()
        found = store.chain("alice", "resp_199")
        assert found == saved
        assert len(statements) == 1
        assert "WITH RECURSIVE" in statements[0]
    finally:
        store.close()


def test_chain_stops_at_a_deleted_ancestor(store: SqliteStore) -> None:
    chain_of(store, 5)
    assert store.delete("alice", "resp_2") is True
    found = store.chain("alice", "resp_4")
    assert found is not None
    assert [r.id for r in found] == ["resp_3", "resp_4"]


def test_a_cycle_made_by_resaving_an_ancestor_ends(store: SqliteStore) -> None:
    store.save_batch([record("resp_a", previous="resp_b"), record("resp_b", previous="resp_a")])
    found = store.chain("alice", "resp_a")
    assert found is not None
    assert len(found) > 2  # bounded by MAX_CHAIN_DEPTH rather than looping forever


def test_file_database_keeps_data_when_reopened(tmp_path: Path) -> None:
    path = str(tmp_path / "nested" / "dir" / "store.db")
    first = SqliteStore(path)
    saved = chain_of(first, 3)
    first.close()
    second = SqliteStore(path)
    try:
        assert second.chain("alice", "resp_2") == saved
    finally:
        second.close()


def test_file_database_records_schema_version_and_uses_wal(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    SqliteStore(str(path)).close()
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    finally:
        conn.close()


def test_database_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    SqliteStore(str(path)).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(RuntimeError, match="newer"):
        SqliteStore(str(path))


def test_two_stores_on_one_file_see_each_others_writes(tmp_path: Path) -> None:
    path = str(tmp_path / "shared.db")
    one, two = SqliteStore(path), SqliteStore(path)
    try:
        one.save_batch([record("resp_1")])
        two.save_batch([record("resp_2")])
        assert two.get("alice", "resp_1") is not None
        assert one.get("alice", "resp_2") is not None
    finally:
        one.close()
        two.close()


def test_in_memory_stores_are_separate() -> None:
    one, two = SqliteStore(":memory:"), SqliteStore(":memory:")
    try:
        one.save_batch([record("resp_1")])
        assert one.get("alice", "resp_1") is not None
        assert two.get("alice", "resp_1") is None
    finally:
        one.close()
        two.close()


def test_readers_in_threads_run_beside_the_writer(store: SqliteStore) -> None:
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
