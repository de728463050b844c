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

The statements live by concern: responses (``sqlite_responses.py``, the console's listing in
``sqlite_listing.py``), chat completions (``sqlite_chat.py``), keys (``sqlite_keys.py``),
conversations (``sqlite_conversations.py``), background events, jobs and secrets
(``sqlite_events.py``); the schema versions in ``sqlite_migrations.py``.
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

from openresponses.keys import KeyChange, KeyRecord
from openresponses.store.base import (
    ChatCompletionsPage,
    ItemsPage,
    Order,
    ResponsesPage,
    StoredChatCompletion,
    StoredResponse,
    Tip,
    validate_record,
)
from openresponses.store.sqlite_chat import (
    DELETE_CHAT,
    GET_CHAT,
    UPDATE_CHAT_METADATA,
    chat_from_row,
    insert_chat,
    list_chats,
    page_messages,
)
from openresponses.store.sqlite_conversations import SqliteConversations
from openresponses.store.sqlite_events import SqliteEvents
from openresponses.store.sqlite_keys import (
    FIND_KEY,
    GET_KEY,
    LIST_KEYS,
    REVOKE_KEY,
    insert_key,
    key_from_row,
    update_key,
)
from openresponses.store.sqlite_listing import list_responses
from openresponses.store.sqlite_migrations import MIGRATIONS as MIGRATIONS
from openresponses.store.sqlite_migrations import SCHEMA_VERSION as SCHEMA_VERSION
from openresponses.store.sqlite_migrations import enable_wal, migrate
from openresponses.store.sqlite_responses import MAX_CHAIN_DEPTH as MAX_CHAIN_DEPTH
from openresponses.store.sqlite_responses import (
    load_chain,
    load_response,
    load_tip,
    page_items,
    upsert_batch,
)

_IDLE_READERS = 16


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
            enable_wal(self._writer, self._busy_timeout_ms / 1000)
        with self._write_lock:
            migrate(self._writer)

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

    # -- responses (statements in sqlite_responses.py) ---------------------------------------

    def save_batch(self, records: Sequence[StoredResponse]) -> None:
        for record in records:
            validate_record(record)
        if not records:
            return
        with self._transaction() as conn:
            upsert_batch(conn, records)

    def get(self, owner: str, response_id: str) -> StoredResponse | None:
        with self._reader() as conn:
            return load_response(conn, owner, response_id)

    def tip(self, owner: str, response_id: str) -> Tip | None:
        with self._reader() as conn:
            return load_tip(conn, owner, response_id)

    def delete(self, owner: str, response_id: str) -> bool:
        with self._transaction() as conn:
            cursor = conn.execute(
                "DELETE FROM responses WHERE id = ? AND owner = ?", (response_id, owner)
            )
            return cursor.rowcount > 0

    def chain(self, owner: str, response_id: str) -> list[StoredResponse] | None:
        with self._reader() as conn:
            return load_chain(conn, owner, response_id, max_depth=MAX_CHAIN_DEPTH)

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
        with self._reader() as conn:
            return page_items(conn, owner, response_id, limit=limit, order=order, after=after,
                              before=before)

    def list_responses(
        self,
        owner: str,
        *,
        limit: int,
        order: Order,
        after: str | None,
        model: str | None,
        status: str | None,
        metadata: dict[str, str],
    ) -> ResponsesPage:
        with self._reader() as conn:  # the statement is in sqlite_listing.py
            return list_responses(conn, owner, limit=limit, order=order, after=after,
                                  model=model, status=status, metadata=metadata)

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

    def update_key(self, key_id: str, change: KeyChange) -> KeyRecord | None:
        with self._transaction() as conn:
            return update_key(conn, key_id, change)

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

