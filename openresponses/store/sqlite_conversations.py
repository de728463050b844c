"""Conversations in SQLite: the schema (one migration) and ``SqliteConversations``, the part of
``SqliteStore`` that implements ``ConversationStore``.

A conversation row (``metadata`` as JSON text) and its items, one row each, ordered by
``position`` and unique by ``item_id`` within the conversation. Items are deleted with their
conversation (``ON DELETE CASCADE``). Every statement is scoped by ``owner``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

import orjson

from openresponses.store.base import ItemsPage, Order, check_page_args, items_page
from openresponses.store.conversations import Item, KnownItem, StoredConversation

# Gap-tolerant (IF NOT EXISTS): correct whichever schema version ends up applying it.
CONVERSATIONS_MIGRATION: tuple[str, ...] = (
    """CREATE TABLE IF NOT EXISTS conversations (
        id TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        metadata TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS conversation_items (
        conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        item_id TEXT NOT NULL,
        body BLOB NOT NULL,
        PRIMARY KEY (conversation_id, position)
    ) WITHOUT ROWID""",
    """CREATE UNIQUE INDEX IF NOT EXISTS conversation_items_item_id
        ON conversation_items (conversation_id, item_id)""",
)

_GET = "SELECT id, owner, created_at, metadata FROM conversations WHERE id = ? AND owner = ?"
_EXISTS = "SELECT 1 FROM conversations WHERE id = ? AND owner = ?"
_ITEMS = "SELECT item_id, body FROM conversation_items WHERE conversation_id = ?"
_CURSOR = ("(SELECT position FROM conversation_items"
           " WHERE conversation_id = :id AND item_id = :after)")


def _record(row: tuple[Any, ...]) -> StoredConversation:
    conversation_id, owner, created_at, metadata = row
    return StoredConversation(id=conversation_id, owner=owner, created_at=created_at,
                              metadata=orjson.loads(metadata))


def _append(conn: sqlite3.Connection, conversation_id: str, items: Sequence[Item],
            refuse_known: bool = False) -> list[Item]:
    """Append the items whose id the conversation lacks; the items added (``KnownItem`` for
    one it holds, with ``refuse_known``: the caller's transaction rolls back)."""
    (last,) = conn.execute(
        "SELECT COALESCE(MAX(position), -1) FROM conversation_items WHERE conversation_id = ?",
        (conversation_id,),
    ).fetchone()
    added: list[Item] = []
    for item in items:
        cursor = conn.execute(
            "INSERT OR IGNORE INTO conversation_items (conversation_id, position, item_id, body) "
            "VALUES (?, ?, ?, ?)",
            (conversation_id, last + 1, item["id"], orjson.dumps(item)),
        )
        if cursor.rowcount:
            last += 1
            added.append(item)
        elif refuse_known:
            raise KnownItem(item["id"])
    return added


class SqliteConversations:
    """``ConversationStore`` on the connections of ``SqliteStore`` (which defines them)."""

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError

    def _reader(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError

    def create_conversation(self, record: StoredConversation, items: Sequence[Item]) -> None:
        with self._transaction() as conn:
            try:
                conn.execute(
                    "INSERT INTO conversations (id, owner, created_at, metadata) "
                    "VALUES (?, ?, ?, ?)",
                    (record.id, record.owner, record.created_at,
                     orjson.dumps(record.metadata).decode()),
                )
            except sqlite3.IntegrityError:
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
            conn.execute("UPDATE conversations SET metadata = ? WHERE id = ? AND owner = ?",
                         (orjson.dumps(metadata).decode(), conversation_id, owner))
            row = conn.execute(_GET, (conversation_id, owner)).fetchone()
        return _record(row) if row else None

    def delete_conversation(self, owner: str, conversation_id: str) -> bool:
        with self._transaction() as conn:
            cursor = conn.execute("DELETE FROM conversations WHERE id = ? AND owner = ?",
                                  (conversation_id, owner))
            return cursor.rowcount > 0

    def add_conversation_items(
        self, owner: str, conversation_id: str, items: Sequence[Item], *,
        refuse_known: bool = False,
    ) -> list[Item] | None:
        with self._transaction() as conn:
            if conn.execute(_EXISTS, (conversation_id, owner)).fetchone() is None:
                return None
            return _append(conn, conversation_id, items, refuse_known)

    def conversation_items(
        self, owner: str, conversation_id: str, *, limit: int, order: Order, after: str | None
    ) -> ItemsPage | None:
        check_page_args(limit, order)
        direction, compare = ("ASC", ">") if order == "asc" else ("DESC", "<")
        cursor = f" AND position {compare} {_CURSOR}" if after is not None else ""
        sql = (f"SELECT item_id, body FROM conversation_items WHERE conversation_id = :id"
               f"{cursor} ORDER BY position {direction} LIMIT :limit")
        with self._reader() as conn:
            if conn.execute(_EXISTS, (conversation_id, owner)).fetchone() is None:
                return None
            params = {"id": conversation_id, "after": after, "limit": limit + 1}
            rows = conn.execute(sql, params).fetchall()
        return items_page(rows, limit, decode=orjson.loads)

    def conversation_item(self, owner: str, conversation_id: str, item_id: str) -> Item | None:
        with self._reader() as conn:
            row = conn.execute(
                "SELECT i.body FROM conversation_items AS i JOIN conversations AS c "
                "ON c.id = i.conversation_id WHERE c.id = ? AND c.owner = ? AND i.item_id = ?",
                (conversation_id, owner, item_id),
            ).fetchone()
        item: Item | None = orjson.loads(row[0]) if row else None
        return item

    def delete_conversation_item(
        self, owner: str, conversation_id: str, item_id: str
    ) -> bool | None:
        with self._transaction() as conn:
            if conn.execute(_EXISTS, (conversation_id, owner)).fetchone() is None:
                return None
            cursor = conn.execute(
                "DELETE FROM conversation_items WHERE conversation_id = ? AND item_id = ?",
                (conversation_id, item_id),
            )
            return cursor.rowcount > 0

    def conversation_history(self, owner: str, conversation_id: str) -> list[Item] | None:
        with self._reader() as conn:
            if conn.execute(_EXISTS, (conversation_id, owner)).fetchone() is None:
                return None
            rows = conn.execute(_ITEMS + " ORDER BY position", (conversation_id,)).fetchall()
        return [orjson.loads(body) for _, body in rows]
