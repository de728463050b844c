"""Conversations in PostgreSQL: the schema (one migration) and ``PostgresConversations``, the
part of ``PostgresStore`` that implements ``ConversationStore``.

A conversation row (``metadata`` as JSONB) and its items, one row each, ordered by ``position``
and unique by ``item_id`` within the conversation. Items are deleted with their conversation
(``ON DELETE CASCADE``). Appending locks the conversation row first (``FOR UPDATE``), so two
processes appending at once take positions one after the other. Every statement is scoped by
``owner``.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from openresponses.store.base import ItemsPage, Order, check_page_args, items_page
from openresponses.store.conversations import Item, KnownItem, StoredConversation
from openresponses.store.postgres_pool import Connection, text

CONVERSATIONS_MIGRATION: tuple[str, ...] = (
    """CREATE TABLE conversations (
        id text PRIMARY KEY,
        owner text NOT NULL,
        created_at bigint NOT NULL,
        metadata jsonb NOT NULL
    )""",
    """CREATE TABLE conversation_items (
        conversation_id text NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
        position integer NOT NULL,
        item_id text NOT NULL,
        body jsonb NOT NULL,
        PRIMARY KEY (conversation_id, position)
    )""",
    """CREATE UNIQUE INDEX conversation_items_item_id
        ON conversation_items (conversation_id, item_id)""",
)

_GET = "SELECT id, owner, created_at, metadata FROM conversations WHERE id = %s AND owner = %s"
_EXISTS = "SELECT 1 FROM conversations WHERE id = %s AND owner = %s"
_LOCK = _EXISTS + " FOR UPDATE"
_CURSOR = ("(SELECT position FROM conversation_items"
           " WHERE conversation_id = %(id)s AND item_id = %(after)s)")


def _record(row: tuple[Any, ...]) -> StoredConversation:
    conversation_id, owner, created_at, metadata = row
    return StoredConversation(id=conversation_id, owner=owner, created_at=created_at,
                              metadata=metadata)


def _append(conn: Connection, conversation_id: str, items: Sequence[Item],
            refuse_known: bool = False) -> list[Item]:
    """Append the items whose id the conversation lacks (the row is locked); those added
    (``KnownItem`` for one it holds, with ``refuse_known``: the transaction rolls back)."""
    row = conn.execute(
        "SELECT COALESCE(MAX(position), -1) FROM conversation_items WHERE conversation_id = %s",
        (conversation_id,),
    ).fetchone()
    last = row[0] if row else -1
    added: list[Item] = []
    for item in items:
        cursor = conn.execute(
            "INSERT INTO conversation_items (conversation_id, position, item_id, body) "
            "VALUES (%s, %s, %s, %s) ON CONFLICT (conversation_id, item_id) DO NOTHING",
            (conversation_id, last + 1, text(item["id"]), Jsonb(item)),
        )
        if cursor.rowcount:
            last += 1
            added.append(item)
        elif refuse_known:
            raise KnownItem(item["id"])
    return added


class PostgresConversations:
    """``ConversationStore`` on the connections of ``PostgresStore`` (which defines them)."""

    def _transaction(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def _reader(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def create_conversation(self, record: StoredConversation, items: Sequence[Item]) -> None:
        with self._transaction() as conn:
            try:
                conn.execute(
                    "INSERT INTO conversations (id, owner, created_at, metadata) "
                    "VALUES (%s, %s, %s, %s)",
                    (record.id, record.owner, record.created_at, Jsonb(record.metadata)),
                )
            except psycopg.errors.UniqueViolation:
                raise ValueError(f"conversation {record.id} already exists") from None
            _append(conn, record.id, items)

    def get_conversation(self, owner: str, conversation_id: str) -> StoredConversation | None:
        with self._reader() as conn:
            row = conn.execute(_GET, (conversation_id, owner)).fetchone()
        return _record(row) if row else None

    def update_conversation(
        self, owner: str, conversation_id: str, metadata: dict[str, str]
    ) -> StoredConversation | None:
        with self._transaction() as conn:
            row = conn.execute(
                "UPDATE conversations SET metadata = %s WHERE id = %s AND owner = %s "
                "RETURNING id, owner, created_at, metadata",
                (Jsonb(metadata), conversation_id, owner),
            ).fetchone()
        return _record(row) if row else None

    def delete_conversation(self, owner: str, conversation_id: str) -> bool:
        with self._transaction() as conn:
            cursor = conn.execute("DELETE FROM conversations WHERE id = %s AND owner = %s",
                                  (conversation_id, owner))
            return cursor.rowcount > 0

    def add_conversation_items(
        self, owner: str, conversation_id: str, items: Sequence[Item], *,
        refuse_known: bool = False,
    ) -> list[Item] | None:
        with self._transaction() as conn:
            if conn.execute(_LOCK, (conversation_id, owner)).fetchone() is None:
                return None
            return _append(conn, conversation_id, items, refuse_known)

    def conversation_items(
        self, owner: str, conversation_id: str, *, limit: int, order: Order, after: str | None
    ) -> ItemsPage | None:
        check_page_args(limit, order)
        direction, compare = ("ASC", ">") if order == "asc" else ("DESC", "<")
        cursor = f" AND position {compare} {_CURSOR}" if after is not None else ""
        sql = (f"SELECT item_id, body FROM conversation_items WHERE conversation_id = %(id)s"
               f"{cursor} ORDER BY position {direction} LIMIT %(limit)s")
        with self._reader() as conn:
            if conn.execute(_EXISTS, (conversation_id, owner)).fetchone() is None:
                return None
            params = {"id": conversation_id, "after": after, "limit": limit + 1}
            rows = conn.execute(sql, params).fetchall()
        return items_page(rows, limit)

    def conversation_item(self, owner: str, conversation_id: str, item_id: str) -> Item | None:
        with self._reader() as conn:
            row = conn.execute(
                "SELECT i.body FROM conversation_items AS i JOIN conversations AS c "
                "ON c.id = i.conversation_id WHERE c.id = %s AND c.owner = %s "
                "AND i.item_id = %s",
                (conversation_id, owner, item_id),
            ).fetchone()
        item: Item | None = row[0] if row else None
        return item

    def delete_conversation_item(
        self, owner: str, conversation_id: str, item_id: str
    ) -> bool | None:
        with self._transaction() as conn:
            if conn.execute(_EXISTS, (conversation_id, owner)).fetchone() is None:
                return None
            cursor = conn.execute(
                "DELETE FROM conversation_items WHERE conversation_id = %s AND item_id = %s",
                (conversation_id, item_id),
            )
            return cursor.rowcount > 0

    def conversation_history(self, owner: str, conversation_id: str) -> list[Item] | None:
        with self._reader() as conn:
            row = conn.execute(
                "SELECT (SELECT COALESCE(jsonb_agg(i.body ORDER BY i.position), '[]'::jsonb) "
                "FROM conversation_items AS i WHERE i.conversation_id = c.id) "
                "FROM conversations AS c WHERE c.id = %s AND c.owner = %s",
                (conversation_id, owner),
            ).fetchone()
        history: list[Item] | None = row[0] if row else None
        return history
