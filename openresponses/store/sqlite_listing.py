"""Listing an owner's stored responses in SQLite (``Store.list_responses``, for the console).

The filters read the stored Response JSON itself (``model``, ``status``, ``metadata``) rather
than columns of their own: the listing is an operator's tool, not a hot path, and a schema
migration for it would cost every save. The owner's rows are walked through the
``(owner, created_at)`` index, newest or oldest first, and the filters are checked on the way
until a page is full. The body is a BLOB (orjson bytes); SQLite's JSON functions want text, so
it is cast first.

The cursor is ``(created_at, id)`` of the ``after`` response, read in the same statement: an
``after`` that is unknown for this owner makes the comparison NULL, so the page is empty, as the
interface says.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from typing import Any

import orjson

from openresponses.store.base import Order, ResponsesPage, StoredResponse, check_page_args

_BODY = "CAST(r.body AS TEXT)"
_CURSOR = "(SELECT created_at, id FROM responses WHERE id = :after AND owner = :owner)"
_HAS_PAIR = (f"EXISTS (SELECT 1 FROM json_each({_BODY}, '$.metadata') AS m "
             "WHERE m.key = :k{n} AND m.type = 'text' AND m.value = :v{n})")


def list_responses_sql(
    *, order: Order, after: bool, model: bool, status: bool, pairs: int
) -> str:
    """The page query for the filters in use (values are bound, never formatted in)."""
    conditions = ["r.owner = :owner"]
    if model:
        conditions.append(f"json_extract({_BODY}, '$.model') = :model")
    if status:
        conditions.append(f"json_extract({_BODY}, '$.status') = :status")
    conditions.extend(_HAS_PAIR.format(n=n) for n in range(pairs))
    if after:
        conditions.append(f"(r.created_at, r.id) {'>' if order == 'asc' else '<'} {_CURSOR}")
    direction = "ASC" if order == "asc" else "DESC"
    return (f"SELECT r.id, r.previous_response_id, r.created_at, r.body FROM responses AS r "
            f"WHERE {' AND '.join(conditions)} "
            f"ORDER BY r.created_at {direction}, r.id {direction} LIMIT :limit")


def list_responses(
    conn: sqlite3.Connection,
    owner: str,
    *,
    limit: int,
    order: Order,
    after: str | None,
    model: str | None,
    status: str | None,
    metadata: Mapping[str, str],
) -> ResponsesPage:
    """A page of the owner's responses (without their input items: a listing shows the
    Responses; a chain is read with ``Store.chain``)."""
    check_page_args(limit, order)
    params: dict[str, Any] = {"owner": owner, "after": after, "model": model,
                              "status": status, "limit": limit + 1}
    for n, (key, value) in enumerate(metadata.items()):
        params.update({f"k{n}": key, f"v{n}": value})
    sql = list_responses_sql(order=order, after=after is not None, model=model is not None,
                             status=status is not None, pairs=len(metadata))
    rows = conn.execute(sql, params).fetchall()
    records = [
        StoredResponse(id=row_id, owner=owner, response=orjson.loads(body), input_items=[],
                       previous_response_id=previous, created_at=created_at)
        for row_id, previous, created_at, body in rows[:limit]
    ]
    return ResponsesPage(records=records, has_more=len(rows) > limit)
