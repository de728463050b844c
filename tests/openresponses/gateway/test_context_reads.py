"""``load_context``: a run loads a chain's context without the storage actor's mailbox while an
instance is attached, and asks the actor otherwise (stopped: ``ActorStopped`` as before). The
tip is read fresh every time, reads stay bounded, and the store is not closed under a load."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import trio
import trio.testing

from actors import ActorRef, ActorStopped
from actors.testing import started
from openresponses.gateway.context_reads import ContextReads
from openresponses.gateway.storage import (
    GetResponse,
    LoadContext,
    SaveResponse,
    StorageActor,
    StorageMessage,
    load_context,
)
from openresponses.schema.model_call import Item
from openresponses.store.base import Store, StoredResponse, open_store
from tests.openresponses.gateway.test_chain_cache import record, whole_chain
from tests.openresponses.gateway.test_storage_actor import Boom, RecordingStore, reads_held_at
from tests.openresponses.store.backends import FILE_BACKENDS, backend_url


class GatedStore(RecordingStore):
    """Counts ``get`` and ``chain`` calls, the gets running at once, and can hold either at a
    gate; ``get`` of ``resp_crash`` raises (a plain message reading it crashes the instance)."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.get_gate: threading.Event | None = None
        self.chain_gate: threading.Event | None = None
        self.lock = threading.Lock()
        self.gets = self.chains = self.running = self.most = 0

    def get(self, owner: str, response_id: str) -> StoredResponse | None:
        if response_id == "resp_crash":
            raise Boom("read failed")
        with self.lock:
            self.gets += 1
            self.running += 1
            self.most = max(self.most, self.running)
        if self.get_gate is not None:
            self.get_gate.wait(timeout=10)
        with self.lock:
            self.running -= 1
        return super().get(owner, response_id)

    def chain(self, owner: str, response_id: str) -> list[StoredResponse] | None:
        self.chains += 1
        if self.chain_gate is not None:
            self.chain_gate.wait(timeout=10)
        return super().chain(owner, response_id)


@pytest.fixture(params=FILE_BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with backend_url(request.param, tmp_path) as url:
        yield url


def actor(store: GatedStore, reads: ContextReads) -> StorageActor:
    return StorageActor(lambda: store, reads=reads)


async def save_chain(ref: ActorRef[StorageMessage], length: int) -> None:
    for n in range(1, length + 1):
        await ref.ask(SaveResponse(record(n)))


async def load(ref: ActorRef[StorageMessage], reads: ContextReads, n: int) -> list[Item] | None:
    return await load_context(ref, reads, "alice", f"resp_{n}")


async def test_a_direct_load_sends_no_message_and_reads_only_the_tip(store_url: str) -> None:
    store, reads = GatedStore(store_url), ContextReads()
    async with started(lambda: actor(store, reads)) as ref:
        await save_chain(ref, 5)
        assert reads.attached is not None
        processed = ref.statistics().processed
        for n in range(1, 6):
            assert await load(ref, reads, n) == await whole_chain(ref, n)
        assert ref.statistics().processed == processed + 5  # only the whole_chain asks
        gets, chains = store.gets, store.chains
        assert await load(ref, reads, 5) == await whole_chain(ref, 5)
        assert (store.gets, store.chains) == (gets + 1, chains + 1)  # + whole_chain's read
        assert await load_context(ref, reads, "mallory", "resp_5") is None


async def test_once_stopped_a_load_hears_that_the_actor_stopped(store_url: str) -> None:
    store, reads = GatedStore(store_url), ContextReads()
    async with started(lambda: actor(store, reads)) as ref:
        await save_chain(ref, 2)
        assert await load(ref, reads, 2) is not None
        await ref.stop()
        assert reads.attached is None
        with pytest.raises(ActorStopped):
            await load(ref, reads, 2)
    assert store.closed


@pytest.fixture
def other(store_url: str) -> Iterator[Store]:
    """Another gateway process's store on the same database."""
    opened = open_store(store_url)
    yield opened
    opened.close()


async def test_a_tip_deleted_or_replaced_by_another_process_is_seen_at_once(
    store_url: str, other: Store,
) -> None:
    store, reads = GatedStore(store_url), ContextReads()
    async with started(lambda: actor(store, reads)) as ref:
        await save_chain(ref, 4)
        for n in range(1, 5):
            await load(ref, reads, n)  # every context cached
        assert other.delete("alice", "resp_4")
        assert await load(ref, reads, 4) is None
        other.save_batch([record(3, text="replaced")])
        items = await load(ref, reads, 3)
        assert items is not None
        assert items[-1]["content"][0]["text"] == "replaced"


async def test_an_ancestor_deleted_by_another_process_no_longer_feeds_the_chain(
    store_url: str, other: Store,
) -> None:
    store, reads = GatedStore(store_url), ContextReads()
    async with started(lambda: actor(store, reads)) as ref:
        await save_chain(ref, 4)
        for n in range(1, 4):
            await load(ref, reads, n)  # resp_3's context cached, resp_1 in it
        assert reads.chains.get("alice", "resp_3") is not None
        assert other.delete("alice", "resp_1")
        items = await load(ref, reads, 4)
        assert items == await whole_chain(ref, 4)
        assert items is not None
        assert [item["id"] for item in items] == [
            "in_2", "msg_2", "in_3", "msg_3", "in_4", "msg_4"]
        assert await load(ref, reads, 4) == items  # and cached again from then on
        assert reads.chains.get("alice", "resp_4") is not None


async def test_direct_and_asked_reads_share_the_read_bound(store_url: str) -> None:
    store, reads = GatedStore(store_url), ContextReads(read_threads=2)
    async with started(lambda: actor(store, reads)) as ref:
        await save_chain(ref, 1)
        store.get_gate = threading.Event()
        found: list[list[Item] | None] = []

        async def direct() -> None:
            found.append(await load(ref, reads, 1))

        async def asked() -> None:
            found.append(await ref.ask(LoadContext("alice", "resp_1")))

        async with trio.open_nursery() as nursery:
            for n in range(6):
                nursery.start_soon(direct if n % 2 else asked)
            await reads_held_at(store, 2)
            store.get_gate.set()
        assert store.most == 2
        assert found == [await whole_chain(ref, 1)] * 6


async def test_the_store_is_not_closed_under_a_direct_load(store_url: str) -> None:
    store, reads = GatedStore(store_url), ContextReads()
    async with started(lambda: actor(store, reads)) as ref:
        await save_chain(ref, 3)
        store.chain_gate = threading.Event()  # nothing cached: the load reads the whole chain
        found: list[list[Item] | None] = []

        async def direct() -> None:
            found.append(await load(ref, reads, 3))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(direct)
            with trio.fail_after(5):  # the tip is read; the chain's read waits at the gate
                while store.chains == 0:  # noqa: ASYNC110
                    await trio.sleep(0.01)
            nursery.start_soon(ref.stop)
            await trio.testing.wait_all_tasks_blocked()
            assert reads.attached is None
            assert not store.closed
            store.chain_gate.set()
        assert store.closed
        store.chain_gate = None
    reopened = open_store(store_url)
    try:
        chain = reopened.chain("alice", "resp_3")
        assert chain is not None
        assert found == [[item for r in chain for item in (*r.input_items,
                                                           *r.response["output"])]]
    finally:
        reopened.close()


async def test_a_load_cancelled_while_waiting_for_a_reader_leaves_nothing_behind(
    store_url: str,
) -> None:
    store, reads = GatedStore(store_url), ContextReads(read_threads=1)
    async with started(lambda: actor(store, reads)) as ref:
        await save_chain(ref, 2)
        store.get_gate = threading.Event()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(load, ref, reads, 1)  # holds the only reader, at the gate
            await trio.testing.wait_all_tasks_blocked()
            with trio.move_on_after(0.05) as scope:
                await load(ref, reads, 2)
            assert scope.cancelled_caught
            assert reads.chains.get("alice", "resp_2") is None
            store.get_gate.set()
        assert store.gets == 1  # the cancelled load never read
        with trio.fail_after(5):
            await ref.stop()  # no store call left counted
    assert store.closed


async def test_after_a_crash_the_next_instance_loads_with_the_kept_cache(
    store_url: str,
) -> None:
    reads = ContextReads()
    stores: list[GatedStore] = []

    def fresh() -> GatedStore:  # each instance opens (and closes) a store of its own
        stores.append(GatedStore(store_url))
        return stores[-1]

    async with started(lambda: StorageActor(fresh, reads=reads)) as ref:
        await save_chain(ref, 3)
        for n in range(1, 4):
            await load(ref, reads, n)
        crashed = reads.attached
        await ref.send(GetResponse("alice", "resp_crash"))
        with trio.fail_after(5):  # the runtime counts restarts; it offers no event for it
            while ref.statistics().restarts == 0:  # noqa: ASYNC110
                await trio.sleep(0.01)
        assert await ref.ask(GetResponse("alice", "resp_1")) is not None  # the next one runs
        assert stores[0].closed
        assert reads.attached is not None
        assert reads.attached != crashed
        processed = ref.statistics().processed
        await ref.ask(SaveResponse(record(4)))
        assert await load(ref, reads, 4) == await whole_chain(ref, 4)
        assert ref.statistics().processed == processed + 2  # the save and whole_chain's ask
        assert (stores[1].gets, stores[1].chains) == (2, 1)  # resp_1, the tip; whole_chain
