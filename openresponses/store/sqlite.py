"""The SQLite response store: WAL, one writer connection, a small pool of reader connections.

Several processes may share one database file: WAL lets readers run beside the single writer,
and ``busy_timeout`` makes a writer wait for another process's transaction instead of failing.
Writes take the lock up front (``BEGIN IMMEDIATE``) so two writers never deadlock on upgrade.

Readers come from a pool rather than ``threading.local``: trio's worker threads exit after ten
idle seconds, and a connection per thread would then pile up until ``close``. A pooled
connection is used by one thread at a time (``check_same_thread=False``).

``:memory:`` opens a shared-cache in-memory database that every connection of this store sees;
shared-cache locks are table locks that ``busy_timeout`` does not cover, so in that mode every
call is serialized by one lock (it is for tests).
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson

from openresponses.keys import KeyRecord
from openresponses.store.base import (
    ChatCompletionsPage,
    ItemsPage,
    Order,
    StoredChatCompletion,
    StoredResponse,
    check_page_args,
    validate_record,
)
from openresponses.store.sqlite_chat import (
    CHAT_MIGRATION,
    DELETE_CHAT,
    GET_CHAT,
    UPDATE_CHAT_METADATA,
    chat_from_row,
    insert_chat,
    list_chats,
    page_messages,
)
from openresponses.store.sqlite_conversations import (
    CONVERSATIONS_MIGRATION,
    SqliteConversations,
)
from openresponses.store.sqlite_events import EVENTS_MIGRATION, SqliteEvents
from openresponses.store.sqlite_keys import (
    FIND_KEY,
    GET_KEY,
    KEYS_MIGRATION,
    LIST_KEYS,
    REVOKE_KEY,
    insert_key,
    key_from_row,
)

# Ordered schema migrations: applying MIGRATIONS[n] takes ``PRAGMA user_version`` from n to n+1.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE responses (
            id TEXT PRIMARY KEY,
            owner TEXT NOT NULL,
            previous_response_id TEXT,
            created_at INTEGER NOT NULL,
            body BLOB NOT NULL
        )""",
        "CREATE INDEX responses_owner_created ON responses (owner, created_at)",
        """CREATE TABLE input_items (
            response_id TEXT NOT NULL REFERENCES responses (id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            item_id TEXT NOT NULL,
            body BLOB NOT NULL,
            PRIMARY KEY (response_id, position)
        ) WITHOUT ROWID""",
        "CREATE UNIQUE INDEX input_items_item_id ON input_items (response_id, item_id)",
    ),
    CHAT_MIGRATION,  # version 2: stored chat completions (sqlite_chat.py)
    KEYS_MIGRATION,  # version 3: gateway keys (sqlite_keys.py)
    CONVERSATIONS_MIGRATION,  # version 4: conversations (sqlite_conversations.py)
    EVENTS_MIGRATION,  # version 5: background events, jobs, secrets (sqlite_events.py)
)
SCHEMA_VERSION = len(MIGRATIONS)
MAX_CHAIN_DEPTH = 10_000  # a guard against a cycle made by re-saving an ancestor, not a limit
_IDLE_READERS = 16

_UPSERT = """
INSERT INTO responses (id, owner, previous_response_id, created_at, body)
VALUES (?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET
    previous_response_id = excluded.previous_response_id,
    created_at = excluded.created_at,
    body = excluded.body
WHERE responses.owner = excluded.owner
"""

# Rows of the chain and of their input items in one statement: a response row has position -1
# and comes before its items; responses come oldest (deepest) first.
_CHAIN = """
WITH RECURSIVE chain (id, previous_response_id, created_at, body, depth) AS (
    SELECT id, previous_response_id, created_at, body, 0
    FROM responses WHERE id = :id AND owner = :owner
    UNION ALL
    SELECT r.id, r.previous_response_id, r.created_at, r.body, c.depth + 1
    FROM chain AS c JOIN responses AS r ON r.id = c.previous_response_id
    WHERE r.owner = :owner AND c.depth < :max_depth
)
SELECT c.depth, -1, c.id, c.previous_response_id, c.created_at, c.body FROM chain AS c
UNION ALL
SELECT c.depth, i.position, i.item_id, NULL, NULL, i.body
FROM chain AS c JOIN input_items AS i ON i.response_id = c.id
ORDER BY 1 DESC, 2 ASC
"""

_CURSOR = "(SELECT position FROM input_items WHERE response_id = :id AND item_id = :{name})"


class SqliteStore(SqliteConversations, SqliteEvents):
    """A ``Store`` on one SQLite database file (or a private in-memory database)."""

    def __init__(
        self,
        path: str,
        *,
        busy_timeout_ms: int = 5000,
        trace: Callable[[str], None] | None = None,
    ) -> None:
        """Open (creating if needed) the database at ``path`` and migrate it.

        ``trace``, if given, is called with every SQL statement run after connection setup.
        Raises ``RuntimeError`` if the file's schema is newer than this code knows.
        """
        self._memory = path == ":memory:"
        if self._memory:
            self._target = f"file:memdb_{uuid.uuid4().hex}?mode=memory&cache=shared"
            self._uri = True
        else:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            self._target, self._uri = path, False
        self._busy_timeout_ms = busy_timeout_ms
        self._trace = trace
        self._write_lock = threading.Lock()
        self._read_lock: contextlib.AbstractContextManager[Any] = (
            self._write_lock if self._memory else contextlib.nullcontext()
        )
        self._pool_lock = threading.Lock()
        self._idle: list[sqlite3.Connection] = []
        self._closed = False
        self._writer = self._connect()
        if not self._memory:
            self._writer.execute("PRAGMA journal_mode = WAL")
        with self._write_lock:
            _migrate(self._writer)

    # -- connections -------------------------------------------------------------------------

    def _connect(self, *, readonly: bool = False) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self._target,
            uri=self._uri,
            timeout=self._busy_timeout_ms / 1000,
            isolation_level=None,  # autocommit: transactions are explicit BEGIN / COMMIT
            check_same_thread=False,
        )
        conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_ms)}")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        if readonly:
            conn.execute("PRAGMA query_only = ON")
        if self._trace is not None:
            conn.set_trace_callback(self._trace)
        return conn

    @contextlib.contextmanager
    def _reader(self) -> Iterator[sqlite3.Connection]:
        with self._pool_lock:
            conn = self._idle.pop() if self._idle else None
        if conn is None:
            conn = self._connect(readonly=True)
        try:
            with self._read_lock:
                yield conn
        finally:
            with self._pool_lock:
                keep = not self._closed and len(self._idle) < _IDLE_READERS
                if keep:
                    self._idle.append(conn)
            if not keep:
                conn.close()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._write_lock:
            conn = self._writer
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    # -- Store -------------------------------------------------------------------------------

    def save_batch(self, records: Sequence[StoredResponse]) -> None:
        for record in records:
            validate_record(record)
        if not records:
            return
        with self._transaction() as conn:
            for record in records:
                _upsert(conn, record)

    def get(self, owner: str, response_id: str) -> StoredResponse | None:
        found = self._chain(owner, response_id, max_depth=0)
        return found[0] if found else None

    def delete(self, owner: str, response_id: str) -> bool:
        with self._transaction() as conn:
            cursor = conn.execute(
                "DELETE FROM responses WHERE id = ? AND owner = ?", (response_id, owner)
            )
            return cursor.rowcount > 0

    def chain(self, owner: str, response_id: str) -> list[StoredResponse] | None:
        return self._chain(owner, response_id, max_depth=MAX_CHAIN_DEPTH)

    def _chain(
        self, owner: str, response_id: str, *, max_depth: int
    ) -> list[StoredResponse] | None:
        params = {"id": response_id, "owner": owner, "max_depth": max_depth}
        with self._reader() as conn:
            rows = conn.execute(_CHAIN, params).fetchall()
        if not rows:
            return None
        chain: list[StoredResponse] = []
        for _depth, position, row_id, previous, created_at, body in rows:
            if position == -1:
                record = StoredResponse(
                    id=row_id,
                    owner=owner,
                    response=orjson.loads(body),
                    input_items=[],
                    previous_response_id=previous,
                    created_at=created_at,
                )
                chain.append(record)
            else:
                chain[-1].input_items.append(orjson.loads(body))
        return chain

    def input_items(
        self,
        owner: str,
        response_id: str,
        *,
        limit: int,
        order: Order,
        after: str | None,
        before: str | None,
    ) -> ItemsPage | None:
        check_page_args(limit, order)
        backwards = before is not None and after is None  # the page nearest the before-cursor
        sql = _page_sql(
            order, after=after is not None, before=before is not None, backwards=backwards
        )
        params = {"id": response_id, "owner": owner, "after": after, "before": before}
        with self._reader() as conn:
            rows = conn.execute(sql, {**params, "limit": limit + 1}).fetchall()
        if not rows:
            return None
        found = [(item_id, body) for item_id, body in rows if item_id is not None]
        has_more = len(found) > limit
        found = found[:limit]
        if backwards:
            found.reverse()
        data = [orjson.loads(body) for _, body in found]
        first_id = found[0][0] if found else None
        last_id = found[-1][0] if found else None
        return ItemsPage(data=data, first_id=first_id, last_id=last_id, has_more=has_more)

    # -- gateway keys (statements in sqlite_keys.py) -----------------------------------------

    def save_key(self, record: KeyRecord) -> None:
        with self._transaction() as conn:
            insert_key(conn, record)

    def find_key(self, key_hash: str) -> KeyRecord | None:
        with self._reader() as conn:
            row = conn.execute(FIND_KEY, (key_hash,)).fetchone()
        return key_from_row(row) if row else None

    def list_keys(self) -> list[KeyRecord]:
        with self._reader() as conn:
            return [key_from_row(row) for row in conn.execute(LIST_KEYS)]

    def revoke_key(self, key_id: str) -> KeyRecord | None:
        with self._transaction() as conn:
            conn.execute(REVOKE_KEY, (key_id,))
            row = conn.execute(GET_KEY, (key_id,)).fetchone()
        return key_from_row(row) if row else None

    # -- chat completions (statements in sqlite_chat.py) -------------------------------------

    def save_chat_completion(self, record: StoredChatCompletion) -> None:
        with self._transaction() as conn:
            insert_chat(conn, record)

    def get_chat_completion(self, owner: str, completion_id: str) -> StoredChatCompletion | None:
        with self._reader() as conn:
            row = conn.execute(GET_CHAT, (completion_id, owner)).fetchone()
        return chat_from_row(row) if row else None

    def list_chat_completions(
        self,
        owner: str,
        *,
        limit: int,
        order: Order,
        after: str | None,
        model: str | None,
        metadata: dict[str, str],
    ) -> ChatCompletionsPage:
        with self._reader() as conn:
            return list_chats(conn, owner, limit=limit, order=order, after=after, model=model,
                              metadata=metadata)

    def update_chat_completion(
        self, owner: str, completion_id: str, metadata: dict[str, str]
    ) -> StoredChatCompletion | None:
        with self._transaction() as conn:
            conn.execute(UPDATE_CHAT_METADATA,
                         (orjson.dumps(metadata).decode(), completion_id, owner))
            row = conn.execute(GET_CHAT, (completion_id, owner)).fetchone()
        return chat_from_row(row) if row else None

    def delete_chat_completion(self, owner: str, completion_id: str) -> bool:
        with self._transaction() as conn:
            return conn.execute(DELETE_CHAT, (completion_id, owner)).rowcount > 0

    def chat_messages(
        self, owner: str, completion_id: str, *, limit: int, order: Order, after: str | None
    ) -> ItemsPage | None:
        record = self.get_chat_completion(owner, completion_id)
        if record is None:
            return None
        return page_messages(record.messages, limit=limit, order=order, after=after)

    def close(self) -> None:
        with self._pool_lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()
        with self._write_lock:
            self._writer.close()


def _migrate(conn: sqlite3.Connection) -> None:
    """Bring the schema to ``SCHEMA_VERSION``, in one transaction (safe if processes race)."""
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


def _upsert(conn: sqlite3.Connection, record: StoredResponse) -> None:
    cursor = conn.execute(
        _UPSERT,
        (
            record.id,
            record.owner,
            record.previous_response_id,
            record.created_at,
            orjson.dumps(record.response),
        ),
    )
    if cursor.rowcount == 0:
        raise ValueError(f"response id {record.id} already belongs to another owner")
    conn.execute("DELETE FROM input_items WHERE response_id = ?", (record.id,))
    conn.executemany(
        "INSERT INTO input_items (response_id, position, item_id, body) VALUES (?, ?, ?, ?)",
        [
            (record.id, position, item["id"], orjson.dumps(item))
            for position, item in enumerate(record.input_items)
        ],
    )


def _page_sql(order: Order, *, after: bool, before: bool, backwards: bool) -> str:
    """The page query: the response row LEFT JOIN the items in range, ``limit`` + 1 of them.

    No row at all means the response is unknown for the owner; one row of NULLs, no items.
    """
    onward, back = (">", "<") if order == "asc" else ("<", ">")
    conditions = ""
    if after:
        conditions += f" AND i.position {onward} {_CURSOR.format(name='after')}"
    if before:
        conditions += f" AND i.position {back} {_CURSOR.format(name='before')}"
    direction = "ASC" if (order == "asc") != backwards else "DESC"
    return f"""
        SELECT i.item_id, i.body FROM responses AS r
        LEFT JOIN input_items AS i ON i.response_id = r.id{conditions}
        WHERE r.id = :id AND r.owner = :owner
        ORDER BY i.position {direction} LIMIT :limit
    """
