"""``save_response``: a run joins the storage actor's batch directly while its flusher is
attached, and asks the actor otherwise (not started, full, torn down, stopped)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import trio
import trio.testing

from actors import ActorRef, ActorStopped
from actors.testing import started
from openresponses.gateway.group_commit import GroupCommit
from openresponses.gateway.storage import (
    GetResponse,
    StorageActor,
    StorageMessage,
    save_response,
)
from openresponses.store.base import StoredResponse
from tests.openresponses.gateway.test_storage_actor import Boom, RecordingStore, record
from tests.openresponses.store.backends import backend_url


@pytest.fixture
def store(tmp_path: Path) -> Iterator[RecordingStore]:
    with backend_url("sqlite-file", tmp_path) as url:
        yield RecordingStore(url)


class CrashingStore(RecordingStore):
    """Reading ``resp_crash`` raises: a plain message that reads it crashes the instance."""

    def get(self, owner: str, response_id: str) -> StoredResponse | None:
        if response_id == "resp_crash":
            raise Boom("read failed")
        return super().get(owner, response_id)


def processed(ref: ActorRef[StorageMessage]) -> int:
    return ref.statistics().processed


async def test_saves_join_the_batch_without_the_mailbox(store: RecordingStore) -> None:
    commits = GroupCommit()
    async with started(lambda: StorageActor(lambda: store, commits=commits)) as ref:
        assert commits.attached
        before = processed(ref)
        await save_response(ref, commits, record("resp_1"))
        assert processed(ref) == before  # no message went through the mailbox
        assert await ref.ask(GetResponse("alice", "resp_1")) == record("resp_1")


async def test_direct_saves_gather_into_few_transactions(store: RecordingStore) -> None:
    commits = GroupCommit()
    store.gate = threading.Event()
    async with started(lambda: StorageActor(lambda: store, commits=commits)) as ref:
        async with trio.open_nursery() as nursery:
            for n in range(50):
                nursery.start_soon(save_response, ref, commits, record(f"resp_{n}"))
            await trio.testing.wait_all_tasks_blocked()
            store.gate.set()  # the first batch was taken; the rest gathered meanwhile
        assert sorted(i for batch in store.batches for i in batch) == sorted(
            f"resp_{n}" for n in range(50))
        assert len(store.batches) <= 3


async def test_a_failed_write_fails_every_direct_saver_of_its_batch(
    store: RecordingStore,
) -> None:
    commits = GroupCommit()
    store.fail_ids = {"resp_bad"}
    store.gate = threading.Event()
    failed: list[str] = []

    async def save(response_id: str) -> None:
        try:
            await save_response(ref, commits, record(response_id))
        except Boom:
            failed.append(response_id)

    async with started(lambda: StorageActor(lambda: store, commits=commits)) as ref:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(save, "resp_first")
            await trio.testing.wait_all_tasks_blocked()  # at the gate, alone
            for response_id in ("resp_a", "resp_bad"):
                nursery.start_soon(save, response_id)
            await trio.testing.wait_all_tasks_blocked()
            store.gate.set()
        assert sorted(failed) == ["resp_a", "resp_bad"]
        await save_response(ref, commits, record("resp_after"))  # serves on
        assert await ref.ask(GetResponse("alice", "resp_after")) is not None


async def test_invalid_record_fails_alone_on_the_direct_path(store: RecordingStore) -> None:
    commits = GroupCommit()
    bad = StoredResponse(id="resp_bad", owner="alice", response={},
                         input_items=[{"type": "message"}], previous_response_id=None,
                         created_at=0)
    async with started(lambda: StorageActor(lambda: store, commits=commits)) as ref:
        with pytest.raises(ValueError, match="no string id"):
            await save_response(ref, commits, bad)
        await save_response(ref, commits, record("resp_good"))
        assert store.batches == [["resp_good"]]


async def test_a_cancelled_direct_saver_still_gets_its_record_written(
    store: RecordingStore,
) -> None:
    commits = GroupCommit()
    store.gate = threading.Event()
    async with started(lambda: StorageActor(lambda: store, commits=commits)) as ref:
        with trio.move_on_after(0.05) as scope:
            await save_response(ref, commits, record("resp_1"))  # waits at the gate
        assert scope.cancelled_caught
        store.gate.set()
        await save_response(ref, commits, record("resp_2"))
        assert await ref.ask(GetResponse("alice", "resp_1")) == record("resp_1")


async def test_a_full_batch_sends_the_save_through_the_mailbox(store: RecordingStore) -> None:
    commits = GroupCommit(limit=1)
    store.gate = threading.Event()
    async with started(lambda: StorageActor(lambda: store, commits=commits)) as ref:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(save_response, ref, commits, record("resp_1"))
            await trio.testing.wait_all_tasks_blocked()  # taken: resp_1 is being written
            nursery.start_soon(save_response, ref, commits, record("resp_2"))
            await trio.testing.wait_all_tasks_blocked()  # pending: the batch is full
            before = processed(ref)
            nursery.start_soon(save_response, ref, commits, record("resp_3"))
            await trio.testing.wait_all_tasks_blocked()
            store.gate.set()
        assert processed(ref) == before + 1  # resp_3 was asked
        assert await ref.ask(GetResponse("alice", "resp_3")) == record("resp_3")


async def test_after_a_crash_the_next_instance_takes_the_direct_saves(
    tmp_path: Path,
) -> None:
    commits = GroupCommit()
    with backend_url("sqlite-file", tmp_path) as url:
        async with started(lambda: StorageActor(lambda: CrashingStore(url),
                                                commits=commits)) as ref:
            await save_response(ref, commits, record("resp_1"))
            await ref.send(GetResponse("alice", "resp_crash"))  # crashes the instance
            with trio.fail_after(5):  # the runtime counts restarts; it offers no event for it
                while ref.statistics().restarts == 0:  # noqa: ASYNC110
                    await trio.sleep(0.01)
            assert await ref.ask(GetResponse("alice", "resp_1")) == record("resp_1")
            assert commits.attached
            before = processed(ref)
            await save_response(ref, commits, record("resp_2"))
            assert processed(ref) == before
            assert await ref.ask(GetResponse("alice", "resp_2")) == record("resp_2")


async def test_once_stopped_a_save_hears_that_the_actor_stopped(store: RecordingStore) -> None:
    commits = GroupCommit()
    async with started(lambda: StorageActor(lambda: store, commits=commits)) as ref:
        await save_response(ref, commits, record("resp_1"))
        await ref.stop()
        assert not commits.attached
        with pytest.raises(ActorStopped):
            await save_response(ref, commits, record("resp_2"))
    assert store.closed
    assert store.batches == [["resp_1"]]
