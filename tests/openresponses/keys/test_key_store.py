"""Key records in the SQLite store and through the storage actor; the schema migration."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from actors.testing import started
from openresponses.gateway.storage import (
    FindKey,
    ListKeys,
    RevokeKey,
    SaveKey,
    StorageActor,
    UpdateKey,
)
from openresponses.keys import KeyChange, KeyLimits, new_key
from openresponses.store.sqlite import MIGRATIONS, SCHEMA_VERSION, SqliteStore


def test_saved_keys_are_found_by_hash_listed_and_revoked(tmp_path: Path) -> None:
    store = SqliteStore(str(tmp_path / "keys.db"))
    try:
        _, first = new_key(name="alice", created_at=1, allowed=("groq@*", "anthropic"),
                           limits=KeyLimits(requests_per_day=5, tokens_per_minute=1000),
                           expires_at=99)
        _, second = new_key(name="bob", created_at=2)
        store.save_key(first)
        store.save_key(second)
        assert store.find_key(first.hash) == first
        assert store.find_key("no-such-hash") is None
        assert [r.name for r in store.list_keys()] == ["alice", "bob"]
        revoked = store.revoke_key(first.id)
        assert revoked is not None
        assert revoked.revoked
        assert store.revoke_key(first.id) == revoked  # idempotent
        assert store.revoke_key("key_unknown") is None
        found = store.find_key(first.hash)
        assert found is not None
        assert found.revoked
    finally:
        store.close()


def test_the_key_itself_is_nowhere_in_the_database(tmp_path: Path) -> None:
    path = tmp_path / "keys.db"
    store = SqliteStore(str(path))
    key, record = new_key(name="secret-holder", created_at=1)
    store.save_key(record)
    store.close()
    assert key.encode() not in path.read_bytes()
    assert key[3:].encode() not in path.read_bytes()


def test_a_taken_id_or_hash_is_refused(tmp_path: Path) -> None:
    store = SqliteStore(str(tmp_path / "keys.db"))
    try:
        _, record = new_key(name="a", created_at=1)
        store.save_key(record)
        with pytest.raises(ValueError, match="already exists"):
            store.save_key(record)
    finally:
        store.close()


def test_a_database_of_version_one_is_migrated_to_the_current_schema(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    for statement in MIGRATIONS[0]:
        conn.execute(statement)
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    store = SqliteStore(str(path))
    try:
        _, record = new_key(name="after-upgrade", created_at=1)
        store.save_key(record)
        assert store.find_key(record.hash) == record
    finally:
        store.close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
    conn.close()
    assert SCHEMA_VERSION >= 3


async def test_storage_actor_serves_key_messages() -> None:
    async with started(lambda: StorageActor(lambda: SqliteStore(":memory:"))) as storage:
        _, record = new_key(name="alice", created_at=1)
        await storage.ask(SaveKey(record))
        assert await storage.ask(FindKey(record.hash)) == record
        assert await storage.ask(ListKeys()) == [record]
        updated = await storage.ask(UpdateKey(record.id, KeyChange(name="alice-2")))
        assert updated is not None
        assert await storage.ask(FindKey(record.hash)) == updated
        assert updated.name == "alice-2"
        assert await storage.ask(UpdateKey("key_unknown", KeyChange(name="x"))) is None
        revoked = await storage.ask(RevokeKey(record.id))
        assert revoked is not None
        assert revoked.revoked
        with pytest.raises(ValueError, match="already exists"):
            await storage.ask(SaveKey(record))
