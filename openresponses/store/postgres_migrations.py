"""Versioned schema migrations for the PostgreSQL store.

``MIGRATIONS[n]`` takes the schema from version n to n+1. The applied versions are rows of
``schema_migrations`` in the target schema (the first of the URL's ``search_path``, created if
missing). Each migration runs in its own transaction together with its row, so it is applied
once, in order, or not at all. Every transaction first takes a transaction-scoped advisory lock
keyed on the schema name: two gateways starting at once apply each migration once, the second
waiting for the first and then finding nothing left to do.

Run when a store opens, and by ``openresponses migrate``.
"""

from __future__ import annotations

from psycopg import sql

from openresponses.store.postgres_chat import CHAT_MIGRATION
from openresponses.store.postgres_conversations import CONVERSATIONS_MIGRATION
from openresponses.store.postgres_events import EVENTS_MIGRATION
from openresponses.store.postgres_keys import KEYS_MIGRATION
from openresponses.store.postgres_pool import Connection
from openresponses.store.postgres_responses import DELETIONS_MIGRATION, RESPONSES_MIGRATION

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    RESPONSES_MIGRATION,  # version 1: responses and their input items (postgres_responses.py)
    CHAT_MIGRATION,  # version 2: stored chat completions (postgres_chat.py)
    KEYS_MIGRATION,  # version 3: gateway keys (postgres_keys.py)
    CONVERSATIONS_MIGRATION,  # version 4: conversations (postgres_conversations.py)
    EVENTS_MIGRATION,  # version 5: background events, jobs, secrets (postgres_events.py)
    DELETIONS_MIGRATION,  # version 6: the count of responses deleted (postgres_responses.py)
)
SCHEMA_VERSION = len(MIGRATIONS)

_TABLE = """CREATE TABLE IF NOT EXISTS schema_migrations (
    version integer PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT clock_timestamp()
)"""


def migrate(conn: Connection, schema: str | None) -> int:
    """Bring ``schema`` (None: the connection's current schema) to ``SCHEMA_VERSION``; the
    version it is at. Raises ``RuntimeError`` if the schema is newer than this code knows.

    ``conn`` must be in autocommit mode; each migration is one transaction.
    """
    while True:
        with conn.transaction():
            version = _locked_version(conn, schema)
            if version > SCHEMA_VERSION:
                raise RuntimeError(f"store schema version {version} is newer than this "
                                   f"gateway's ({SCHEMA_VERSION})")
            if version == SCHEMA_VERSION:
                return version
            for statement in MIGRATIONS[version]:
                conn.execute(statement)
            conn.execute("INSERT INTO schema_migrations (version) VALUES (%s)", (version + 1,))


def schema_version(conn: Connection, schema: str | None) -> int:
    """The schema's version (0 for none), taking the migration lock like ``migrate``."""
    with conn.transaction():
        return _locked_version(conn, schema)


def _locked_version(conn: Connection, schema: str | None) -> int:
    """Take the schema's migration lock (until the transaction ends), make sure the schema and
    its migrations table exist, and read the version applied last."""
    if schema is None:
        row = conn.execute("SELECT current_schema()").fetchone()
        schema = row[0] if row and row[0] else "public"
    conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"openresponses:{schema}",))
    if conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone() is None:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    conn.execute(sql.SQL("SET LOCAL search_path TO {}").format(sql.Identifier(schema)))
    conn.execute(_TABLE)
    row = conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").fetchone()
    return int(row[0]) if row else 0
