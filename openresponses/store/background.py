"""Background responses in the storage interface: their recorded stream events, the jobs that
run them, and the gateway's own secrets.

- Events: every event a background response produced, by ``sequence_number``, so a stream can
  be resumed (``GET /v1/responses/{id}?stream=true&starting_after=N``) from any process.
- Jobs: one row per background response that is queued or running, naming the runner (one per
  gateway process) and its last heartbeat. A runner that stops beating (its process died) has
  its jobs reaped: their responses are marked ``failed``.
- Secrets: random keys the gateway makes once and shares through the database (e.g. the key
  that signs compaction items), so every process and every restart agree on them.

``Store`` includes this protocol.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import attrs

Event = dict[str, Any]


@attrs.frozen(kw_only=True)
class BackgroundJob:
    """A queued or running background response, owned by the runner ``runner``."""

    response_id: str
    owner: str
    runner: str
    heartbeat_at: float  # wall-clock seconds


def failure_events(response: dict[str, Any], error: dict[str, Any], after: int) -> list[Event]:
    """The ``error`` and ``response.failed`` events that end the recorded stream of a response
    failed by the reaper (numbered from ``after + 1``), so a replay of it ends as a live stream
    would have (``gateway.response_object.error_event`` has the same two shapes)."""
    code, message = error.get("code") or "server_error", error.get("message") or ""
    return [
        {"type": "error", "sequence_number": after + 1, "code": code, "message": message,
         "param": None, "error": {"type": "server_error", "code": code, "message": message,
                                  "param": None}},
        {"type": "response.failed", "sequence_number": after + 2, "response": response},
    ]


class BackgroundStore(Protocol):
    """The background methods of a ``Store``; blocking, called from worker threads."""

    def append_events(self, response_id: str, events: Sequence[Event]) -> None:
        """Record events of a stored response (by their ``sequence_number``; a repeated number
        replaces the earlier event)."""
        ...

    def response_events(self, owner: str, response_id: str, *, after: int) -> list[Event] | None:
        """The recorded events with ``sequence_number > after``, in order; None if the response
        is unknown for this owner."""
        ...

    def track_job(self, job: BackgroundJob) -> None:
        """Record (or take over) the job of a background response."""
        ...

    def finish_job(self, response_id: str) -> None:
        """Forget the job of a response that reached a final status."""
        ...

    def heartbeat(self, runner: str, now: float) -> None:
        """Mark every job of ``runner`` alive at ``now``."""
        ...

    def job_runners(self) -> list[str]:
        """The runners that have jobs."""
        ...

    def reap_jobs(self, stale_before: float, error: dict[str, Any],
                  runners: Sequence[str] = ()) -> list[str]:
        """Fail the responses of jobs whose heartbeat is older than ``stale_before``, or whose
        runner is one of ``runners`` (status ``failed`` with ``error``, if still queued or in
        progress, their recorded events ended by ``failure_events``) and forget the jobs; the
        ids of the responses failed."""
        ...

    def cancel_response(self, owner: str, response_id: str) -> dict[str, Any] | None:
        """Mark the stored response ``cancelled`` if it is still queued or in progress (one
        transaction); the response as it then is (cancelled, or already final), None if
        unknown for ``owner``."""
        ...

    def secret(self, name: str) -> bytes:
        """The secret called ``name``, made (32 random bytes) the first time it is asked for."""
        ...
