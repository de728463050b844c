"""Listing an owner's responses in every backend: order, ``after`` cursor, filters."""

from __future__ import annotations

from typing import Any

import pytest

from openresponses.store.base import Order, ResponsesPage, Store, StoredResponse


def response(n: int, *, created: int, owner: str = "alice", model: str = "groq@m",
             status: str = "completed", metadata: dict[str, Any] | None = None
             ) -> StoredResponse:
    response_id = f"resp_{n:02d}"
    body = {"id": response_id, "object": "response", "model": model, "status": status,
            "metadata": metadata or {}}
    return StoredResponse(id=response_id, owner=owner, response=body,
                          input_items=[{"id": f"msg_{n}", "type": "message"}],
                          previous_response_id=None, created_at=created)


def listing(store: Store, *, limit: int = 20, order: Order = "asc", after: str | None = None,
            model: str | None = None, status: str | None = None,
            metadata: dict[str, str] | None = None, owner: str = "alice") -> ResponsesPage:
    return store.list_responses(owner, limit=limit, order=order, after=after, model=model,
                                status=status, metadata=metadata or {})


def ids(page: ResponsesPage) -> list[str]:
    return [r.id for r in page.records]


@pytest.fixture
def store(store: Store) -> Store:
    """Six of alice's responses (two share a second) and one of bob's."""
    store.save_batch([
        response(3, created=100), response(1, created=100), response(2, created=200,
                                                                     model="openai@x"),
        response(4, created=300, status="failed"), response(5, created=400,
                                                             metadata={"team": "a"}),
        response(6, created=500, metadata={"team": "b", "env": "prod"}),
        response(7, created=50, owner="bob"),
    ])
    return store


def test_responses_are_listed_by_time_then_id_without_their_items(store: Store) -> None:
    page = listing(store)
    assert ids(page) == ["resp_01", "resp_03", "resp_02", "resp_04", "resp_05", "resp_06"]
    assert not page.has_more
    assert all(r.input_items == [] and r.owner == "alice" for r in page.records)
    assert page.records[0].response["model"] == "groq@m"
    assert ids(listing(store, order="desc"))[:3] == ["resp_06", "resp_05", "resp_04"]


@pytest.mark.parametrize("order", ["asc", "desc"])
def test_after_cursors_walk_every_response_once(store: Store, order: Order) -> None:
    seen: list[str] = []
    after = None
    while True:
        page = listing(store, limit=2, order=order, after=after)
        seen += ids(page)
        if not page.has_more:
            break
        after = page.records[-1].id
    assert seen == ids(listing(store, order=order))


def test_filters_read_the_stored_response(store: Store) -> None:
    assert ids(listing(store, model="openai@x")) == ["resp_02"]
    assert ids(listing(store, status="failed")) == ["resp_04"]
    assert ids(listing(store, metadata={"team": "b"})) == ["resp_06"]
    assert ids(listing(store, metadata={"team": "b", "env": "prod"})) == ["resp_06"]
    assert ids(listing(store, metadata={"team": "b", "env": "dev"})) == []
    assert ids(listing(store, model="groq@m", status="completed", limit=2)) == [
        "resp_01", "resp_03"]


def test_unknown_or_foreign_cursor_and_other_owner_give_empty_pages(store: Store) -> None:
    assert ids(listing(store, after="resp_nope")) == []
    assert ids(listing(store, after="resp_07")) == []  # bob's response is no cursor for alice
    assert ids(listing(store, owner="bob")) == ["resp_07"]
    assert ids(listing(store, owner="mallory")) == []


def test_bad_page_arguments_are_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="limit"):
        listing(store, limit=0)
