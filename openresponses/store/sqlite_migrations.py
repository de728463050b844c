"""Versioned schema migrations for the SQLite store.

``MIGRATIONS[n]`` takes ``PRAGMA user_version`` from n to n+1. Every migration left to apply
runs in one ``BEGIN IMMEDIATE`` transaction together with the version bump, so processes that
open one database file at once apply each migration once: the second waits for the writer lock
and then finds nothing left to do.

Run when a store opens, and by ``openresponses migrate``.
"""

from __future__ import annotations

import sqlite3
import time

from openresponses.store.sqlite_chat import CHAT_MIGRATION
from openresponses.store.sqlite_conversations import CONVERSATIONS_MIGRATION
from openresponses.store.sqlite_events import EVENTS_MIGRATION
from openresponses.store.sqlite_keys import KEYS_MIGRATION
from openresponses.store.sqlite_responses import DELETIONS_MIGRATION, RESPONSES_MIGRATION

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    RESPONSES_MIGRATION,  # version 1: responses and their input items (sqlite_responses.py)
    CHAT_MIGRATION,  # version 2: stored chat completions (sqlite_chat.py)
    KEYS_MIGRATION,  # version 3: gateway keys (sqlite_keys.py)
    CONVERSATIONS_MIGRATION,  # version 4: conversations (sqlite_conversations.py)
    EVENTS_MIGRATION,  # version 5: background events, jobs, secrets (sqlite_events.py)
    DELETIONS_MIGRATION,  # version 6: the count of responses deleted (sqlite_responses.py)
)
SCHEMA_VERSION = len(MIGRATIONS)
_WAL_RETRY_S = 0.01


def enable_wal(conn: sqlite3.Connection, timeout_s: float) -> None:
    """Switch the database file to WAL, retrying for up to ``timeout_s`` while it is locked.

    Processes opening a new file together (``serve --workers N``) switch it together, and the
    loser of that race can get "database is locked" at once: SQLite does not always call the
    busy handler here (seen in 2-13 of 300 simultaneous opens before this retry; a worker
    whose open fails exits at start).
    """
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            message = str(exc)
            if ("locked" not in message and "busy" not in message) or (
                    time.monotonic() >= deadline):
                raise
        time.sleep(_WAL_RETRY_S)


def migrate(conn: sqlite3.Connection) -> None:
    """Bring the schema to ``SCHEMA_VERSION``, in one transaction (safe if processes race).

    ``conn`` must be in autocommit mode (``isolation_level=None``). Raises ``RuntimeError`` if
    the file's schema is newer than this code knows.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        (version,) = conn.execute("PRAGMA user_version").fetchone()
        if version > SCHEMA_VERSION:
            raise RuntimeError(
                f"store schema version {version} is newer than this gateway's ({SCHEMA_VERSION})"
            )
        for number, statements in enumerate(MIGRATIONS[version:], start=version + 1):
            for statement in statements:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number}")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
