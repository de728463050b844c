"""The ``--workers`` parent's share of the gateway's metrics: a private directory per run,
handed to every worker, and a worker that exits marked dead (its counters stay, its live
gauges go). Stand-in workers use prometheus-client as the gateway does; tests/e2e/test_workers.py
scrapes real gateways."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import trio
from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector

from openresponses.workers import Parent, metrics_directory
from tests.e2e.live import until

WORKER = [sys.executable, "-c",  # one request served, one stream open, then it exits
          "import signal\n"  # a SIGTERM drains a real worker: this one finishes its request
          "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
          "from prometheus_client import Counter, Gauge\n"
          "Counter('served', 'Requests.').inc()\n"
          "Gauge('streams', 'Open.', multiprocess_mode='livesum').set(1)\n"]


def files(directory: Path, pattern: str) -> list[Path]:
    return list(directory.glob(pattern))


def totals(directory: Path) -> dict[str, float]:
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(directory))  # type: ignore[no-untyped-call]
    return {sample.name: sample.value for metric in registry.collect()
            for sample in metric.samples}


async def test_workers_write_to_the_runs_directory_and_exits_are_marked_dead() -> None:
    with metrics_directory() as name:
        directory = Path(name)
        assert stat.S_IMODE(os.stat(name).st_mode) == 0o700  # private to the gateway's user
        parent = Parent(WORKER, (), 1, max_fast_exits=1000, metrics_dir=name)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(parent.run)
            with trio.fail_after(30):
                await until(lambda: len(files(directory, "counter_*.db")) >= 3)
            parent.stop()
        started = len(files(directory, "counter_*.db"))  # one file per worker process
        assert totals(directory) == {"served_total": started}  # every dead worker's count
        assert files(directory, "gauge_*") == []  # and none of their open streams
    assert files(directory.parent, directory.name) == []  # removed with the run
