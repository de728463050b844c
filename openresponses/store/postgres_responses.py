"""Responses and their input items in PostgreSQL: the schema (one migration) and the statements.

Bodies are JSONB. A batch is written with three statements whatever its size: one upsert of
every response (``unnest`` of arrays), one delete of their old input items, one insert of the
new ones. A response's chain, with the input items of each, is one recursive query; one
response alone, a plain one. Every
statement is scoped by ``owner``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs
from psycopg import Cursor
from psycopg.types.json import Jsonb

from openresponses.store.base import (
    ItemsPage,
    Order,
    ResponsesPage,
    StoredResponse,
    Tip,
    check_page_args,
    items_page,
)
from openresponses.store.postgres_pool import Connection, dumps, text

RESPONSES_MIGRATION: tuple[str, ...] = (
    # Ids compare bytewise (COLLATE "C"), as in SQLite: the listing's tie-break and cursor.
    """CREATE TABLE responses (
        id text COLLATE "C" PRIMARY KEY,
        owner text NOT NULL,
        previous_response_id text,
        created_at bigint NOT NULL,
        body jsonb NOT NULL
    )""",
    # An owner's responses by time: the listing (ties broken by id) and its cursor.
    "CREATE INDEX responses_owner_created ON responses (owner, created_at, id)",
    """CREATE TABLE input_items (
        response_id text COLLATE "C" NOT NULL REFERENCES responses (id) ON DELETE CASCADE,
        position integer NOT NULL,
        item_id text NOT NULL,
        body jsonb NOT NULL,
        PRIMARY KEY (response_id, position)
    )""",
    # Paging cursors name an item by id: its position is one index probe away.
    "CREATE UNIQUE INDEX input_items_item_id ON input_items (response_id, item_id)",
)
# Version 6: the count of responses ever deleted (``Store.tip``), one row kept by a trigger, so
# every way a response row goes (the API's delete, an operator's SQL) counts: one per row, as
# in SQLite (a statement-level trigger would count a DELETE that removed nothing).
DELETIONS_MIGRATION: tuple[str, ...] = (
    "CREATE TABLE deletions (id integer PRIMARY KEY CHECK (id = 1), count bigint NOT NULL)",
    "INSERT INTO deletions (id, count) VALUES (1, 0)",
    # The schema's search path is pinned: a DELETE from a session with another path counts too.
    """CREATE FUNCTION count_response_deletions() RETURNS trigger LANGUAGE plpgsql
    SET search_path FROM CURRENT AS $$
    BEGIN UPDATE deletions SET count = count + 1 WHERE id = 1; RETURN NULL; END $$""",
    """CREATE TRIGGER responses_deleted AFTER DELETE ON responses
    FOR EACH ROW EXECUTE FUNCTION count_response_deletions()""",
)
MAX_CHAIN_DEPTH = 10_000  # a guard against a cycle made by re-saving an ancestor, not a limit

# The owner check is the upsert's WHERE: a row of another owner is neither updated nor returned.
_UPSERT = """
INSERT INTO responses (id, owner, previous_response_id, created_at, body)
SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::bigint[], %s::jsonb[])
ON CONFLICT (id) DO UPDATE SET
    previous_response_id = excluded.previous_response_id,
    created_at = excluded.created_at,
    body = excluded.body
WHERE responses.owner = excluded.owner
RETURNING id
"""
_REPLACE = """
UPDATE responses AS r SET
    previous_response_id = u.previous_response_id,
    created_at = u.created_at,
    body = u.body
FROM unnest(%s::text[], %s::text[], %s::text[], %s::bigint[], %s::jsonb[])
    AS u (id, owner, previous_response_id, created_at, body)
WHERE r.id = u.id AND r.owner = u.owner
  AND (r.body ->> 'status' IS DISTINCT FROM 'cancelled' OR u.body ->> 'status' = 'cancelled')
RETURNING r.id
"""
_INSERT_ITEMS = """
INSERT INTO input_items (response_id, position, item_id, body)
SELECT * FROM unnest(%s::text[], %s::integer[], %s::text[], %s::jsonb[])
"""

# One row per response of the chain, oldest (deepest) first, its input items aggregated in order.
_CHAIN = """
WITH RECURSIVE chain (id, previous_response_id, created_at, body, depth) AS (
    SELECT id, previous_response_id, created_at, body, 0
    FROM responses WHERE id = %(id)s AND owner = %(owner)s
    UNION ALL
    SELECT r.id, r.previous_response_id, r.created_at, r.body, c.depth + 1
    FROM chain AS c JOIN responses AS r ON r.id = c.previous_response_id
    WHERE r.owner = %(owner)s AND c.depth < %(max_depth)s
)
SELECT c.id, c.previous_response_id, c.created_at, c.body,
       (SELECT COALESCE(jsonb_agg(i.body ORDER BY i.position), '[]'::jsonb)
        FROM input_items AS i WHERE i.response_id = c.id)
FROM chain AS c ORDER BY c.depth DESC
"""

# One response with its input items, without the chain's recursion (``Store.get``, and
# ``Store.tip``: every follow-up turn's read of its tip), with the deletion count: one
# statement, so one snapshot.
_RESPONSE = """
SELECT r.previous_response_id, r.created_at, r.body,
       (SELECT COALESCE(jsonb_agg(i.body ORDER BY i.position), '[]'::jsonb)
        FROM input_items AS i WHERE i.response_id = r.id),
       (SELECT count FROM deletions WHERE id = 1)
FROM responses AS r WHERE r.id = %(id)s AND r.owner = %(owner)s
"""

_ITEM_CURSOR = ("(SELECT position FROM input_items"
                " WHERE response_id = %(id)s AND item_id = %({name})s)")
_LIST_CURSOR = "(SELECT created_at, id FROM responses WHERE id = %(after)s AND owner = %(owner)s)"


def save_batch(conn: Connection, records: Sequence[StoredResponse]) -> None:
    """Upsert ``records`` (later ones win) and replace their input items, in the caller's
    transaction. ``ValueError`` if an id belongs to another owner (in the store, or earlier in
    the batch). ``TypeError`` for a body orjson cannot encode, before anything is sent. A
    record that ``replaces`` (and no earlier one of the batch stores) is only an UPDATE:
    skipped when its row is gone."""
    latest = _latest(records)
    fresh = [_row(r) for r in latest.values() if not r.replaces]
    replacing = [_row(r) for r in latest.values() if r.replaces]
    with conn.cursor() as cur:
        stored = _write(cur, _UPSERT, fresh)
        refused = [row[0] for row in fresh if row[0] not in stored]
        if refused:
            raise ValueError(f"response id {refused[0]} already belongs to another owner")
        # A row deleted since is not made again; one cancelled elsewhere is not uncancelled.
        stored |= _write(cur, _REPLACE, replacing)
        items = [(text(r.id), position, text(item["id"]), _json(item))
                 for r in latest.values() if r.id in stored
                 for position, item in enumerate(r.input_items)]
        cur.execute("DELETE FROM input_items WHERE response_id = ANY(%s)", (list(stored),))
        if items:
            cur.execute(_INSERT_ITEMS, [list(column) for column in zip(*items, strict=True)])


def _latest(records: Sequence[StoredResponse]) -> dict[str, StoredResponse]:
    """Each id's last record; it ``replaces`` only if every record of the id does (an earlier
    one may store the response: the later one then updates it)."""
    latest: dict[str, StoredResponse] = {}
    for record in records:
        earlier = latest.get(record.id)
        if earlier is not None and earlier.owner != record.owner:
            raise ValueError(f"response id {record.id} already belongs to another owner")
        if earlier is not None and record.replaces and not earlier.replaces:
            record = attrs.evolve(record, replaces=False)
        latest[record.id] = record
    return latest


_Row = tuple[str, str, str | None, int, str]


def _row(record: StoredResponse) -> _Row:
    previous = record.previous_response_id
    return (text(record.id), record.owner, previous and text(previous), record.created_at,
            _json(record.response))


def _write(cur: Cursor[Any], statement: str, rows: list[_Row]) -> set[str]:
    """Run ``statement`` over ``rows`` (as arrays); the ids it returned."""
    if not rows:
        return set()
    cur.execute(statement, [list(column) for column in zip(*rows, strict=True)])
    return {row_id for (row_id,) in cur.fetchall()}


def _json(value: Any) -> str:
    """JSON text for a jsonb array element (``TypeError`` if it cannot be encoded)."""
    return dumps(value).decode()


def load_chain(
    conn: Connection, owner: str, response_id: str, *, max_depth: int
) -> list[StoredResponse] | None:
    """The response and up to ``max_depth`` ancestors, oldest first; None if unknown."""
    params = {"id": response_id, "owner": owner, "max_depth": max_depth}
    rows = conn.execute(_CHAIN, params).fetchall()
    if not rows:
        return None
    return [
        StoredResponse(id=row_id, owner=owner, response=body, input_items=items,
                       previous_response_id=previous, created_at=created_at)
        for row_id, previous, created_at, body, items in rows
    ]


def load_tip(conn: Connection, owner: str, response_id: str) -> Tip | None:
    """The response with its input items, and the deletion count; None if unknown for
    ``owner``."""
    row = conn.execute(_RESPONSE, {"id": response_id, "owner": owner}).fetchone()
    if row is None:
        return None
    previous, created_at, body, items, deletions = row
    record = StoredResponse(id=response_id, owner=owner, response=body, input_items=items,
                            previous_response_id=previous, created_at=created_at)
    return Tip(record, deletions)


def load_response(conn: Connection, owner: str, response_id: str) -> StoredResponse | None:
    """The response with its input items; None if unknown for ``owner``."""
    tip = load_tip(conn, owner, response_id)
    return tip.record if tip is not None else None


def page_items(
    conn: Connection,
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
    sql = _page_sql(order, after=after is not None, before=before is not None,
                    backwards=backwards)
    params = {"id": response_id, "owner": owner, "after": after, "before": before,
              "limit": limit + 1}
    rows = conn.execute(sql, params).fetchall()
    if not rows:
        return None
    found = [(item_id, body) for item_id, body in rows if item_id is not None]
    return items_page(found, limit, reverse=backwards)


def _page_sql(order: Order, *, after: bool, before: bool, backwards: bool) -> str:
    """The response row LEFT JOIN its items in range, ``limit`` + 1 of them: no row at all
    means the response is unknown for the owner; one row of NULLs, no items."""
    onward, back = (">", "<") if order == "asc" else ("<", ">")
    conditions = ""
    if after:
        conditions += f" AND i.position {onward} {_ITEM_CURSOR.format(name='after')}"
    if before:
        conditions += f" AND i.position {back} {_ITEM_CURSOR.format(name='before')}"
    direction = "ASC" if (order == "asc") != backwards else "DESC"
    return f"""
        SELECT i.item_id, i.body FROM responses AS r
        LEFT JOIN input_items AS i ON i.response_id = r.id{conditions}
        WHERE r.id = %(id)s AND r.owner = %(owner)s
        ORDER BY i.position {direction} LIMIT %(limit)s
    """


def list_responses(
    conn: Connection,
    owner: str,
    *,
    limit: int,
    order: Order,
    after: str | None,
    model: str | None,
    status: str | None,
    metadata: Mapping[str, str],
) -> ResponsesPage:
    """A page of the owner's responses, without their input items (``Store.list_responses``).

    The filters are one JSONB containment test on the stored Response (``model``, ``status``
    and each ``metadata`` pair); an ``after`` unknown for this owner makes the cursor
    comparison NULL, so the page is empty.
    """
    check_page_args(limit, order)
    wanted: dict[str, Any] = {}
    if model is not None:
        wanted["model"] = model
    if status is not None:
        wanted["status"] = status
    if metadata:
        wanted["metadata"] = dict(metadata)
    conditions = ["r.owner = %(owner)s"]
    if wanted:
        conditions.append("r.body @> %(wanted)s")
    if after is not None:
        conditions.append(f"(r.created_at, r.id) {'>' if order == 'asc' else '<'} {_LIST_CURSOR}")
    direction = "ASC" if order == "asc" else "DESC"
    sql = (f"SELECT r.id, r.previous_response_id, r.created_at, r.body FROM responses AS r "
           f"WHERE {' AND '.join(conditions)} "
           f"ORDER BY r.created_at {direction}, r.id {direction} LIMIT %(limit)s")
    params = {"owner": owner, "wanted": Jsonb(wanted), "after": after, "limit": limit + 1}
    rows = conn.execute(sql, params).fetchall()
    records = [
        StoredResponse(id=row_id, owner=owner, response=body, input_items=[],
                       previous_response_id=previous, created_at=created_at)
        for row_id, previous, created_at, body in rows[:limit]
    ]
    return ResponsesPage(records=records, has_more=len(rows) > limit)
