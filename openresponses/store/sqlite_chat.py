"""Stored chat completions in SQLite: the schema (one migration) and the statements.

One row per completion: the body as sent, the request messages (one JSON array: they are read
together), and ``metadata`` as JSON *text* (so ``json_each`` can filter on it; SQLite ≥ 3.45
would read a BLOB as JSONB). ``seq`` orders completions created in the same second and is the
listing cursor's tie-break. Every statement is scoped by ``owner``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from typing import Any

import orjson

from openresponses.store.base import (
    ChatCompletionsPage,
    ItemsPage,
    Order,
    StoredChatCompletion,
    check_page_args,
)

# Gap-tolerant (IF NOT EXISTS): correct whichever schema version ends up applying it.
CHAT_MIGRATION: tuple[str, ...] = (
    """CREATE TABLE IF NOT EXISTS chat_completions (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        owner TEXT NOT NULL,
        model TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        metadata TEXT NOT NULL,
        body BLOB NOT NULL,
        messages BLOB NOT NULL
    )""",
    """CREATE INDEX IF NOT EXISTS chat_completions_owner_created
        ON chat_completions (owner, created_at, seq)""",
)

_COLUMNS = "id, owner, model, created_at, metadata, body, messages"
GET_CHAT = f"SELECT {_COLUMNS} FROM chat_completions WHERE id = ? AND owner = ?"
DELETE_CHAT = "DELETE FROM chat_completions WHERE id = ? AND owner = ?"
UPDATE_CHAT_METADATA = "UPDATE chat_completions SET metadata = ? WHERE id = ? AND owner = ?"
_CURSOR = "(SELECT created_at, seq FROM chat_completions WHERE id = :after AND owner = :owner)"
_HAS_PAIR = ("EXISTS (SELECT 1 FROM json_each(c.metadata) AS m "
             "WHERE m.key = :k{n} AND m.value = :v{n})")


def insert_chat(conn: sqlite3.Connection, record: StoredChatCompletion) -> None:
    """Insert ``record``; ``ValueError`` if its id exists already."""
    try:
        conn.execute(
            f"INSERT INTO chat_completions ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (record.id, record.owner, record.model, record.created_at,
             orjson.dumps(record.metadata).decode(), orjson.dumps(record.completion),
             orjson.dumps(record.messages)),
        )
    except sqlite3.IntegrityError:
        raise ValueError(f"chat completion {record.id} already exists") from None


def chat_from_row(row: tuple[Any, ...]) -> StoredChatCompletion:
    completion_id, owner, model, created_at, metadata, body, messages = row
    return StoredChatCompletion(
        id=completion_id, owner=owner, model=model, created_at=created_at,
        metadata=orjson.loads(metadata), completion=orjson.loads(body),
        messages=orjson.loads(messages),
    )


def list_chats(
    conn: sqlite3.Connection,
    owner: str,
    *,
    limit: int,
    order: Order,
    after: str | None,
    model: str | None,
    metadata: Mapping[str, str],
) -> ChatCompletionsPage:
    """A page of the owner's completions by creation time; an unknown ``after`` gives none."""
    check_page_args(limit, order)
    params: dict[str, Any] = {"owner": owner, "after": after, "model": model,
                              "limit": limit + 1}
    conditions = ["c.owner = :owner"]
    if model is not None:
        conditions.append("c.model = :model")
    for n, (key, value) in enumerate(metadata.items()):
        conditions.append(_HAS_PAIR.format(n=n))
        params.update({f"k{n}": key, f"v{n}": value})
    if after is not None:
        conditions.append(f"(c.created_at, c.seq) {'>' if order == 'asc' else '<'} {_CURSOR}")
    direction = "ASC" if order == "asc" else "DESC"
    sql = (f"SELECT {_COLUMNS} FROM chat_completions AS c WHERE {' AND '.join(conditions)} "
           f"ORDER BY c.created_at {direction}, c.seq {direction} LIMIT :limit")
    rows = conn.execute(sql, params).fetchall()
    records = [chat_from_row(row) for row in rows[:limit]]
    return ChatCompletionsPage(records=records, has_more=len(rows) > limit)


def page_messages(
    messages: list[dict[str, Any]], *, limit: int, order: Order, after: str | None
) -> ItemsPage:
    """A page of a completion's stored messages (``after``: a message id; unknown → empty)."""
    check_page_args(limit, order)
    ordered = messages if order == "asc" else messages[::-1]
    if after is not None:
        ids = [m.get("id") for m in ordered]
        ordered = ordered[ids.index(after) + 1:] if after in ids else []
    data = ordered[:limit]
    return ItemsPage(data=data, first_id=data[0]["id"] if data else None,
                     last_id=data[-1]["id"] if data else None, has_more=len(ordered) > limit)
