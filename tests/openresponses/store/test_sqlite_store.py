"""What only the SQLite store does: its schema version pragma, WAL, statement tracing, private
in-memory databases."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from openresponses.store.sqlite import MIGRATIONS, SCHEMA_VERSION, SqliteStore
from openresponses.store.sqlite_responses import upsert_batch
from tests.openresponses.store.samples import chain_of, record


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


def test_in_memory_stores_are_separate() -> None:
    one, two = SqliteStore(":memory:"), SqliteStore(":memory:")
    try:
        one.save_batch([record("resp_1")])
        assert one.get("alice", "resp_1") is not None
        assert two.get("alice", "resp_1") is None
    finally:
        one.close()
        two.close()


def test_a_version_5_database_gets_the_deletion_count_and_keeps_its_responses(
    tmp_path: Path,
) -> None:
    path = tmp_path / "store.db"
    conn = sqlite3.connect(path, isolation_level=None)
    for statements in MIGRATIONS[:5]:
        for statement in statements:
            conn.execute(statement)
    conn.execute("PRAGMA user_version = 5")
    conn.execute("BEGIN")
    upsert_batch(conn, [record("resp_0", items=1), record("resp_1", previous="resp_0")])
    conn.execute("COMMIT")
    conn.close()
    store = SqliteStore(str(path))
    try:
        tip = store.tip("alice", "resp_1")
        assert tip is not None
        assert (tip.record, tip.deletions) == (record("resp_1", previous="resp_0"), 0)
        assert store.delete("alice", "resp_0")
        tip = store.tip("alice", "resp_1")
        assert tip is not None
        assert tip.deletions == 1
    finally:
        store.close()
