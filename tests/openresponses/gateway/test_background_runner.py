"""The background runner actor on a real storage actor: followers, cancel (also from another
runner sharing the store), failures, stop."""

from __future__ import annotations

import copy
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import attrs
import trio

from actors import ActorRef, open_supervisor
from openresponses.errors import GatewayError, UpstreamError
from openresponses.gateway.background import (
    BackgroundMessage,
    BackgroundRunner,
    Cancel,
    CancelElsewhere,
    Follow,
    Snapshot,
    Start,
    Work,
)
from openresponses.gateway.storage import GetResponse, SaveResponse, StorageActor, StorageMessage
from openresponses.gateway.storage_background import LoadEvents, ReapJobs
from openresponses.store.base import StoredResponse
from openresponses.store.sqlite import SqliteStore

Event = dict[str, Any]


@attrs.define
class FakeRun:
    """A response whose batches the test feeds through a channel."""

    response_id: str
    send: trio.MemorySendChannel[list[Event] | Exception]
    receive: trio.MemoryReceiveChannel[list[Event] | Exception]
    response: dict[str, Any]

    @classmethod
    def make(cls, response_id: str = "resp_1") -> FakeRun:
        send, receive = trio.open_memory_channel[list[Event] | Exception](10)
        response = {"id": response_id, "object": "response", "status": "in_progress",
                    "background": True, "created_at": 1, "error": None, "output": []}
        return cls(response_id, send, receive, response)

    async def batches(self) -> AsyncGenerator[list[Event], None]:
        async for batch in self.receive:
            if isinstance(batch, Exception):
                raise batch
            yield batch

    def record(self, response: dict[str, Any]) -> StoredResponse:
        return StoredResponse(id=self.response_id, owner="alice", response=response,
                              input_items=[], previous_response_id=None, created_at=1)

    def fail(self, error: GatewayError) -> list[Event]:
        self.response.update(status="failed", error={"code": "server_error",
                                                     "message": error.message})
        return [event(0, "response.created"), event(1, "response.failed")]

    def work(self) -> Work:
        return Work(response_id=self.response_id, owner="alice", batches=self.batches(),
                    snapshot=lambda: copy.deepcopy(self.response), record=self.record,
                    fail_before_start=self.fail)


def event(n: int, kind: str = "response.output_text.delta") -> Event:
    return {"type": kind, "sequence_number": n}


Refs = tuple[ActorRef[StorageMessage], ActorRef[BackgroundMessage]]


@asynccontextmanager
async def running() -> AsyncIterator[Refs]:
    async with open_supervisor() as supervisor:
        storage = await supervisor.start(lambda: StorageActor(lambda: SqliteStore(":memory:")),
                                         name="storage")
        runner = await supervisor.start(lambda: BackgroundRunner(storage, poll=0.01),
                                        name="background")
        yield storage, runner


async def start(storage: ActorRef[StorageMessage], runner: ActorRef[BackgroundMessage],
                run: FakeRun) -> None:
    queued = {**run.response, "status": "queued"}
    await storage.ask(SaveResponse(run.record(queued)))
    await runner.ask(Start(run.work()))


async def status(storage: ActorRef[StorageMessage], response_id: str = "resp_1") -> Any:
    record = await storage.ask(GetResponse("alice", response_id))
    assert record is not None
    return record.response["status"]


async def until_status(storage: ActorRef[StorageMessage], expected: str) -> None:
    """Wait (5 s at most) until resp_1 is stored with status ``expected``."""
    with trio.fail_after(5):
        while True:
            if await status(storage) == expected:
                return
            await trio.sleep(0.01)


async def test_followers_get_the_events_after_their_cursor_until_the_end() -> None:
    run = FakeRun.make()
    async with running() as (storage, runner):
        await start(storage, runner, run)
        snapshot = await runner.ask(Snapshot("alice", "resp_1"))
        assert snapshot is not None
        assert snapshot["status"] == "queued"  # not started yet
        await run.send.send([event(0, "response.created"), event(1)])
        seen: list[Event] = []
        async with runner.stream(Follow(owner="alice", response_id="resp_1", after=0)) as out:
            async for batch in out:
                seen += batch
                if len(seen) == 1:
                    run.response["status"] = "completed"
                    await run.send.send([event(2, "response.completed")])
                    await run.send.aclose()
        assert [e["sequence_number"] for e in seen] == [1, 2]
        stored = await storage.ask(LoadEvents(owner="alice", response_id="resp_1"))
        assert stored is not None
        assert [e["sequence_number"] for e in stored] == [0, 1, 2]
        assert await runner.ask(Snapshot("alice", "resp_1")) is None  # finished: not live


async def test_cancel_stores_the_response_cancelled_with_open_items_incomplete() -> None:
    run = FakeRun.make()
    async with running() as (storage, runner):
        await start(storage, runner, run)
        run.response["output"] = [{"type": "message", "id": "msg_1", "status": "in_progress"}]
        await run.send.send([event(0, "response.created")])
        await until_status(storage, "in_progress")
        assert await runner.ask(Cancel("bob", "resp_1")) is None  # another owner's
        cancelled = await runner.ask(Cancel("alice", "resp_1"))
        assert cancelled is not None
        assert cancelled["status"] == "cancelled"
        assert cancelled["output"][0]["status"] == "incomplete"
        assert await status(storage) == "cancelled"
        assert await runner.ask(Cancel("alice", "resp_1")) is None  # no longer running
        assert await storage.ask(ReapJobs(1e12, {})) == []  # its job was forgotten


async def test_a_refusal_before_the_start_fails_the_response() -> None:
    run = FakeRun.make()
    async with running() as (storage, runner):
        await start(storage, runner, run)
        await run.send.send(UpstreamError("quota exceeded", status=429))
        await until_status(storage, "failed")
        async with runner.stream(Follow(owner="alice", response_id="resp_1")) as out:
            types = [e["type"] async for batch in out for e in batch]
    assert types == ["response.created", "response.failed"]


async def test_stopping_the_runner_fails_the_responses_it_runs() -> None:
    run = FakeRun.make()
    async with running() as (storage, runner):
        await start(storage, runner, run)
        await run.send.send([event(0, "response.created")])
        await until_status(storage, "in_progress")
        await runner.stop()
        record = await storage.ask(GetResponse("alice", "resp_1"))
        assert record is not None
        assert record.response["status"] == "failed"
        assert "gateway stopped" in record.response["error"]["message"]


@asynccontextmanager
async def two_processes(watch: float = 0.01) -> AsyncIterator[tuple[ActorRef[StorageMessage],
                                                                    ActorRef[BackgroundMessage],
                                                                    ActorRef[BackgroundMessage]]]:
    """Two runners sharing one store, as two gateway processes do: (storage, a, b)."""
    async with open_supervisor() as supervisor:
        storage = await supervisor.start(lambda: StorageActor(lambda: SqliteStore(":memory:")),
                                         name="storage")
        a = await supervisor.start(lambda: BackgroundRunner(storage, poll=0.01, watch=watch),
                                   name="a")
        b = await supervisor.start(lambda: BackgroundRunner(storage, poll=0.01, watch=watch),
                                   name="b")
        yield storage, a, b


async def cancel_from(runner: ActorRef[BackgroundMessage], storage: ActorRef[StorageMessage],
                      response_id: str = "resp_1") -> dict[str, Any]:
    """What the cancel route does on a process that does not run the job."""
    assert await runner.ask(Cancel("alice", response_id)) is None
    record = await storage.ask(GetResponse("alice", response_id))
    assert record is not None
    return await runner.ask(CancelElsewhere(record))


async def test_a_cancel_from_another_runner_stops_the_job() -> None:
    run = FakeRun.make()
    async with two_processes() as (storage, a, b):
        await start(storage, a, run)
        run.response["output"] = [{"type": "message", "id": "msg_1", "status": "in_progress"}]
        await run.send.send([event(0, "response.created")])
        await until_status(storage, "in_progress")
        seen: list[Event] = []
        async with a.stream(Follow(owner="alice", response_id="resp_1")) as out:
            cancelled = await cancel_from(b, storage)
            assert cancelled["status"] == "cancelled"
            with trio.fail_after(5):
                async for batch in out:  # ends: the owner stopped the job
                    seen += batch
        assert [e["type"] for e in seen] == ["response.created"]
        assert await a.ask(Snapshot("alice", "resp_1")) is None  # no longer running
        record = await storage.ask(GetResponse("alice", "resp_1"))
        assert record is not None
        assert record.response["status"] == "cancelled"
        assert record.response["output"][0]["status"] == "incomplete"  # the owner's record
        assert await storage.ask(ReapJobs(1e12, {})) == []  # job and mark forgotten


async def test_a_job_finishing_as_it_is_cancelled_elsewhere_stays_cancelled() -> None:
    run = FakeRun.make()
    async with two_processes(watch=3600) as (storage, a, b):  # the watch never comes round
        await start(storage, a, run)
        await run.send.send([event(0, "response.created")])
        await until_status(storage, "in_progress")
        await cancel_from(b, storage)
        run.response["status"] = "completed"  # the run saves itself completed, as a
        # background run does (over its row, never over a cancel), then ends
        final = attrs.evolve(run.record(copy.deepcopy(run.response)), replaces=True)
        await storage.ask(SaveResponse(final))
        await run.send.send([event(1, "response.completed")])
        await run.send.aclose()
        with trio.fail_after(5):
            async with a.stream(Follow(owner="alice", response_id="resp_1", after=1)) as out:
                assert [batch async for batch in out] == []  # ends once the job is over
        assert await status(storage) == "cancelled"


async def test_a_cancel_from_elsewhere_that_read_the_job_running_after_it_ended_changes_nothing(
) -> None:
    """The other process read the response in progress; the run then saved itself completed
    before the cancel: the cancel answers completed (it wrote its stale copy, output lost)."""
    run = FakeRun.make()
    async with two_processes(watch=3600) as (storage, a, b):
        await start(storage, a, run)
        await run.send.send([event(0, "response.created")])
        await until_status(storage, "in_progress")
        read = await storage.ask(GetResponse("alice", "resp_1"))
        assert read is not None
        run.response.update(status="completed", output=[{"type": "message", "id": "msg_1"}])
        final = attrs.evolve(run.record(copy.deepcopy(run.response)), replaces=True)
        await storage.ask(SaveResponse(final))
        answered = await b.ask(CancelElsewhere(read))
        assert (answered["status"], answered["output"]) == ("completed", [
            {"type": "message", "id": "msg_1"}])
        await run.send.send([event(1, "response.completed")])
        await run.send.aclose()
        with trio.fail_after(5):
            async with a.stream(Follow(owner="alice", response_id="resp_1", after=1)) as out:
                assert [batch async for batch in out] == []
        stored = await storage.ask(GetResponse("alice", "resp_1"))
        assert stored is not None
        assert stored.response["status"] == "completed"
        assert stored.response["output"] == [{"type": "message", "id": "msg_1"}]
