"""Stored chat completions in SQLite, through the storage actor: save, get, list (order,
paging, model and metadata filters), update, delete, messages; every call scoped by owner."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trio

from actors import ActorRef, open_supervisor
from openresponses.gateway.storage import StorageActor, StorageMessage
from openresponses.gateway.storage_chat import (
    DeleteChatCompletion,
    GetChatCompletion,
    ListChatCompletions,
    ListChatMessages,
    SaveChatCompletion,
    UpdateChatCompletion,
)
from openresponses.store.base import ChatCompletionsPage, StoredChatCompletion
from openresponses.store.sqlite import SCHEMA_VERSION, SqliteStore


def record(n: int, *, owner: str = "alice", model: str = "groq@m", created: int = 100,
           metadata: dict[str, str] | None = None) -> StoredChatCompletion:
    completion_id = f"chatcmpl-{n}"
    return StoredChatCompletion(
        id=completion_id, owner=owner, model=model, created_at=created,
        metadata=metadata or {}, completion={"id": completion_id, "object": "chat.completion"},
        messages=[{"id": f"{completion_id}-{i}", "role": "user", "content": f"m{i}"}
                  for i in range(3)],
    )


@pytest.fixture
async def storage(tmp_path: Path) -> AsyncIterator[ActorRef[StorageMessage]]:
    path = str(tmp_path / "store.db")
    async with open_supervisor() as supervisor:
        ref = await supervisor.start(lambda: StorageActor(lambda: SqliteStore(path)),
                                     name="storage", mailbox_size=64)
        yield ref
        await supervisor.stop_all()


async def save(storage: ActorRef[StorageMessage], *records: StoredChatCompletion) -> None:
    for one in records:
        await storage.ask(SaveChatCompletion(one))


def ids(page: ChatCompletionsPage) -> list[str]:
    return [r.id for r in page.records]


def test_schema_is_migrated_with_the_chat_table(tmp_path: Path) -> None:
    SqliteStore(str(tmp_path / "s.db")).close()
    conn = sqlite3.connect(tmp_path / "s.db")
    (version,) = conn.execute("PRAGMA user_version").fetchone()
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    conn.close()
    assert version == SCHEMA_VERSION >= 2
    assert "chat_completions" in tables


async def test_save_get_and_owner_scoping(storage: ActorRef[StorageMessage]) -> None:
    await save(storage, record(1, metadata={"a": "b"}))
    found = await storage.ask(GetChatCompletion("alice", "chatcmpl-1"))
    assert found == record(1, metadata={"a": "b"})
    assert await storage.ask(GetChatCompletion("mallory", "chatcmpl-1")) is None
    with pytest.raises(ValueError, match="already exists"):
        await save(storage, record(1, owner="mallory"))


async def test_list_orders_pages_and_filters(storage: ActorRef[StorageMessage]) -> None:
    await save(storage, record(1, created=300, metadata={"env": "prod"}),
               record(2, created=100, model="claude@c", metadata={"env": "dev"}),
               record(3, created=200, metadata={"env": "prod", "team": "x"}),
               record(4, created=200), record(5, owner="bob"))
    everything = await storage.ask(ListChatCompletions(owner="alice"))
    assert ids(everything) == ["chatcmpl-2", "chatcmpl-3", "chatcmpl-4", "chatcmpl-1"]
    newest = await storage.ask(ListChatCompletions(owner="alice", order="desc", limit=2))
    assert (ids(newest), newest.has_more) == (["chatcmpl-1", "chatcmpl-4"], True)
    after = await storage.ask(ListChatCompletions(owner="alice", order="desc",
                                                  after="chatcmpl-4"))
    assert (ids(after), after.has_more) == (["chatcmpl-3", "chatcmpl-2"], False)
    prod = await storage.ask(ListChatCompletions(owner="alice", metadata={"env": "prod"}))
    assert ids(prod) == ["chatcmpl-3", "chatcmpl-1"]
    both = await storage.ask(ListChatCompletions(owner="alice",
                                                 metadata={"env": "prod", "team": "x"}))
    assert ids(both) == ["chatcmpl-3"]
    claude = await storage.ask(ListChatCompletions(owner="alice", model="claude@c"))
    assert ids(claude) == ["chatcmpl-2"]
    unknown = await storage.ask(ListChatCompletions(owner="alice", after="chatcmpl-5"))
    assert ids(unknown) == []  # bob's id is no cursor for alice


async def test_update_replaces_metadata_and_delete_removes(
    storage: ActorRef[StorageMessage],
) -> None:
    await save(storage, record(1, metadata={"a": "1", "b": "2"}))
    updated = await storage.ask(UpdateChatCompletion("alice", "chatcmpl-1", {"c": "3"}))
    assert updated is not None
    assert updated.metadata == {"c": "3"}
    assert await storage.ask(UpdateChatCompletion("bob", "chatcmpl-1", {})) is None
    assert not await storage.ask(DeleteChatCompletion("bob", "chatcmpl-1"))
    assert await storage.ask(DeleteChatCompletion("alice", "chatcmpl-1"))
    assert await storage.ask(GetChatCompletion("alice", "chatcmpl-1")) is None
    assert not await storage.ask(DeleteChatCompletion("alice", "chatcmpl-1"))


async def test_messages_page(storage: ActorRef[StorageMessage]) -> None:
    await save(storage, record(1))
    page = await storage.ask(ListChatMessages(owner="alice", completion_id="chatcmpl-1",
                                              limit=2))
    assert page is not None
    assert ([m["content"] for m in page.data], page.has_more) == (["m0", "m1"], True)
    assert (page.first_id, page.last_id) == ("chatcmpl-1-0", "chatcmpl-1-1")
    rest = await storage.ask(ListChatMessages(owner="alice", completion_id="chatcmpl-1",
                                              after="chatcmpl-1-1"))
    assert rest is not None
    assert [m["content"] for m in rest.data] == ["m2"]
    backwards = await storage.ask(ListChatMessages(owner="alice", completion_id="chatcmpl-1",
                                                   order="desc", limit=1))
    assert backwards is not None
    assert backwards.data[0]["content"] == "m2"
    assert await storage.ask(ListChatMessages(owner="bob", completion_id="chatcmpl-1")) is None


async def test_concurrent_saves_all_land(storage: ActorRef[StorageMessage]) -> None:
    async with trio.open_nursery() as nursery:
        for n in range(20):
            nursery.start_soon(save, storage, record(n, created=n))
    page = await storage.ask(ListChatCompletions(owner="alice", limit=100))
    assert len(page.records) == 20
