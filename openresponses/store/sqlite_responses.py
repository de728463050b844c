"""Responses and their input items in SQLite: the schema (one migration) and the statements.

Bodies are orjson BLOBs. A response is written only if its id is free or already the
caller's (the UPDATE's WHERE), and its input items are replaced whole. A response's chain, with
the input items of each, is one recursive query; one response alone, a plain one. Every
statement is scoped by ``owner``. The listing for the console is in ``sqlite_listing.py``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

import orjson

from openresponses.store.base import (
    ItemsPage,
    Order,
    StoredResponse,
    Tip,
    check_page_args,
    items_page,
)

RESPONSES_MIGRATION: tuple[str, ...] = (
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
)
# Version 6: the count of responses ever deleted (``Store.tip``), one row kept by a trigger, so
# every way a response row goes (the API's delete, an operator's SQL) counts.
DELETIONS_MIGRATION: tuple[str, ...] = (
    "CREATE TABLE deletions (id INTEGER PRIMARY KEY CHECK (id = 1), count INTEGER NOT NULL)",
    "INSERT INTO deletions (id, count) VALUES (1, 0)",
    """CREATE TRIGGER responses_deleted AFTER DELETE ON responses
    BEGIN UPDATE deletions SET count = count + 1 WHERE id = 1; END""",
)
MAX_CHAIN_DEPTH = 10_000  # a guard against a cycle made by re-saving an ancestor, not a limit

# A new response (the usual case) is one INSERT and needs no DELETE of its items: it has none
# (input_items rows go with their response, ON DELETE CASCADE). Only an id already taken takes
# the UPDATE (scoped by owner) and the replacement of its items.
_INSERT = """
INSERT INTO responses (id, owner, previous_response_id, created_at, body)
VALUES (?, ?, ?, ?, ?)
ON CONFLICT (id) DO NOTHING
"""
_UPDATE = """
UPDATE responses SET previous_response_id = ?, created_at = ?, body = ?
WHERE id = ? AND owner = ?
"""
# A replacing save (``StoredResponse.replaces``): over the row only while it exists, and never
# over a cancel (another process cancelled it; only a cancelled body may replace it then).
_REPLACE = """
UPDATE responses SET previous_response_id = ?, created_at = ?, body = ?
WHERE id = ? AND owner = ?
  AND (json_extract(CAST(body AS TEXT), '$.status') IS NOT 'cancelled' OR ? = 'cancelled')
"""
_INSERT_ITEM = "INSERT INTO input_items (response_id, position, item_id, body) VALUES (?, ?, ?, ?)"

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

# One response and its input items, without the chain's recursion (``Store.get``, and
# ``Store.tip``: every follow-up turn's read of its tip; about half the cost of ``_CHAIN`` at
# depth 0), with the deletion count: one statement, so one snapshot of all three. The response
# row (position -1) sorts first; no row at all means the id is unknown for the owner.
_RESPONSE = """
SELECT -1, previous_response_id, created_at, body, (SELECT count FROM deletions WHERE id = 1)
FROM responses WHERE id = :id AND owner = :owner
UNION ALL
SELECT position, NULL, NULL, body, NULL FROM input_items
WHERE response_id = (SELECT id FROM responses WHERE id = :id AND owner = :owner)
ORDER BY 1
"""

_CURSOR = "(SELECT position FROM input_items WHERE response_id = :id AND item_id = :{name})"


def upsert_batch(conn: sqlite3.Connection, records: Sequence[StoredResponse]) -> None:
    """Insert or replace each record and its input items, in the caller's transaction, with
    one statement for the input items of all of them; ``ValueError`` if an id belongs to
    another owner (the caller rolls the whole batch back). A record that ``replaces`` is
    only an UPDATE (``_REPLACE``): skipped when its row is gone or was cancelled elsewhere."""
    dumps = orjson.dumps
    items: list[tuple[str, int, str, bytes]] = []
    for record in records:
        body = dumps(record.response)
        if record.replaces:
            if not conn.execute(_REPLACE, (
                    record.previous_response_id, record.created_at, body, record.id,
                    record.owner, record.response.get("status"))).rowcount:
                continue  # deleted, or cancelled elsewhere, since: it stays so
        elif not conn.execute(_INSERT, (record.id, record.owner, record.previous_response_id,
                                        record.created_at, body)).rowcount:
            cursor = conn.execute(_UPDATE, (record.previous_response_id, record.created_at,
                                            body, record.id, record.owner))
            if cursor.rowcount == 0:
                raise ValueError(f"response id {record.id} already belongs to another owner")
        else:
            items += _items(record, dumps)  # a new response: it has no items to replace
            continue
        if items:  # an earlier record of this batch may be this one: its items first
            conn.executemany(_INSERT_ITEM, items)
            items = []
        conn.execute("DELETE FROM input_items WHERE response_id = ?", (record.id,))
        items += _items(record, dumps)
    if items:
        conn.executemany(_INSERT_ITEM, items)


def _items(record: StoredResponse, dumps: Callable[[Any], bytes]
           ) -> list[tuple[str, int, str, bytes]]:
    rid = record.id
    return [(rid, position, item["id"], dumps(item))
            for position, item in enumerate(record.input_items)]


def load_chain(
    conn: sqlite3.Connection, owner: str, response_id: str, *, max_depth: int
) -> list[StoredResponse] | None:
    """The response and up to ``max_depth`` ancestors, oldest first; None if unknown."""
    params = {"id": response_id, "owner": owner, "max_depth": max_depth}
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


def load_tip(conn: sqlite3.Connection, owner: str, response_id: str) -> Tip | None:
    """The response with its input items, and the deletion count; None if unknown for
    ``owner``."""
    rows = conn.execute(_RESPONSE, {"id": response_id, "owner": owner}).fetchall()
    if not rows:
        return None
    _position, previous, created_at, body, deletions = rows[0]
    loads = orjson.loads
    record = StoredResponse(id=response_id, owner=owner, response=loads(body),
                            input_items=[loads(row[3]) for row in rows[1:]],
                            previous_response_id=previous, created_at=created_at)
    return Tip(record, deletions)


def load_response(conn: sqlite3.Connection, owner: str, response_id: str
                  ) -> StoredResponse | None:
    """The response with its input items; None if unknown for ``owner``."""
    tip = load_tip(conn, owner, response_id)
    return tip.record if tip is not None else None


def page_items(
    conn: sqlite3.Connection,
    owner: str,
    response_id: str,
    *,
    limit: int,
    order: Order,
    after: str | None,
    before: str | None,
) -> ItemsPage | None:
    """A page of the response's input items (semantics of ``Store.input_items``)."""
    check_page_args(limit, order)
    backwards = before is not None and after is None  # the page nearest the before-cursor
    sql = _page_sql(
        order, after=after is not None, before=before is not None, backwards=backwards
    )
    params = {"id": response_id, "owner": owner, "after": after, "before": before}
    rows = conn.execute(sql, {**params, "limit": limit + 1}).fetchall()
    if not rows:
        return None
    found = [(item_id, body) for item_id, body in rows if item_id is not None]
    return items_page(found, limit, decode=orjson.loads, reverse=backwards)


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
