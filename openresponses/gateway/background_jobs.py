"""The store's job rows, as background runners in several processes share them.

Every background job has a row naming its runner (``host:pid:tag``) and the runner's last
heartbeat. That row is how processes sharing one store see each other:

- Liveness: a runner beats for its jobs; jobs whose runner has been silent for ``stale_after``
  seconds (their process died) are reaped: their responses stored ``failed`` with
  ``INTERRUPTED``. A runner of this host whose process is gone (a restart) can be told at once
  (``dead_here``), without waiting for its heartbeat to go stale.
- Cancel marks: a job cancelled from another process has its row taken over by a mark
  (``cancelled:<response id>`` as its runner). The running job never writes its row, so the
  response it saves cannot hide the mark; its own runner finds the mark (``marked_ids``, one
  query listing the runners) and stops the job.

Every call goes through the storage actor; none touches the runner's jobs in memory.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
from collections.abc import Callable

import attrs
import trio

from actors import ActorRef
from openresponses.gateway.storage import StorageMessage
from openresponses.gateway.storage_background import (
    FinishJob,
    Heartbeat,
    JobRunners,
    ReapJobs,
    TrackJob,
)
from openresponses.store.background import BackgroundJob

logger = logging.getLogger("openresponses.background")

INTERRUPTED = {"code": "server_error",
               "message": "The gateway stopped while this background response was running; "
                          "it did not finish. Create it again."}
CANCEL_MARK = "cancelled:"  # + response id: the runner of a job cancelled from elsewhere


def runner_id() -> str:
    """A name for this runner: host, process and a random tag."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def dead_here(runner: str) -> bool:
    """Whether ``runner`` (another runner's id) ran on this host in a process that is gone:
    its pid is ours (a restart reusing it) or names no process. A cancel mark is no runner."""
    if runner.startswith(CANCEL_MARK):
        return False
    host, _, rest = runner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False  # alive, another user's
    return False


@attrs.frozen(kw_only=True)
class JobRows:
    """The job rows of one runner (``runner``), read and written through ``storage``."""

    storage: ActorRef[StorageMessage]
    runner: str
    stale_after: float
    clock: Callable[[], float]

    async def track(self, response_id: str, owner: str) -> None:
        """Record that this runner runs the job of ``response_id``."""
        await self.storage.ask(TrackJob(BackgroundJob(
            response_id=response_id, owner=owner, runner=self.runner,
            heartbeat_at=self.clock())))

    async def finish(self, response_id: str) -> None:
        """Forget the job's row (its response is stored final)."""
        await self.storage.ask(FinishJob(response_id))

    async def mark_cancelled(self, response_id: str, owner: str) -> None:
        """Take the job's row over with a cancel mark, for its runner to find."""
        await self.storage.ask(TrackJob(BackgroundJob(
            response_id=response_id, owner=owner, runner=CANCEL_MARK + response_id,
            heartbeat_at=self.clock())))

    async def marked_ids(self) -> set[str]:
        """The ids of the responses whose jobs were marked cancelled (one store query)."""
        runners = await self.storage.ask(JobRunners())
        return {r.removeprefix(CANCEL_MARK) for r in runners if r.startswith(CANCEL_MARK)}

    async def reap_dead_here(self) -> None:
        """Reap the stale jobs, and at once those of this host's runners that are gone."""
        runners = await self.storage.ask(JobRunners())
        await self.reap(tuple(r for r in runners if r != self.runner and dead_here(r)))

    async def reap(self, runners: tuple[str, ...] = ()) -> None:
        """Store ``failed`` the jobs whose runner is stale, or is one of ``runners``."""
        failed = await self.storage.ask(
            ReapJobs(self.clock() - self.stale_after, dict(INTERRUPTED), runners))
        for response_id in failed:
            logger.warning("background response %s was interrupted (its gateway process "
                           "stopped); marked failed", response_id)

    async def beat_forever(self, every: float) -> None:
        """Every ``every`` seconds, beat for this runner's jobs and reap the stale ones; a
        failed beat is logged and the next one tried. Runs until cancelled."""
        while True:
            await trio.sleep(every)
            try:
                await self.storage.ask(Heartbeat(self.runner, self.clock()))
                await self.reap()
            except Exception:
                logger.exception("background heartbeat failed")

