"""``openresponses serve --workers N``: N gateway processes on one machine, sharing one port.

The parent binds the listening socket once and starts N children (``python -m openresponses
serve --listen-fd FD --parent-fd FD``) that inherit it and accept from its one queue; each child
runs its own trio loop, its own actors and hypercorn, exactly as a single-process gateway.

Why an inherited socket rather than ``SO_REUSEPORT``: the port is bound once, so "address in
use" fails at start as with one process and no stranger can join the group; and connections
waiting in the queue survive a worker's death (with ``SO_REUSEPORT`` each worker has a queue of
its own, lost with it).

The parent supervises:

- a worker that exits while the gateway runs is started again, after a pause; if workers keep
  exiting within ``FAST_EXIT`` seconds of their start ``MAX_FAST_EXITS`` times in a row (a bad
  configuration, a store that cannot open), the gateway stops and the parent exits 1;
- SIGTERM / SIGINT are forwarded to every worker, which drains (``shutdown_grace``) and exits;
  the parent exits 0 once all have. Workers ignore repeated signals while draining (a terminal's
  Ctrl-C reaches the whole process group, the parent forwards it once more);
- a worker whose parent is gone (its end of a pipe closed: the parent was SIGKILLed) drains and
  exits, so no orphan keeps serving.

What the workers share: with SQLite the database (WAL and ``busy_timeout``: store/sqlite.py);
with ``OPENRESPONSES_REDIS_URL`` the rate limits. Without Redis each worker counts limits on its
own, so the gateway admits up to N times the configured limits: the parent warns.

Metrics: the parent creates a private directory for the run (removed at its exit) and passes it
to the workers as ``PROMETHEUS_MULTIPROC_DIR``; each worker writes its values to its own files
there and ``/metrics`` (and the console's traffic view) in any worker merges them all
(``observability/metrics.py``). When a worker exits, the parent marks it dead: its counters
stay in the totals, its live gauges (active streams, mailboxes) leave them. (A parent killed
outright leaves the directory in the temporary directory, ``TMPDIR``.) ``/ready`` answers
for the worker that accepted the connection and names its ``pid``; every log line carries the
``pid`` of the process that wrote it.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
from functools import partial

import attrs
import trio
from opentelemetry.trace import Tracer
from prometheus_client.multiprocess import mark_process_dead

from openresponses.config import Config
from openresponses.observability.metrics import MULTIPROCESS_DIR_ENV
from openresponses.server import serve

logger = logging.getLogger("openresponses.workers")

FAST_EXIT = 5.0  # seconds: a worker that exits sooner failed at start
MAX_FAST_EXITS = 5
_BACKLOG = 4096
_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` and listening, to be inherited by the workers."""
    host = host.strip("[]")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.create_server((host, port), family=family, backlog=_BACKLOG)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def serve_workers(config: Config, *, workers: int, host: str, port: int,
                  config_path: str | None) -> int:
    """Run ``workers`` gateway processes on ``host:port`` until SIGTERM / SIGINT; the exit
    status: 0 after a graceful stop, 1 if workers kept failing at start."""
    if config.redis_url is None and (config.rate_limit_ip_per_minute > 0
                                     or config.rate_limit_key_per_day > 0):
        logger.warning("rate limits are counted per worker without OPENRESPONSES_REDIS_URL: "
                       "%d workers admit up to %d times the configured limits", workers, workers)
    with listening_socket(host, port) as sock, metrics_directory() as metrics_dir:
        parent_end, child_end = os.pipe()  # the children watch child_end for EOF
        try:
            command = [sys.executable, "-m", "openresponses", "serve",
                       "--listen-fd", str(sock.fileno()), "--parent-fd", str(child_end)]
            if config_path is not None:
                command += ["--config", config_path]
            bound = sock.getsockname()
            logger.info("serving on http://%s:%d with %d workers", host, bound[1], workers,
                        extra={"fields": {"workers": workers}})
            parent = Parent(command, (sock.fileno(), child_end), workers,
                            metrics_dir=metrics_dir)
            return trio.run(parent.run)
        finally:
            os.close(parent_end)
            os.close(child_end)


def metrics_directory() -> tempfile.TemporaryDirectory[str]:
    """A fresh private directory (mode 0700) for the workers' metric files, removed with its
    contents when the context exits: a new run never adds up an old run's counts."""
    return tempfile.TemporaryDirectory(prefix="openresponses-metrics-",
                                       ignore_cleanup_errors=True)


@attrs.define
class Parent:
    """Starts, restarts and stops the workers (see the module docstring)."""

    command: list[str]
    fds: tuple[int, ...]
    count: int
    stopping: trio.Event = attrs.Factory(trio.Event)
    processes: dict[int, trio.Process] = attrs.Factory(dict)
    failed: bool = False
    fast_exit: float = FAST_EXIT
    max_fast_exits: int = MAX_FAST_EXITS
    metrics_dir: str | None = None  # the workers' PROMETHEUS_MULTIPROC_DIR (None: not set)

    async def run(self) -> int:
        async with trio.open_nursery() as nursery:
            await nursery.start(self._forward_signals)
            async with trio.open_nursery() as workers:
                for index in range(self.count):
                    workers.start_soon(self._keep, index)
            nursery.cancel_scope.cancel()
        logger.info("all workers stopped")
        return 1 if self.failed else 0

    async def _forward_signals(self, task_status: trio.TaskStatus[None]) -> None:
        with trio.open_signal_receiver(*_SIGNALS) as signals:
            task_status.started()
            async for signum in signals:
                if not self.stopping.is_set():
                    logger.info("received %s, stopping %d workers gracefully",
                                signal.Signals(signum).name, self.count)
                self.stop(signum)

    def stop(self, signum: int = signal.SIGTERM) -> None:
        """Stop restarting workers and send ``signum`` to the running ones."""
        self.stopping.set()
        for process in self.processes.values():
            if process.returncode is None:
                process.send_signal(signum)

    async def _keep(self, index: int) -> None:
        """Keep worker ``index`` running until the gateway stops."""
        fast_exits = 0
        while not self.stopping.is_set():
            began = trio.current_time()
            pid, status = await self._run_once(index)
            if self.stopping.is_set():
                return
            fast_exits = fast_exits + 1 if trio.current_time() - began < self.fast_exit else 0
            if fast_exits >= self.max_fast_exits:
                logger.error("worker %d exited at start %d times in a row (last status %s); "
                             "stopping the gateway", index, fast_exits, status)
                self.failed = True
                self.stop()
                return
            logger.warning("worker %d (pid %d) exited with status %s; starting another",
                           index, pid, status, extra={"fields": {"worker_pid": pid}})
            with trio.move_on_after(min(0.1 * 2 ** fast_exits, self.fast_exit)):
                await self.stopping.wait()

    async def _run_once(self, index: int) -> tuple[int, int | None]:
        """Start worker ``index`` and wait for it to exit: (its pid, its exit status)."""
        async with trio.open_nursery() as nursery:
            process: trio.Process = await nursery.start(partial(
                trio.run_process, self.command, check=False, stdin=subprocess.DEVNULL,
                pass_fds=self.fds, env=self._worker_env()))
            self.processes[index] = process
            if self.stopping.is_set():  # a signal came while it started
                process.send_signal(signal.SIGTERM)
        del self.processes[index]
        if self.metrics_dir is not None:  # its live gauges leave the totals, counters stay
            mark_process_dead(process.pid, self.metrics_dir)  # type: ignore[no-untyped-call]
        return process.pid, process.returncode

    def _worker_env(self) -> dict[str, str] | None:
        """The parent's environment, plus the metrics directory when there is one."""
        if self.metrics_dir is None:
            return None
        return {**os.environ, MULTIPROCESS_DIR_ENV: self.metrics_dir}


# -- in a worker -----------------------------------------------------------------------------


async def run_worker(config: Config, *, listen_fd: int, parent_fd: int | None,
                     tracer: Tracer | None = None) -> None:
    """Serve on the inherited socket ``listen_fd`` until SIGTERM / SIGINT or the parent's
    exit (``parent_fd`` reads EOF), then drain as a single gateway does."""
    shutdown = trio.Event()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_on_signals, shutdown)
        if parent_fd is not None:
            nursery.start_soon(_on_parent_exit, parent_fd, shutdown)
        binds = await nursery.start(partial(_serve_then_stop, config, listen_fd, shutdown,
                                            tracer, nursery.cancel_scope))
        logger.info("worker %d serving on %s", os.getpid(), ", ".join(binds),
                    extra={"fields": {"worker_pid": os.getpid()}})


async def _serve_then_stop(config: Config, listen_fd: int, shutdown: trio.Event,
                           tracer: Tracer | None, scope: trio.CancelScope,
                           task_status: trio.TaskStatus[list[str]]) -> None:
    await serve(config, fd=listen_fd, shutdown=shutdown, tracer=tracer, task_status=task_status)
    scope.cancel()  # the watchers: the worker is done


async def _on_signals(shutdown: trio.Event) -> None:
    """The first SIGTERM / SIGINT starts the drain; later ones are ignored (the receiver
    stays open, so they cannot kill the worker mid-drain)."""
    with trio.open_signal_receiver(*_SIGNALS) as signals:
        async for signum in signals:
            if not shutdown.is_set():
                logger.info("received %s, shutting down gracefully",
                            signal.Signals(signum).name)
                shutdown.set()


async def _on_parent_exit(parent_fd: int, shutdown: trio.Event) -> None:
    """The parent never writes to the pipe: readable means its end closed (it is gone)."""
    await trio.lowlevel.wait_readable(parent_fd)
    if not shutdown.is_set():
        logger.warning("the parent process is gone; shutting down gracefully")
        shutdown.set()

