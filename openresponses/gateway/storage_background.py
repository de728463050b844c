"""The storage actor's background messages: recorded stream events, background jobs and the
gateway's secrets (``store.background``).

``StorageActor`` answers them like its chat messages: ``background_store_call`` says which store
method a message needs and whether it writes (its own transaction) or reads (the read pool).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, assert_never

import attrs

from actors import Ask
from openresponses.store.background import BackgroundJob, Event
from openresponses.store.base import Store


@attrs.frozen
class AppendEvents(Ask[None]):
    response_id: str
    events: list[Event]


@attrs.frozen(kw_only=True)
class LoadEvents(Ask[list[Event] | None]):
    """Events with ``sequence_number > after``; None if the response is unknown."""

    owner: str
    response_id: str
    after: int = -1


@attrs.frozen
class TrackJob(Ask[None]):
    job: BackgroundJob


@attrs.frozen
class FinishJob(Ask[None]):
    response_id: str


@attrs.frozen
class Heartbeat(Ask[None]):
    runner: str
    now: float


@attrs.frozen
class ReapJobs(Ask[list[str]]):
    """Fail the responses of jobs silent since ``stale_before`` or run by ``runners``; their
    ids."""

    stale_before: float
    error: dict[str, Any]
    runners: tuple[str, ...] = ()


@attrs.frozen
class JobRunners(Ask[list[str]]):
    """The runners that have jobs."""


@attrs.frozen
class CancelStored(Ask[dict[str, Any] | None]):
    """``Store.cancel_response``: cancelled if still unfinished; the response as it is."""

    owner: str
    response_id: str


@attrs.frozen
class GetSecret(Ask[bytes]):
    """The gateway secret ``name`` (made on first use, shared through the database)."""

    name: str


BackgroundMessage = (
    AppendEvents | LoadEvents | TrackJob | FinishJob | Heartbeat | ReapJobs | JobRunners
    | CancelStored | GetSecret
)


def background_store_call(message: BackgroundMessage) -> tuple[bool, Callable[[Store], object]]:
    """(whether it writes, the store call) that answers ``message``."""
    match message:
        case AppendEvents(response_id=response_id, events=events):
            return True, lambda store: store.append_events(response_id, events)
        case LoadEvents(owner=owner, response_id=response_id, after=after):
            return False, lambda store: store.response_events(owner, response_id, after=after)
        case TrackJob(job=job):
            return True, lambda store: store.track_job(job)
        case FinishJob(response_id=response_id):
            return True, lambda store: store.finish_job(response_id)
        case Heartbeat(runner=runner, now=now):
            return True, lambda store: store.heartbeat(runner, now)
        case ReapJobs(stale_before=stale_before, error=error, runners=runners):
            return True, lambda store: store.reap_jobs(stale_before, error, runners)
        case JobRunners():
            return False, lambda store: store.job_runners()
        case CancelStored(owner=owner, response_id=response_id):
            return True, lambda store: store.cancel_response(owner, response_id)
        case GetSecret(name=name):
            return True, lambda store: store.secret(name)  # may create it: the write path
        case _:
            assert_never(message)
