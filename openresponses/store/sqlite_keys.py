"""Gateway key records in SQLite: the schema (one migration) and the statements.

Only the key's SHA-256 is stored (``hash``, unique: the look-up on every request in keys mode).
Rights (allowed globs and limits) are one JSON column, so adding a limit needs no migration.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import orjson

from openresponses.keys import KeyChange, KeyLimits, KeyRecord, key_rights

# Gap-tolerant (IF NOT EXISTS): correct whichever schema version ends up applying it.
KEYS_MIGRATION: tuple[str, ...] = (
    """CREATE TABLE IF NOT EXISTS gateway_keys (
        id TEXT PRIMARY KEY,
        hash TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        prefix TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER,
        revoked INTEGER NOT NULL DEFAULT 0,
        rights BLOB NOT NULL
    )""",
)

_COLUMNS = "id, hash, name, prefix, created_at, expires_at, revoked, rights"
FIND_KEY = f"SELECT {_COLUMNS} FROM gateway_keys WHERE hash = ?"
LIST_KEYS = f"SELECT {_COLUMNS} FROM gateway_keys ORDER BY created_at, rowid"
GET_KEY = f"SELECT {_COLUMNS} FROM gateway_keys WHERE id = ?"
REVOKE_KEY = "UPDATE gateway_keys SET revoked = 1 WHERE id = ?"
_UPDATE_KEY = "UPDATE gateway_keys SET name = ?, rights = ? WHERE id = ?"


def insert_key(conn: sqlite3.Connection, record: KeyRecord) -> None:
    """Insert ``record``; ``ValueError`` if its id or hash exists already."""
    try:
        conn.execute(
            f"INSERT INTO gateway_keys ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (record.id, record.hash, record.name, record.prefix, record.created_at,
             record.expires_at, int(record.revoked), orjson.dumps(key_rights(record))),
        )
    except sqlite3.IntegrityError:
        raise ValueError(f"key {record.id} already exists") from None


def update_key(conn: sqlite3.Connection, key_id: str, change: KeyChange) -> KeyRecord | None:
    """Make ``change`` to the key ``key_id`` inside the caller's write transaction (read and
    write under one lock, so concurrent changes to different fields both hold); the updated
    record, or None if there is no such key."""
    row = conn.execute(GET_KEY, (key_id,)).fetchone()
    if row is None:
        return None
    record = change.apply(key_from_row(row))
    conn.execute(_UPDATE_KEY, (record.name, orjson.dumps(key_rights(record)), key_id))
    return record


def key_from_row(row: tuple[Any, ...]) -> KeyRecord:
    key_id, key_hash, name, prefix, created_at, expires_at, revoked, rights = row
    data = orjson.loads(rights)
    return KeyRecord(
        id=key_id, hash=key_hash, name=name, prefix=prefix, created_at=created_at,
        expires_at=expires_at, revoked=bool(revoked), allowed=tuple(data.get("allowed", ())),
        limits=KeyLimits.from_dict(data.get("limits", {})),
    )
