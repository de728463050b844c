"""The context cache: a deep chain's follow-up reads its tip only, and the answer is always
what reading the whole chain gives (after saves, re-saves and deletes too)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import trio

from actors import ActorRef
from actors.testing import started
from openresponses.gateway.chain_cache import ChainCache, History, chain_context, extend
from openresponses.gateway.storage import (
    DeleteResponse,
    LoadChain,
    LoadContext,
    SaveResponse,
    StorageActor,
    StorageMessage,
)
from openresponses.schema.model_call import Item
from openresponses.store.base import Store, StoredResponse, open_store


class CountingStore:
    """A SQLite store that counts the rows its chain reads return."""

    def __init__(self, url: str) -> None:
        self.inner: Store = open_store(url)
        self.chain_rows = 0

    def chain(self, owner: str, response_id: str) -> list[StoredResponse] | None:
        found = self.inner.chain(owner, response_id)
        self.chain_rows += len(found or [])
        return found

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def record(n: int, *, status: str = "completed", text: str | None = None) -> StoredResponse:
    response_id = f"resp_{n}"
    output = [{"id": f"msg_{n}", "type": "message", "role": "assistant",
               "content": [{"type": "output_text", "text": text or f"answer {n}"}]}]
    return StoredResponse(
        id=response_id, owner="alice",
        response={"id": response_id, "status": status, "output": output},
        input_items=[{"id": f"in_{n}", "type": "message", "role": "user", "content": f"q {n}"}],
        previous_response_id=f"resp_{n - 1}" if n > 1 else None, created_at=n,
    )


async def whole_chain(ref: ActorRef[StorageMessage], n: int) -> list[Item] | None:
    """What the context is by definition: every record of the stored chain, flattened."""
    chain = await ref.ask(LoadChain("alice", f"resp_{n}"))
    return None if chain is None else list(chain_context(chain).items)


async def context(ref: ActorRef[StorageMessage], n: int) -> list[Item] | None:
    return await ref.ask(LoadContext("alice", f"resp_{n}"))


async def test_each_turn_of_a_chain_reads_only_its_tip(tmp_path: Path) -> None:
    store = CountingStore(f"sqlite:///{tmp_path / 's.db'}")
    async with started(lambda: StorageActor(lambda: store)) as ref:
        for n in range(1, 31):
            await ref.ask(SaveResponse(record(n)))
            assert await context(ref, n) == await whole_chain(ref, n)
        rows_before = store.chain_rows
        items = await context(ref, 30)
    assert store.chain_rows == rows_before  # the cached parent served the chain
    assert items is not None
    assert len(items) == 60
    assert items[0]["id"] == "in_1"
    assert items[-1]["id"] == "msg_30"


async def test_a_deleted_ancestor_ends_the_chain_as_the_store_says(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    async with started(lambda: StorageActor(lambda: open_store(url))) as ref:
        for n in range(1, 6):
            await ref.ask(SaveResponse(record(n)))
            await context(ref, n)
        assert await ref.ask(DeleteResponse("alice", "resp_3"))
        after = await context(ref, 5)
        assert after == await whole_chain(ref, 5)
        assert after is not None
        assert [i["id"] for i in after] == ["in_4", "msg_4", "in_5", "msg_5"]
        assert await context(ref, 3) is None


async def test_a_rewritten_response_is_not_served_from_the_cache(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    async with started(lambda: StorageActor(lambda: open_store(url))) as ref:
        for n in range(1, 4):
            await ref.ask(SaveResponse(record(n)))
            await context(ref, n)
        await ref.ask(SaveResponse(record(2, text="rewritten")))
        await ref.ask(SaveResponse(record(4)))
        items = await context(ref, 4)
    assert items is not None
    assert items[3]["content"][0]["text"] == "rewritten"


async def test_unfinished_chains_are_read_from_the_store_every_time(tmp_path: Path) -> None:
    store = CountingStore(f"sqlite:///{tmp_path / 's.db'}")
    async with started(lambda: StorageActor(lambda: store)) as ref:
        await ref.ask(SaveResponse(record(1, status="in_progress")))
        await ref.ask(SaveResponse(record(2)))
        await context(ref, 2)
        await ref.ask(SaveResponse(record(1, text="done")))  # the background run finished
        await ref.ask(SaveResponse(record(3)))
        items = await context(ref, 3)
    assert items is not None
    assert items[1]["content"][0]["text"] == "done"


async def test_another_owner_never_sees_a_cached_context(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    async with started(lambda: StorageActor(lambda: open_store(url))) as ref:
        for n in range(1, 4):
            await ref.ask(SaveResponse(record(n)))
            await context(ref, n)
        assert await ref.ask(LoadContext("mallory", "resp_3")) is None


def test_the_cache_is_bounded_and_forgets_least_recently_used() -> None:
    cache = ChainCache(max_entries=2, max_items=100)
    for n in (1, 2):
        cache.put("o", f"r{n}", chain_context([record(n)]), cache.generation)
    assert cache.get("o", "r1") is not None  # r1 is now the most recently used
    cache.put("o", "r3", chain_context([record(3)]), cache.generation)
    assert (cache.get("o", "r1") is not None, cache.get("o", "r2"), len(cache)) == (True, None, 2)
    big = chain_context([record(n) for n in range(1, 60)])  # 118 items: over max_items
    cache.put("o", "big", big, cache.generation)
    assert cache.get("o", "big") is None


def test_a_load_that_raced_a_clear_is_not_cached() -> None:
    cache = ChainCache()
    generation = cache.generation
    cache.clear()  # a delete happened while the load was reading
    cache.put("o", "r1", chain_context([record(1)]), generation)
    assert cache.get("o", "r1") is None


def test_a_new_deletion_count_clears_the_cache_and_the_first_one_seen_does_not() -> None:
    cache = ChainCache()
    cache.put("o", "r1", chain_context([record(1)]), cache.generation)
    cache.seen(7)  # the first count this process sees: nothing was cached under another
    assert cache.get("o", "r1") is not None
    cache.seen(7)
    assert cache.get("o", "r1") is not None
    generation = cache.generation
    cache.seen(8)  # a response was deleted since, by this process or another
    assert (cache.get("o", "r1"), len(cache), cache.deletions) == (None, 0, 8)
    assert cache.generation == generation + 1  # a load begun before does not cache


async def test_loads_and_saves_interleaved_agree_with_the_store(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    async with started(lambda: StorageActor(lambda: open_store(url))) as ref:
        for n in range(1, 11):
            await ref.ask(SaveResponse(record(n)))
        async with trio.open_nursery() as nursery:
            for n in range(1, 11):
                nursery.start_soon(context, ref, n)
        for n in (10, 7, 3):
            assert await context(ref, n) == await whole_chain(ref, n)


def with_output(n: int, item: Item) -> StoredResponse:
    plain = record(n)
    return StoredResponse(id=plain.id, owner=plain.owner,
                          response={**plain.response, "output": [item]},
                          input_items=plain.input_items,
                          previous_response_id=plain.previous_response_id,
                          created_at=plain.created_at)


def test_a_context_is_plain_until_an_item_that_preparation_changes() -> None:
    assert chain_context([record(1), record(2)]).plain
    changed: list[Item] = [
        {"id": "c", "type": "compaction", "encrypted_content": "x"},
        {"id": "m", "type": "mcp_call", "name": "t", "arguments": "{}"},
        {"id": "t", "type": "custom_tool_call", "call_id": "c1", "name": "t", "input": ""},
        {"id": "f", "type": "function_call", "call_id": "c2", "name": "t", "arguments": "{}",
         "namespace": "ns"},
    ]
    for item in changed:
        assert not chain_context([record(1), with_output(2, item)]).plain, item["type"]
        assert not extend(chain_context([record(1)]), with_output(2, item)).plain
    plain_call: Item = {"id": "f", "type": "function_call", "call_id": "c3", "name": "t",
                        "arguments": "{}"}
    assert extend(chain_context([record(1)]), with_output(2, plain_call)).plain
    assert not extend(chain_context([with_output(1, changed[0])]), record(2)).plain


async def test_a_loaded_context_says_whether_it_is_plain(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    compaction: Item = {"id": "c", "type": "compaction", "encrypted_content": "x"}
    async with started(lambda: StorageActor(lambda: open_store(url))) as ref:
        for saved in (record(1), record(2), with_output(3, compaction), record(4)):
            await ref.ask(SaveResponse(saved))
        for n, plain in ((1, True), (2, True), (3, False), (4, False)):
            loaded = await ref.ask(LoadContext("alice", f"resp_{n}"))
            assert isinstance(loaded, History)
            assert loaded.plain is plain
            assert list(loaded) == await whole_chain(ref, n)
