"""Gateway key records in SQLite: the schema (one migration) and the statements.

Only the key's SHA-256 is stored (``hash``, unique: the look-up on every request in keys mode).
Rights (allowed globs and limits) are one JSON column, so adding a limit needs no migration.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import orjson

from openresponses.keys import KeyLimits, KeyRecord

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


def insert_key(conn: sqlite3.Connection, record: KeyRecord) -> None:
    """Insert ``record``; ``ValueError`` if its id or hash exists already."""
    rights = {"allowed": list(record.allowed), "limits": record.limits.to_dict()}
    try:
        conn.execute(
            f"INSERT INTO gateway_keys ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (record.id, record.hash, record.name, record.prefix, record.created_at,
             record.expires_at, int(record.revoked), orjson.dumps(rights)),
        )
    except sqlite3.IntegrityError:
        raise ValueError(f"key {record.id} already exists") from None


def key_from_row(row: tuple[Any, ...]) -> KeyRecord:
    key_id, key_hash, name, prefix, created_at, expires_at, revoked, rights = row
    data = orjson.loads(rights)
    return KeyRecord(
        id=key_id, hash=key_hash, name=name, prefix=prefix, created_at=created_at,
        expires_at=expires_at, revoked=bool(revoked), allowed=tuple(data.get("allowed", ())),
        limits=KeyLimits.from_dict(data.get("limits", {})),
    )
