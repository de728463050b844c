"""The PostgreSQL response store (``OPENRESPONSES_STORE=postgresql://…``), for several gateway
processes or machines sharing one database.

Opening the store migrates its schema (``postgres_migrations.py``) on a connection of its own,
then opens a connection pool (``postgres_pool.py``) that every call borrows from for one read or
one transaction; the storage actor calls the store from worker threads. Writes commit before
they return, and every read sees what was committed before it began: a save answered by the
storage actor is visible to any process's next read.

The statements live by concern: responses (``postgres_responses.py``), chat completions
(``postgres_chat.py``), keys (``postgres_keys.py``), conversations
(``postgres_conversations.py``), background events, jobs and secrets (``postgres_events.py``).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence

import psycopg

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
from openresponses.store.postgres_chat import (
    delete_chat,
    get_chat,
    insert_chat,
    list_chats,
    update_chat,
)
from openresponses.store.postgres_conversations import PostgresConversations
from openresponses.store.postgres_events import PostgresEvents
from openresponses.store.postgres_keys import (
    FIND_KEY,
    LIST_KEYS,
    REVOKE_KEY,
    insert_key,
    key_from_row,
    update_key,
)
from openresponses.store.postgres_migrations import migrate
from openresponses.store.postgres_pool import (
    Connection,
    PgConnections,
    StoreClosed,
    connect,
    conninfo_of,
    unavailable,
)
from openresponses.store.postgres_responses import (
    MAX_CHAIN_DEPTH,
    list_responses,
    load_chain,
    load_response,
    load_tip,
    page_items,
    save_batch,
)
from openresponses.store.sqlite_chat import page_messages


class PostgresStore(PostgresConversations, PostgresEvents):
    """A ``Store`` on one PostgreSQL schema (the URL's ``search_path``, else the default)."""

    def __init__(self, url: str, *, pool_size: int = 16, pool_timeout: float = 5.0) -> None:
        """Connect, migrate the schema to this code's version, and open the pool.

        ``pool_timeout``: seconds a call waits for a connection before ``StoreUnavailable``.
        Raises ``StoreUnavailable`` if the server cannot be reached, ``RuntimeError`` if the
        schema is newer than this code knows, ``ValueError`` for a malformed URL; no message
        contains the URL.
        """
        conninfo, self.schema = conninfo_of(url)
        self.version = migrate_url(url)
        self._connections = PgConnections(conninfo, size=pool_size, timeout=pool_timeout)
        self._closed = threading.Event()

    # -- connections (for the mixins too) ----------------------------------------------------

    @contextlib.contextmanager
    def _reader(self) -> Iterator[Connection]:
        self._check_open()
        with self._connections.reader() as conn:
            yield conn

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[Connection]:
        self._check_open()
        with self._connections.transaction() as conn:
            yield conn

    def _check_open(self) -> None:
        if self._closed.is_set():
            raise StoreClosed("the postgresql store is closed")

    # -- responses (statements in postgres_responses.py) -------------------------------------

    def save_batch(self, records: Sequence[StoredResponse]) -> None:
        for record in records:
            validate_record(record)
        if not records:
            return
        with self._transaction() as conn:
            save_batch(conn, records)

    def get(self, owner: str, response_id: str) -> StoredResponse | None:
        with self._reader() as conn:
            return load_response(conn, owner, response_id)

    def tip(self, owner: str, response_id: str) -> Tip | None:
        with self._reader() as conn:
            return load_tip(conn, owner, response_id)

    def delete(self, owner: str, response_id: str) -> bool:
        with self._transaction() as conn:
            cursor = conn.execute("DELETE FROM responses WHERE id = %s AND owner = %s",
                                  (response_id, owner))
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
        with self._reader() as conn:
            return list_responses(conn, owner, limit=limit, order=order, after=after,
                                  model=model, status=status, metadata=metadata)

    # -- gateway keys (statements in postgres_keys.py) ---------------------------------------

    def save_key(self, record: KeyRecord) -> None:
        with self._transaction() as conn:
            insert_key(conn, record)

    def find_key(self, key_hash: str) -> KeyRecord | None:
        with self._reader() as conn:
            row = conn.execute(FIND_KEY, (key_hash,)).fetchone()
        return key_from_row(row) if row else None

    def list_keys(self) -> list[KeyRecord]:
        with self._reader() as conn:
            rows = conn.execute(LIST_KEYS).fetchall()
        return [key_from_row(row) for row in rows]

    def revoke_key(self, key_id: str) -> KeyRecord | None:
        with self._transaction() as conn:
            row = conn.execute(REVOKE_KEY, (key_id,)).fetchone()
        return key_from_row(row) if row else None

    def update_key(self, key_id: str, change: KeyChange) -> KeyRecord | None:
        with self._transaction() as conn:
            return update_key(conn, key_id, change)

    # -- chat completions (statements in postgres_chat.py) -----------------------------------

    def save_chat_completion(self, record: StoredChatCompletion) -> None:
        with self._transaction() as conn:
            insert_chat(conn, record)

    def get_chat_completion(self, owner: str, completion_id: str) -> StoredChatCompletion | None:
        with self._reader() as conn:
            return get_chat(conn, owner, completion_id)

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
            return update_chat(conn, owner, completion_id, metadata)

    def delete_chat_completion(self, owner: str, completion_id: str) -> bool:
        with self._transaction() as conn:
            return delete_chat(conn, owner, completion_id)

    def chat_messages(
        self, owner: str, completion_id: str, *, limit: int, order: Order, after: str | None
    ) -> ItemsPage | None:
        record = self.get_chat_completion(owner, completion_id)
        if record is None:
            return None
        return page_messages(record.messages, limit=limit, order=order, after=after)

    def close(self) -> None:
        if not self._closed.is_set():
            self._closed.set()
            self._connections.close()


def migrate_url(url: str) -> int:
    """Migrate the schema ``url`` names to this code's version; that version. Raises like
    ``PostgresStore``."""
    conninfo, schema = conninfo_of(url)
    with contextlib.closing(connect(conninfo)) as conn:
        try:
            return migrate(conn, schema)
        except psycopg.OperationalError as exc:
            raise unavailable(exc) from None
