"""Paging a response's input items in every backend: limit, order, after / before cursors,
has_more."""

from __future__ import annotations

from typing import Literal

import pytest

from openresponses.store.base import ItemsPage, Store, StoredResponse

Order = Literal["asc", "desc"]
IDS = [f"item_{n}" for n in range(7)]


@pytest.fixture
def store(store: Store) -> Store:
    """The backend's store (conftest.py), holding a response of seven items and an empty one."""
    store.save_batch(
        [
            StoredResponse(
                id="resp_1",
                owner="alice",
                response={"id": "resp_1"},
                input_items=[{"id": item_id, "type": "message"} for item_id in IDS],
                previous_response_id=None,
                created_at=0,
            ),
            StoredResponse(
                id="resp_empty",
                owner="alice",
                response={"id": "resp_empty"},
                input_items=[],
                previous_response_id=None,
                created_at=0,
            ),
        ]
    )
    return store


def page(
    store: Store,
    *,
    limit: int = 20,
    order: Order = "asc",
    after: str | None = None,
    before: str | None = None,
) -> ItemsPage:
    found = store.input_items(
        "alice", "resp_1", limit=limit, order=order, after=after, before=before
    )
    assert found is not None
    return found


def ids(found: ItemsPage) -> list[str]:
    return [item["id"] for item in found.data]


def test_first_page_respects_limit_and_order(store: Store) -> None:
    ascending = page(store, limit=3, order="asc")
    assert ids(ascending) == IDS[:3]
    assert (ascending.first_id, ascending.last_id, ascending.has_more) == (
        "item_0",
        "item_2",
        True,
    )
    descending = page(store, limit=3, order="desc")
    assert ids(descending) == ["item_6", "item_5", "item_4"]
    assert (descending.first_id, descending.last_id) == ("item_6", "item_4")


def test_page_holding_everything_has_no_more(store: Store) -> None:
    found = page(store, limit=7)
    assert ids(found) == IDS
    assert found.has_more is False


@pytest.mark.parametrize("order", ["asc", "desc"])
def test_after_cursors_walk_every_item_once(store: Store, order: Order) -> None:
    seen: list[str] = []
    after: str | None = None
    while True:
        found = page(store, limit=3, order=order, after=after)
        seen += ids(found)
        if not found.has_more:
            break
        after = found.last_id
    assert seen == (IDS if order == "asc" else IDS[::-1])


@pytest.mark.parametrize("order", ["asc", "desc"])
def test_before_cursors_walk_back_to_the_start(store: Store, order: Order) -> None:
    listing = IDS if order == "asc" else IDS[::-1]
    pages: list[list[str]] = []
    before: str | None = listing[-1]
    while before is not None:
        found = page(store, limit=3, order=order, before=before)
        pages.insert(0, ids(found))
        before = found.first_id if found.has_more else None
    assert [item for chunk in pages for item in chunk] == listing[:-1]
    assert pages[-1] == listing[-4:-1]  # the items nearest the cursor, in listing order


def test_before_cursor_gives_items_nearest_it(store: Store) -> None:
    found = page(store, limit=2, order="desc", before="item_2")
    assert ids(found) == ["item_4", "item_3"]
    assert found.has_more is True


def test_after_and_before_together_bound_the_page(store: Store) -> None:
    found = page(store, limit=10, order="asc", after="item_1", before="item_5")
    assert ids(found) == ["item_2", "item_3", "item_4"]
    assert found.has_more is False
    limited = page(store, limit=2, order="desc", after="item_5", before="item_1")
    assert ids(limited) == ["item_4", "item_3"]
    assert limited.has_more is True


def test_unknown_cursor_gives_an_empty_page(store: Store) -> None:
    assert page(store, after="item_nope") == ItemsPage([], None, None, False)


def test_response_without_items_gives_an_empty_page(store: Store) -> None:
    found = store.input_items("alice", "resp_empty", limit=5, order="desc", after=None, before=None)
    assert found == ItemsPage([], None, None, False)


def test_limit_below_one_is_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="limit"):
        page(store, limit=0)
