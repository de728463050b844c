"""Stored chat completions in PostgreSQL: the schema (one migration) and the statements.

One row per completion: the body as sent, the request messages (one JSONB array: they are read
together) and ``metadata`` as JSONB, filtered by containment. ``seq`` orders completions
created in the same second and is the listing cursor's tie-break. Every statement is scoped by
``owner``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from openresponses.store.base import (
    ChatCompletionsPage,
    Order,
    StoredChatCompletion,
    check_page_args,
)
from openresponses.store.postgres_pool import Connection

CHAT_MIGRATION: tuple[str, ...] = (
    """CREATE TABLE chat_completions (
        seq bigint GENERATED ALWAYS AS IDENTITY,
        id text PRIMARY KEY,
        owner text NOT NULL,
        model text NOT NULL,
        created_at bigint NOT NULL,
        metadata jsonb NOT NULL,
        body jsonb NOT NULL,
        messages jsonb NOT NULL
    )""",
    # An owner's completions by time: the listing and its cursor.
    "CREATE INDEX chat_completions_owner_created ON chat_completions (owner, created_at, seq)",
)

_COLUMNS = "id, owner, model, created_at, metadata, body, messages"
_GET = f"SELECT {_COLUMNS} FROM chat_completions WHERE id = %s AND owner = %s"
_CURSOR = ("(SELECT created_at, seq FROM chat_completions"
           " WHERE id = %(after)s AND owner = %(owner)s)")


def insert_chat(conn: Connection, record: StoredChatCompletion) -> None:
    """Insert ``record``; ``ValueError`` if its id exists already."""
    try:
        conn.execute(
            f"INSERT INTO chat_completions ({_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (record.id, record.owner, record.model, record.created_at, Jsonb(record.metadata),
             Jsonb(record.completion), Jsonb(record.messages)),
        )
    except psycopg.errors.UniqueViolation:
        raise ValueError(f"chat completion {record.id} already exists") from None


def get_chat(conn: Connection, owner: str, completion_id: str) -> StoredChatCompletion | None:
    row = conn.execute(_GET, (completion_id, owner)).fetchone()
    return _chat_from_row(row) if row else None


def update_chat(
    conn: Connection, owner: str, completion_id: str, metadata: dict[str, str]
) -> StoredChatCompletion | None:
    """Replace the metadata; the updated record, or None if unknown for this owner."""
    row = conn.execute(
        f"UPDATE chat_completions SET metadata = %s WHERE id = %s AND owner = %s "
        f"RETURNING {_COLUMNS}",
        (Jsonb(metadata), completion_id, owner),
    ).fetchone()
    return _chat_from_row(row) if row else None


def delete_chat(conn: Connection, owner: str, completion_id: str) -> bool:
    cursor = conn.execute("DELETE FROM chat_completions WHERE id = %s AND owner = %s",
                          (completion_id, owner))
    return cursor.rowcount > 0


def _chat_from_row(row: tuple[Any, ...]) -> StoredChatCompletion:
    completion_id, owner, model, created_at, metadata, body, messages = row
    return StoredChatCompletion(id=completion_id, owner=owner, model=model,
                                created_at=created_at, metadata=metadata, completion=body,
                                messages=messages)


def list_chats(
    conn: Connection,
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
    conditions = ["c.owner = %(owner)s"]
    if model is not None:
        conditions.append("c.model = %(model)s")
    if metadata:
        conditions.append("c.metadata @> %(metadata)s")
    if after is not None:
        conditions.append(f"(c.created_at, c.seq) {'>' if order == 'asc' else '<'} {_CURSOR}")
    direction = "ASC" if order == "asc" else "DESC"
    sql = (f"SELECT {_COLUMNS} FROM chat_completions AS c WHERE {' AND '.join(conditions)} "
           f"ORDER BY c.created_at {direction}, c.seq {direction} LIMIT %(limit)s")
    params = {"owner": owner, "model": model, "metadata": Jsonb(dict(metadata)),
              "after": after, "limit": limit + 1}
    rows = conn.execute(sql, params).fetchall()
    records = [_chat_from_row(row) for row in rows[:limit]]
    return ChatCompletionsPage(records=records, has_more=len(rows) > limit)
