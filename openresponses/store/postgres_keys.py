"""Gateway key records in PostgreSQL: the schema (one migration) and the statements.

Only the key's SHA-256 is stored (``hash``, unique: the look-up on every request in keys mode).
Rights (allowed globs and limits) are one JSONB column, so adding a limit needs no migration.
``seq`` keeps the insertion order among keys created in the same second.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from openresponses.keys import KeyChange, KeyLimits, KeyRecord, key_rights
from openresponses.store.postgres_pool import Connection

KEYS_MIGRATION: tuple[str, ...] = (
    """CREATE TABLE gateway_keys (
        seq bigint GENERATED ALWAYS AS IDENTITY,
        id text PRIMARY KEY,
        hash text NOT NULL UNIQUE,
        name text NOT NULL,
        prefix text NOT NULL,
        created_at bigint NOT NULL,
        expires_at bigint,
        revoked boolean NOT NULL DEFAULT false,
        rights jsonb NOT NULL
    )""",
)

_COLUMNS = "id, hash, name, prefix, created_at, expires_at, revoked, rights"
FIND_KEY = f"SELECT {_COLUMNS} FROM gateway_keys WHERE hash = %s"
LIST_KEYS = f"SELECT {_COLUMNS} FROM gateway_keys ORDER BY created_at, seq"
REVOKE_KEY = f"UPDATE gateway_keys SET revoked = true WHERE id = %s RETURNING {_COLUMNS}"
_LOCK_KEY = f"SELECT {_COLUMNS} FROM gateway_keys WHERE id = %s FOR UPDATE"
_UPDATE_KEY = "UPDATE gateway_keys SET name = %s, rights = %s WHERE id = %s"


def insert_key(conn: Connection, record: KeyRecord) -> None:
    """Insert ``record``; ``ValueError`` if its id or hash exists already."""
    try:
        conn.execute(
            f"INSERT INTO gateway_keys ({_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            (record.id, record.hash, record.name, record.prefix, record.created_at,
             record.expires_at, record.revoked, Jsonb(key_rights(record))),
        )
    except psycopg.errors.UniqueViolation:
        raise ValueError(f"key {record.id} already exists") from None


def update_key(conn: Connection, key_id: str, change: KeyChange) -> KeyRecord | None:
    """Make ``change`` to the key ``key_id`` inside the caller's transaction (the row is locked
    between read and write, so concurrent changes to different fields both hold); the updated
    record, or None if there is no such key."""
    row = conn.execute(_LOCK_KEY, (key_id,)).fetchone()
    if row is None:
        return None
    record = change.apply(key_from_row(row))
    conn.execute(_UPDATE_KEY, (record.name, Jsonb(key_rights(record)), key_id))
    return record


def key_from_row(row: tuple[Any, ...]) -> KeyRecord:
    key_id, key_hash, name, prefix, created_at, expires_at, revoked, rights = row
    return KeyRecord(
        id=key_id, hash=key_hash, name=name, prefix=prefix, created_at=created_at,
        expires_at=expires_at, revoked=bool(revoked), allowed=tuple(rights.get("allowed", ())),
        limits=KeyLimits.from_dict(rights.get("limits", {})),
    )
