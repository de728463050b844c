"""``SqliteStore.list_responses``: order (ties by id), the ``after`` cursor, filters on model,
status and metadata, owner isolation, and bad paging arguments."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from openresponses.store.base import StoredResponse
from openresponses.store.sqlite import SqliteStore


def record(response_id: str, created_at: int, *, owner: str = "alice", model: str = "groq@m",
           status: str = "completed", metadata: dict[str, Any] | None = None) -> StoredResponse:
    body = {"id": response_id, "object": "response", "model": model, "status": status,
            "metadata": metadata or {}, "output": []}
    return StoredResponse(id=response_id, owner=owner, response=body,
                          input_items=[{"id": f"{response_id}_in", "type": "message"}],
                          previous_response_id=None, created_at=created_at)


@pytest.fixture(params=["memory", "file"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqliteStore]:
    path = ":memory:" if request.param == "memory" else str(tmp_path / "store.db")
    opened = SqliteStore(path)
    yield opened
    opened.close()


def ids(store: SqliteStore, owner: str = "alice", **kwargs: Any) -> tuple[list[str], bool]:
    args: dict[str, Any] = {"limit": 20, "order": "desc", "after": None, "model": None,
                            "status": None, "metadata": {}, **kwargs}
    page = store.list_responses(owner, **args)
    return [r.id for r in page.records], page.has_more


def test_newest_first_with_ties_broken_by_id(store: SqliteStore) -> None:
    store.save_batch([record("resp_b", 100), record("resp_a", 100), record("resp_c", 50),
                      record("resp_d", 200)])
    assert ids(store) == (["resp_d", "resp_b", "resp_a", "resp_c"], False)
    assert ids(store, order="asc") == (["resp_c", "resp_a", "resp_b", "resp_d"], False)


def test_pages_follow_the_after_cursor_without_gaps_or_repeats(store: SqliteStore) -> None:
    store.save_batch([record(f"resp_{n:02}", 1000 + n // 3) for n in range(10)])
    seen: list[str] = []
    after = None
    while True:
        page, more = ids(store, limit=3, after=after)
        seen += page
        if not more:
            break
        after = page[-1]
    assert seen == [f"resp_{n:02}" for n in reversed(range(10))]
    assert ids(store, limit=3, order="asc", after="resp_04")[0] == ["resp_05", "resp_06",
                                                                     "resp_07"]


def test_an_unknown_or_foreign_cursor_gives_an_empty_page(store: SqliteStore) -> None:
    store.save_batch([record("resp_1", 1), record("resp_bob", 2, owner="bob")])
    assert ids(store, after="resp_nope") == ([], False)
    assert ids(store, after="resp_bob") == ([], False)


def test_filters_on_model_status_and_every_metadata_pair(store: SqliteStore) -> None:
    store.save_batch([
        record("resp_1", 1, model="groq@m", metadata={"team": "a", "env": "prod"}),
        record("resp_2", 2, model="openai@gpt-4o", metadata={"team": "a"}),
        record("resp_3", 3, model="groq@m", status="failed", metadata={"team": "b"}),
        record("resp_4", 4, model="groq@m", metadata={"team": 1}),  # not a string: no match
    ])
    assert ids(store, model="groq@m")[0] == ["resp_4", "resp_3", "resp_1"]
    assert ids(store, status="failed")[0] == ["resp_3"]
    assert ids(store, metadata={"team": "a"})[0] == ["resp_2", "resp_1"]
    assert ids(store, metadata={"team": "a", "env": "prod"})[0] == ["resp_1"]
    assert ids(store, metadata={"team": "1"})[0] == []
    assert ids(store, model="groq@m", metadata={"team": "a"}, status="completed")[0] == ["resp_1"]
    assert ids(store, metadata={"it's": "a ' quote"})[0] == []  # bound, not formatted in


def test_another_owners_responses_are_invisible(store: SqliteStore) -> None:
    store.save_batch([record("resp_a", 1), record("resp_b", 2, owner="bob")])
    assert ids(store) == (["resp_a"], False)
    assert ids(store, owner="bob") == (["resp_b"], False)
    assert ids(store, owner="carol") == ([], False)


def test_records_carry_the_stored_response(store: SqliteStore) -> None:
    saved = record("resp_1", 7, metadata={"k": "v"})
    store.save_batch([saved])
    [listed] = store.list_responses("alice", limit=1, order="desc", after=None, model=None,
                                    status=None, metadata={}).records
    assert listed.response == saved.response
    assert (listed.created_at, listed.owner) == (7, "alice")


@pytest.mark.parametrize(("limit", "order"), [(0, "desc"), (5, "sideways")])
def test_bad_paging_arguments_are_value_errors(
    store: SqliteStore, limit: int, order: Any
) -> None:
    with pytest.raises(ValueError, match=r"limit|order"):
        store.list_responses("alice", limit=limit, order=order, after=None, model=None,
                             status=None, metadata={})
