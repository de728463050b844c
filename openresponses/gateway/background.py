"""The background runner actor: runs ``background: true`` responses as tasks in its own nursery.

A job outlives the request that started it. Its events are kept in memory while it runs (so
followers on this process get them at once) and recorded in the store after each batch (so a
stream can be resumed later, from any process). Its response is stored ``queued`` by the
route, ``in_progress`` once the upstream accepted it, and finally by the run itself.

- ``Cancel``: cancels the job's task; the response is stored ``cancelled`` (items still open
  end ``incomplete``) and returned. Idempotent: an unknown or finished job answers None.
- ``CancelElsewhere``: the job runs in another process (several share one store). Its job row
  is taken over by a cancel mark (``background_jobs.py``), then the stored response is marked
  ``cancelled`` if it is still unfinished (``Store.cancel_response``, one transaction: a cancel
  that comes after the run's final save finds it final and answers it as it is). Every
  ``watch`` seconds a runner with jobs looks for marks (one query) and stops its jobs that were
  marked, storing them ``cancelled``; a job that ends looks for a mark once more before it is
  forgotten, and keeps its end unless the store says it was cancelled first: the run's own
  saves never write over a cancel (``StoredResponse.replaces``), so what stays stored is what
  the canceller answered.
- ``Follow``: the events after a sequence number, then new ones as they come, until the
  response is final: from memory for a job of this runner, else from the store (polled).
- Liveness (``background_jobs.py``): the runner beats every ``heartbeat`` seconds for its
  jobs; jobs whose runner has been silent for ``stale_after`` seconds (their process died) are
  reaped, at start and on every beat: their responses are stored ``failed`` with a clear error.
  At start, the jobs of runners of this host whose process is gone (a restart) are reaped at
  once. On a graceful stop the jobs still running are cancelled and stored ``failed`` the same
  way.

Cancellation of an asker never touches a job; only a cancel and the runner's stop do.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import aclosing
from typing import Any, assert_never

import attrs
import trio

from actors import Actor, ActorRef, Ask, StreamAsk
from openresponses.errors import GatewayError
from openresponses.gateway.background_jobs import INTERRUPTED, JobRows, runner_id
from openresponses.gateway.builder import Event
from openresponses.gateway.run import as_gateway_error
from openresponses.gateway.storage import GetResponse, SaveResponse, StorageMessage
from openresponses.gateway.storage_background import AppendEvents, CancelStored, LoadEvents
from openresponses.store.base import StoredResponse

logger = logging.getLogger("openresponses.background")

UNFINISHED = ("queued", "in_progress")
BROKEN = {"code": "server_error",
          "message": "The background response failed because of an internal error."}
TERMINAL = ("response.completed", "response.incomplete", "response.failed")
_SETTLE_POLLS = 8  # polls of a final response for its last events to be recorded


@attrs.frozen(eq=False)
class Work:
    """What a job runs: the event batches of one response, and how to store its state."""

    response_id: str
    owner: str
    batches: AsyncGenerator[list[Event], None]
    snapshot: Callable[[], dict[str, Any]]  # a copy of the response as it is now
    record: Callable[[dict[str, Any]], StoredResponse]
    fail_before_start: Callable[[GatewayError], list[Event]]


@attrs.frozen
class Start(Ask[None]):
    """Run ``work``; answered once the job is recorded and its task started."""

    work: Work


@attrs.frozen
class Cancel(Ask[dict[str, Any] | None]):
    """Cancel a live job of ``owner``; its response stored ``cancelled``, or None."""

    owner: str
    response_id: str


@attrs.frozen
class CancelElsewhere(Ask[dict[str, Any]]):
    """Cancel the unfinished response ``record`` that no job of this runner runs; returns
    it as stored ``cancelled``."""

    record: StoredResponse


@attrs.frozen
class StopElsewhere(Ask[None]):
    """Mark the job of a response being deleted that another process runs: its runner stops
    it at its next look for marks (``watch``) and, finding it deleted, stores nothing."""

    owner: str
    response_id: str


@attrs.frozen
class Snapshot(Ask[dict[str, Any] | None]):
    """The response of a live job of ``owner`` as it is now, or None."""

    owner: str
    response_id: str


@attrs.frozen(kw_only=True)
class Follow(StreamAsk[list[Event]]):
    """Batches of the events after ``after`` until the response is final."""

    owner: str
    response_id: str
    after: int = -1


BackgroundMessage = Start | Cancel | CancelElsewhere | StopElsewhere | Snapshot | Follow


@attrs.define(eq=False)
class _Job:
    work: Work
    events: list[Event] = attrs.Factory(list)
    changed: trio.Event = attrs.Factory(trio.Event)
    finished: trio.Event = attrs.Factory(trio.Event)
    scope: trio.CancelScope = attrs.Factory(trio.CancelScope)
    started: bool = False
    cancelled: bool = False  # by Cancel, or marked by another process
    cancelled_elsewhere: bool = False  # the stored response already says cancelled
    interrupted: bool = False  # by the runner's stop
    final: dict[str, Any] | None = None

    def publish(self, batch: list[Event]) -> None:
        self.events += batch
        self.changed.set()
        self.changed = trio.Event()


class BackgroundRunner(Actor[BackgroundMessage]):
    """Runs background responses; see the module docstring."""

    concurrency = 4096  # followers stream from handler slots; jobs run in the context nursery

    def __init__(self, storage: ActorRef[StorageMessage], *, heartbeat: float = 10.0,
                 stale_after: float = 60.0, poll: float = 0.25, watch: float = 0.5,
                 clock: Callable[[], float] = time.time) -> None:
        self._storage = storage
        self._heartbeat = heartbeat
        self._watch_every = watch
        self._poll = poll
        self._jobs: dict[str, _Job] = {}
        self.runner = runner_id()
        self._rows = JobRows(storage=storage, runner=self.runner, stale_after=stale_after,
                             clock=clock)

    async def on_start(self) -> None:
        """Reap the jobs of dead runners (at once for those of this host whose process is
        gone), then beat and reap every ``heartbeat`` seconds, and watch for cancel marks."""
        await self._rows.reap_dead_here()
        self.context.nursery.start_soon(self._rows.beat_forever, self._heartbeat)
        self.context.nursery.start_soon(self._watch)

    async def on_stop(self) -> None:
        """Stop every job (stored ``failed``: interrupted) and wait until each is stored."""
        for job in list(self._jobs.values()):
            job.interrupted = True
            job.scope.cancel()
        for job in list(self._jobs.values()):
            await job.finished.wait()

    async def receive(self, message: BackgroundMessage) -> object:
        match message:
            case Start(work=work):
                await self._start(work)
                return None
            case Cancel(owner=owner, response_id=response_id):
                return await self._cancel(owner, response_id)
            case CancelElsewhere(record=record):
                return await self._cancel_elsewhere(record)
            case StopElsewhere(owner=owner, response_id=response_id):
                await self._rows.mark_cancelled(response_id, owner)
                return None
            case Snapshot(owner=owner, response_id=response_id):
                return self._snapshot(owner, response_id)
            case Follow():
                return self._follow(message)
            case _:
                assert_never(message)

    def _snapshot(self, owner: str, response_id: str) -> dict[str, Any] | None:
        job = self._live(owner, response_id)
        if job is None:
            return None
        response = job.work.snapshot()
        if not job.started:
            response["status"] = "queued"
        return response

    def _live(self, owner: str, response_id: str) -> _Job | None:
        job = self._jobs.get(response_id)
        return job if job is not None and job.work.owner == owner else None

    # -- jobs --------------------------------------------------------------------------------

    async def _start(self, work: Work) -> None:
        job = _Job(work)
        await self._rows.track(work.response_id, work.owner)
        self._jobs[work.response_id] = job
        self.context.nursery.start_soon(self._run, job)

    async def _run(self, job: _Job) -> None:
        """Drive the job, then store how it ended (shielded) and forget it."""
        error: dict[str, Any] | None = None
        with job.scope:
            try:
                await self._drive(job)
            except Exception as exc:
                if not job.started:  # the upstream refused it: a failed response
                    await self._fail_unstarted(job, as_gateway_error(exc))
                elif await self._deleted(job):  # its events could not be written: it is gone
                    logger.info("background response %s was deleted while it ran",
                                job.work.response_id)
                else:  # the run itself broke (e.g. its final save failed)
                    logger.exception("background response %s broke", job.work.response_id)
                    error = dict(BROKEN)
        with trio.CancelScope(shield=True):
            try:
                if not (job.cancelled or job.interrupted or error) and await self._marked(job):
                    job.cancelled = job.cancelled_elsewhere = True
                if job.cancelled or job.interrupted or error is not None:
                    stored = await self._stored(job)  # one read: deleted? cancelled elsewhere?
                    if stored is not None or not job.started:
                        await self._store_stopped(job, error or dict(INTERRUPTED), stored)
                await self._rows.finish(job.work.response_id)
            except Exception:
                logger.exception("could not record the end of background response %s",
                                 job.work.response_id)
            finally:
                self._jobs.pop(job.work.response_id, None)
                job.finished.set()
                job.publish([])  # wake followers: the job is over

    async def _drive(self, job: _Job) -> None:
        async with aclosing(job.work.batches) as batches:
            async for batch in batches:
                if not job.started:
                    job.started = True
                    await self._save(job, job.work.snapshot())  # in_progress
                await self._publish(job, batch)
        job.final = job.work.snapshot()

    async def _fail_unstarted(self, job: _Job, error: GatewayError) -> None:
        """Store the response failed, shielded: a cancel arriving meanwhile must not leave it
        ``queued`` (``_store_stopped`` then finds it final and stores nothing)."""
        with trio.CancelScope(shield=True):
            events = job.work.fail_before_start(error)
            job.final = job.work.snapshot()
            await self._save(job, job.final)
            await self._publish(job, events)

    async def _store_stopped(self, job: _Job, error: dict[str, Any],
                             stored: StoredResponse | None) -> None:
        """Store a job stopped midway: ``cancelled`` (asked) or ``failed`` with ``error``.
        ``stored``: the response as the store holds it now (cancelled there by another
        process before the run's end, which then did not write over it)."""
        response = job.work.snapshot()
        cancelled_first = stored is not None and stored.response.get("status") == "cancelled"
        if response.get("status") not in UNFINISHED and not (
                job.cancelled_elsewhere and cancelled_first):
            job.final = response
            return  # it finished while being stopped (before a cancel from elsewhere)
        for item in response.get("output", []):
            if item.get("status") == "in_progress":
                item["status"] = "incomplete"
        if job.cancelled:
            response["status"] = "cancelled"
        else:
            response.update(status="failed", error=error)
        job.final = response
        await self._save(job, response)

    async def _save(self, job: _Job, response: dict[str, Any]) -> None:
        """Store the job's response over its row (stored ``queued`` before the job began):
        a response deleted meanwhile, in any process, is not stored again."""
        record = attrs.evolve(job.work.record(response), replaces=True)
        await self._storage.ask(SaveResponse(record))

    async def _publish(self, job: _Job, batch: list[Event]) -> None:
        job.publish(batch)
        await self._storage.ask(AppendEvents(job.work.response_id, batch))

    async def _cancel(self, owner: str, response_id: str) -> dict[str, Any] | None:
        job = self._live(owner, response_id)
        if job is None:
            return None
        job.cancelled = True
        job.scope.cancel()
        await job.finished.wait()
        return job.final

    async def _cancel_elsewhere(self, record: StoredResponse) -> dict[str, Any]:
        """Mark the job cancelled, then the stored response, if it is still unfinished (see
        the module docstring); the response as it then is."""
        await self._rows.mark_cancelled(record.id, record.owner)
        now = await self._storage.ask(CancelStored(record.owner, record.id))
        return now if now is not None else {**record.response, "status": "cancelled"}

    async def _stored(self, job: _Job) -> StoredResponse | None:
        """The job's response as the store holds it; None once deleted (by a client, here or
        in another process): then it is not stored again."""
        return await self._storage.ask(GetResponse(job.work.owner, job.work.response_id))

    async def _deleted(self, job: _Job) -> bool:
        """Whether the job's response was deleted since it was first stored."""
        return job.started and await self._stored(job) is None

    async def _marked(self, job: _Job) -> bool:
        return job.work.response_id in await self._rows.marked_ids()

    async def _watch(self) -> None:
        """Stop the jobs cancelled from another process, every ``watch`` seconds."""
        while True:
            await trio.sleep(self._watch_every)
            if not self._jobs:
                continue
            try:
                marked = await self._rows.marked_ids()
            except Exception:
                logger.exception("background cancel watch failed")
                continue
            for response_id in marked:
                job = self._jobs.get(response_id)
                if job is not None and not job.cancelled:
                    job.cancelled = job.cancelled_elsewhere = True
                    job.scope.cancel()

    # -- followers ---------------------------------------------------------------------------

    def _follow(self, message: Follow) -> AsyncIterator[list[Event]]:
        job = self._live(message.owner, message.response_id)
        if job is not None:
            return self._from_memory(job, message.after)
        return self._from_store(message)

    async def _from_memory(self, job: _Job, after: int) -> AsyncGenerator[list[Event], None]:
        sent = 0  # how many of job.events were looked at
        while True:
            changed = job.changed
            if sent < len(job.events):
                batch = [e for e in job.events[sent:] if e["sequence_number"] > after]
                sent = len(job.events)
                if batch:
                    yield batch
            elif job.finished.is_set():
                return
            else:
                await changed.wait()

    async def _from_store(self, message: Follow) -> AsyncGenerator[list[Event], None]:
        """Recorded events, polled until the stored response is final (another runner's)."""
        after, last, settle = message.after, "", _SETTLE_POLLS
        while True:
            record = await self._storage.ask(GetResponse(message.owner, message.response_id))
            events = await self._storage.ask(LoadEvents(
                owner=message.owner, response_id=message.response_id, after=after))
            if events:
                after, last = events[-1]["sequence_number"], events[-1]["type"]
                yield events
            status = record.response.get("status") if record is not None else None
            if status not in UNFINISHED:  # final (or gone): its last events may still come
                settle -= 1
                if last in TERMINAL or status in (None, "cancelled") or settle <= 0:
                    return
            await trio.sleep(self._poll)
