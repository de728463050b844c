"""The storage actor: group commit, read-after-write, failures, cancellation, stop."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal, Protocol

import pytest
import trio
import trio.testing

from actors import ActorRef, open_supervisor
from actors.testing import started
from openresponses.gateway.storage import (
    DeleteResponse,
    GetResponse,
    ListInputItems,
    LoadChain,
    SaveResponse,
    StorageActor,
    StorageMessage,
)
from openresponses.keys import KeyRecord
from openresponses.store.base import (
    ChatCompletionsPage,
    ItemsPage,
    Store,
    StoredChatCompletion,
    StoredResponse,
    Tip,
    open_store,
)
from tests.openresponses.store.backends import FILE_BACKENDS, backend_url


class Boom(Exception):
    """The failure ``RecordingStore`` injects."""


class RecordingStore:
    """A store that records batches, can hold a write at a gate, and can fail one."""

    def __init__(self, url: str) -> None:
        self.inner = open_store(url)
        self.batches: list[list[str]] = []
        self.gate: threading.Event | None = None  # when set, writes wait for it
        self.fail_ids: set[str] = set()  # a batch holding any of these raises Boom
        self.closed = False

    def save_batch(self, records: Sequence[StoredResponse]) -> None:
        self.batches.append([r.id for r in records])
        if self.gate is not None:
            self.gate.wait(timeout=10)
        if self.fail_ids & {r.id for r in records}:
            raise Boom("disk on fire")
        self.inner.save_batch(records)

    def get(self, owner: str, response_id: str) -> StoredResponse | None:
        return self.inner.get(owner, response_id)

    def tip(self, owner: str, response_id: str) -> Tip | None:
        """Through ``get`` first, so the subclasses' gates, counts and failures on ``get``
        apply to a chain's tip as well; then the inner store's tip."""
        if self.get(owner, response_id) is None:
            return None
        return self.inner.tip(owner, response_id)

    def delete(self, owner: str, response_id: str) -> bool:
        return self.inner.delete(owner, response_id)

    def chain(self, owner: str, response_id: str) -> list[StoredResponse] | None:
        return self.inner.chain(owner, response_id)

    def input_items(
        self,
        owner: str,
        response_id: str,
        *,
        limit: int,
        order: Literal["asc", "desc"],
        after: str | None,
        before: str | None,
    ) -> ItemsPage | None:
        return self.inner.input_items(
            owner, response_id, limit=limit, order=order, after=after, before=before
        )

    def save_key(self, record: KeyRecord) -> None:
        self.inner.save_key(record)

    def find_key(self, key_hash: str) -> KeyRecord | None:
        return self.inner.find_key(key_hash)

    def list_keys(self) -> list[KeyRecord]:
        return self.inner.list_keys()

    def revoke_key(self, key_id: str) -> KeyRecord | None:
        return self.inner.revoke_key(key_id)

    def save_chat_completion(self, record: StoredChatCompletion) -> None:
        self.inner.save_chat_completion(record)

    def get_chat_completion(self, owner: str, completion_id: str) -> StoredChatCompletion | None:
        return self.inner.get_chat_completion(owner, completion_id)

    def list_chat_completions(
        self, owner: str, *, limit: int, order: Literal["asc", "desc"], after: str | None,
        model: str | None, metadata: dict[str, str],
    ) -> ChatCompletionsPage:
        return self.inner.list_chat_completions(owner, limit=limit, order=order, after=after,
                                                model=model, metadata=metadata)

    def update_chat_completion(
        self, owner: str, completion_id: str, metadata: dict[str, str]
    ) -> StoredChatCompletion | None:
        return self.inner.update_chat_completion(owner, completion_id, metadata)

    def delete_chat_completion(self, owner: str, completion_id: str) -> bool:
        return self.inner.delete_chat_completion(owner, completion_id)

    def chat_messages(
        self, owner: str, completion_id: str, *, limit: int, order: Literal["asc", "desc"],
        after: str | None,
    ) -> ItemsPage | None:
        return self.inner.chat_messages(owner, completion_id, limit=limit, order=order,
                                        after=after)

    def close(self) -> None:
        self.closed = True
        self.inner.close()

    def __getattr__(self, name: str) -> Any:
        """Every other store method (conversations, background) goes to the inner store."""
        return getattr(self.inner, name)


@pytest.fixture(params=FILE_BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Every test runs on a SQLite file and on a PostgreSQL schema of its own."""
    with backend_url(request.param, tmp_path) as url:
        yield url


def record(
    response_id: str, *, previous: str | None = None, owner: str = "alice"
) -> StoredResponse:
    return StoredResponse(
        id=response_id,
        owner=owner,
        response={"id": response_id, "status": "completed"},
        input_items=[{"id": f"{response_id}_in", "type": "message"}],
        previous_response_id=previous,
        created_at=0,
    )


def actor_of(store: RecordingStore) -> StorageActor:
    return StorageActor(lambda: store)


async def save_many(ref: ActorRef[StorageMessage], ids: Sequence[str]) -> None:
    async with trio.open_nursery() as nursery:
        for response_id in ids:
            nursery.start_soon(ref.ask, SaveResponse(record(response_id)))


async def test_concurrent_saves_share_few_transactions(store_url: str) -> None:
    store = RecordingStore(store_url)
    store.gate = threading.Event()
    ids = [f"resp_{n}" for n in range(100)]
    async with started(lambda: actor_of(store), mailbox_size=256) as ref:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(save_many, ref, ids)
            await trio.testing.wait_all_tasks_blocked()
            store.gate.set()  # first batch was taken; the rest gathered meanwhile
        assert sorted(i for batch in store.batches for i in batch) == sorted(ids)
        assert len(store.batches) <= 3
        found = await ref.ask(GetResponse("alice", "resp_99"))
        assert found == record("resp_99")


async def test_get_right_after_save_sees_the_record(store_url: str) -> None:
    store = RecordingStore(store_url)
    async with started(lambda: actor_of(store)) as ref:
        for n in range(20):
            await ref.ask(SaveResponse(record(f"resp_{n}")))
            assert await ref.ask(GetResponse("alice", f"resp_{n}")) == record(f"resp_{n}")


async def test_failed_write_fails_every_asker_of_its_batch_and_actor_serves_on(
    store_url: str,
) -> None:
    store = RecordingStore(store_url)
    store.gate = threading.Event()
    store.fail_ids = {"resp_bad"}
    outcomes: dict[str, str] = {}

    async def save(response_id: str) -> None:
        try:
            await ref.ask(SaveResponse(record(response_id)))
        except Boom:
            outcomes[response_id] = "failed"
        else:
            outcomes[response_id] = "saved"

    async with started(lambda: actor_of(store)) as ref:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(save, "resp_first")
            await trio.testing.wait_all_tasks_blocked()  # resp_first is at the gate
            for response_id in ("resp_a", "resp_bad", "resp_b"):
                nursery.start_soon(save, response_id)
            await trio.testing.wait_all_tasks_blocked()
            store.gate.set()
        assert [sorted(batch) for batch in store.batches] == [
            ["resp_first"],
            ["resp_a", "resp_b", "resp_bad"],
        ]
        assert outcomes == {
            "resp_first": "saved",
            "resp_a": "failed",
            "resp_bad": "failed",
            "resp_b": "failed",
        }
        assert await ref.ask(GetResponse("alice", "resp_a")) is None  # all or nothing
        await ref.ask(SaveResponse(record("resp_after")))
        assert await ref.ask(GetResponse("alice", "resp_after")) is not None


async def test_invalid_record_fails_only_its_own_save(store_url: str) -> None:
    store = RecordingStore(store_url)
    bad = StoredResponse(
        id="resp_bad",
        owner="alice",
        response={},
        input_items=[{"type": "message"}],
        previous_response_id=None,
        created_at=0,
    )
    async with started(lambda: actor_of(store)) as ref:
        with pytest.raises(ValueError, match="no string id"):
            await ref.ask(SaveResponse(bad))
        await ref.ask(SaveResponse(record("resp_good")))
        assert store.batches == [["resp_good"]]


async def test_cancelled_asker_does_not_stop_its_write(store_url: str) -> None:
    store = RecordingStore(store_url)
    store.gate = threading.Event()
    async with started(lambda: actor_of(store)) as ref:
        with trio.move_on_after(0.05) as scope:
            await ref.ask(SaveResponse(record("resp_1")))  # waits at the gate
        assert scope.cancelled_caught
        store.gate.set()
        await ref.ask(SaveResponse(record("resp_2")))  # queued behind the first write
        assert await ref.ask(GetResponse("alice", "resp_1")) == record("resp_1")
        assert store.batches == [["resp_1"], ["resp_2"]]


async def test_delete_comes_after_saves_asked_before_it(store_url: str) -> None:
    store = RecordingStore(store_url)
    store.gate = threading.Event()
    async with started(lambda: actor_of(store)) as ref:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(ref.ask, SaveResponse(record("resp_first")))
            await trio.testing.wait_all_tasks_blocked()
            with trio.move_on_after(0.05):
                await ref.ask(SaveResponse(record("resp_1")))  # gives up; stays pending
            store.gate.set()
        assert await ref.ask(DeleteResponse("alice", "resp_1")) is True
        assert await ref.ask(GetResponse("alice", "resp_1")) is None


async def test_stop_writes_pending_saves_and_closes_the_store(store_url: str) -> None:
    store = RecordingStore(store_url)
    store.gate = threading.Event()
    async with started(lambda: actor_of(store)) as ref:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(ref.ask, SaveResponse(record("resp_first")))
            await trio.testing.wait_all_tasks_blocked()
            with trio.move_on_after(0.05):
                await ref.ask(SaveResponse(record("resp_pending")))
            nursery.start_soon(ref.stop)
            await trio.testing.wait_all_tasks_blocked()
            store.gate.set()
    assert store.closed
    reopened = open_store(store_url)
    try:
        assert reopened.get("alice", "resp_first") is not None
        assert reopened.get("alice", "resp_pending") is not None
    finally:
        reopened.close()


async def test_chain_and_input_items_are_read_through_the_actor(store_url: str) -> None:
    store = RecordingStore(store_url)
    async with started(lambda: actor_of(store)) as ref:
        await ref.ask(SaveResponse(record("resp_0")))
        await ref.ask(SaveResponse(record("resp_1", previous="resp_0")))
        chain = await ref.ask(LoadChain("alice", "resp_1"))
        assert chain is not None
        assert [r.id for r in chain] == ["resp_0", "resp_1"]
        assert await ref.ask(LoadChain("mallory", "resp_1")) is None
        page = await ref.ask(ListInputItems(owner="alice", response_id="resp_1", limit=5))
        assert page == ItemsPage(
            [{"id": "resp_1_in", "type": "message"}], "resp_1_in", "resp_1_in", False
        )
        assert await ref.ask(ListInputItems(owner="mallory", response_id="resp_1")) is None


async def test_store_that_cannot_open_fails_the_start() -> None:
    def broken() -> Store:
        raise RuntimeError("store schema version 9 is newer than this gateway's (1)")

    async with open_supervisor() as supervisor:
        with pytest.raises(RuntimeError, match="newer"):
            await supervisor.start(lambda: StorageActor(broken), name="storage")


async def test_teardown_by_cancellation_finishes_the_write_and_closes(store_url: str) -> None:
    store = RecordingStore(store_url)
    store.gate = threading.Event()
    with trio.CancelScope() as cancel:
        async with started(lambda: actor_of(store)) as ref:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(ref.ask, SaveResponse(record("resp_first")))
                await trio.testing.wait_all_tasks_blocked()  # the write waits at the gate
                cancel.cancel()  # tears the actor down without on_stop
                threading.Timer(0.05, store.gate.set).start()
    assert store.closed
    reopened = open_store(store_url)
    try:
        assert reopened.get("alice", "resp_first") == record("resp_first")
    finally:
        reopened.close()


class GatedReads(RecordingStore):
    """``get`` waits at a gate and counts how many run at once."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.read_gate = threading.Event()
        self.lock = threading.Lock()
        self.running = 0
        self.most = 0

    def get(self, owner: str, response_id: str) -> StoredResponse | None:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        self.read_gate.wait(timeout=10)
        with self.lock:
            self.running -= 1
        return super().get(owner, response_id)


class CountsReads(Protocol):
    running: int  # reads in their threads now
    most: int  # the most at once so far


async def reads_held_at(store: CountsReads, bound: int) -> None:
    """Wait until ``bound`` reads run in their threads (there is no event to wait on), give one
    more time to start, were it let through, and check none did."""
    with trio.fail_after(5):
        while store.running < bound:  # noqa: ASYNC110
            await trio.sleep(0.01)
    await trio.sleep(0.2)
    assert store.most == bound


async def test_reads_run_at_most_read_threads_at_once(store_url: str) -> None:
    store = GatedReads(store_url)
    async with started(lambda: StorageActor(lambda: store, read_threads=2)) as ref:
        await ref.ask(SaveResponse(record("resp_1")))
        found: list[StoredResponse | None] = []

        async def read() -> None:
            found.append(await ref.ask(GetResponse("alice", "resp_1")))

        async with trio.open_nursery() as nursery:
            for _ in range(6):
                nursery.start_soon(read)
            await reads_held_at(store, 2)
            store.read_gate.set()
        assert store.most == 2
        assert found == [record("resp_1")] * 6
