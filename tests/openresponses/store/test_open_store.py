"""Opening a store from a URL, and what the ``store`` package exports."""

from __future__ import annotations

from pathlib import Path

import pytest

import openresponses.store
from openresponses.store import SqliteStore, StoredResponse, open_store


def sample() -> StoredResponse:
    return StoredResponse(
        id="resp_1",
        owner="alice",
        response={"id": "resp_1"},
        input_items=[],
        previous_response_id=None,
        created_at=0,
    )


def test_memory_url_opens_a_working_store() -> None:
    store = open_store("sqlite:///:memory:")
    try:
        store.save_batch([sample()])
        assert store.get("alice", "resp_1") == sample()
    finally:
        store.close()


def test_relative_url_creates_parent_directories(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    open_store("sqlite:///./data/sub/x.db").close()
    assert (tmp_path / "data" / "sub" / "x.db").is_file()


def test_absolute_url_opens_that_path(tmp_path: Path) -> None:
    path = tmp_path / "abs" / "x.db"
    store = open_store(f"sqlite:///{path}")  # the path starts with "/": four slashes in all
    assert isinstance(store, SqliteStore)
    store.close()
    assert path.is_file()


def test_unknown_scheme_is_refused_without_echoing_the_url() -> None:
    with pytest.raises(ValueError, match="'mysql'") as caught:
        open_store("mysql://user:s3cret@db.example/responses")
    assert "s3cret" not in str(caught.value)


@pytest.mark.parametrize("url", ["./data/x.db", "sqlite://", "sqlite:///"])
def test_malformed_url_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="sqlite:///"):
        open_store(url)


def test_package_exports_exactly_its_public_names() -> None:
    public = {name for name in dir(openresponses.store) if not name.startswith("_")}
    assert set(openresponses.store.__all__) <= public
    for name in openresponses.store.__all__:
        assert getattr(openresponses.store, name).__module__.startswith("openresponses.store.")
