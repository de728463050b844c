"""The whole benchmark: targets by scenarios by concurrency, then soak and growth, then reports.

Each target is started fresh (its own temporary directory and database), measured on every
scenario, and stopped. The server under test runs on core 0; the fake upstream, wrk, the probe
and this script on core 1 (for ``direct`` the upstream moves to core 0 while it is measured).
"""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import signal
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import httpx2
import orjson
import trio

from bench import probe, procstat, targets
from bench.growth import DEPTHS, SIZES, growth
from bench.litellm_env import ensure_litellm
from bench.measure import Plan, measure
from bench.scenarios import CONCURRENCY, SCENARIOS, Scenario, gateway_models
from bench.soak import soak
from bench.targets import DRIVER_CORE, SERVER_CORE, Server


@attrs.define
class Options:
    quick: bool = False
    targets: tuple[str, ...] = ("direct", "floor", "ours", "litellm")
    scenarios: tuple[Scenario, ...] = SCENARIOS
    concurrency: tuple[int, ...] = CONCURRENCY
    plan: Plan = attrs.Factory(Plan)
    soak_streams: int = 10_000
    soak_seconds: int = 60
    soak_targets: tuple[str, ...] = ("ours",)
    growth: bool = True
    growth_reps: int = 100
    growth_depths: tuple[int, ...] = DEPTHS
    growth_sizes: dict[str, int] = attrs.Factory(lambda: dict(SIZES))


@attrs.define
class Outcome:
    rows: list[dict[str, Any]] = attrs.Factory(list)
    notes: list[str] = attrs.Factory(list)
    soak: list[dict[str, Any]] = attrs.Factory(list)
    growth: dict[str, Any] | None = None


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # so that every started process is stopped on the way out


def prepare_process() -> None:
    """Pin this script to the driver core, raise its open-file limit to the hard limit, and
    turn SIGTERM into KeyboardInterrupt (cleanup runs)."""
    signal.signal(signal.SIGTERM, _terminate)
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if targets.pinned():
        os.sched_setaffinity(0, DRIVER_CORE)


def check_once(server: Server, scenario: Scenario) -> str | None:
    """One request before measuring: None if it answered well, else why not."""
    stats = probe.ProbeStats()
    request = scenario.request(server.name)

    async def go() -> None:
        body = orjson.dumps(request.body)
        headers = {"content-type": "application/json", "authorization": f"Bearer {server.bearer}"}
        async with httpx2.AsyncClient(timeout=30) as client:
            await probe.one(client, server.url + request.path, body, headers, scenario.stream,
                            stats)

    trio.run(go)
    return stats.first_error


@contextlib.contextmanager
def started(name: str, workdir: Path, upstream: Server, options: Options,
            ) -> Iterator[Server]:
    starters: dict[str, Callable[[], Server]] = {
        "direct": lambda: targets.direct(upstream),
        "floor": lambda: targets.start_floor(workdir, upstream),
        "ours": lambda: targets.start_ours(workdir, upstream),
        "litellm": lambda: targets.start_litellm(workdir, upstream,
                                                 gateway_models(options.scenarios)),
    }
    server = starters[name]()
    if name == "direct" and targets.pinned():
        procstat.pin(upstream.pid, SERVER_CORE)
    try:
        yield server
    finally:
        server.stop()
        if name == "direct" and targets.pinned():
            procstat.pin(upstream.pid, DRIVER_CORE)


def measure_target(server: Server, upstream: Server, options: Options, workdir: Path,
                   outcome: Outcome) -> None:
    for scenario in options.scenarios:
        problem = check_once(server, scenario)
        if problem is not None:
            skipped = "404" in problem and scenario.key == "chat"
            why = "route not there yet (404)" if skipped else f"failed: {problem}"
            outcome.notes.append(f"{server.name} / {scenario.name}: {why}")
            log(f"  {scenario.name}: {why}")
            if not skipped:
                outcome.rows.append({"target": server.name, "scenario": scenario.name,
                                     "key": scenario.key, "stream": scenario.stream,
                                     "concurrency": None, "errors": 1, "error": problem})
            continue
        for concurrency in options.concurrency:
            row = measure(server, upstream, scenario, concurrency, options.plan, workdir)
            outcome.rows.append(row)
            log(f"  {scenario.name:30} c={concurrency:<4} {row['rps']:>8} req/s  "
                f"p50 {row['p50_ms']} ms  p99 {row['p99_ms']} ms  "
                f"cpu {row['cpu_ms_per_req']} ms/req  errors {row['errors']}")


def run_soak(workdir: Path, upstream: Server, options: Options, outcome: Outcome) -> None:
    for name in options.soak_targets:
        log(f"soak: {name}, {options.soak_streams} streams x {options.soak_seconds} s")
        starter = targets.start_ours if name == "ours" else targets.start_floor
        server = starter(workdir / f"soak-{name}", upstream,
                         max_connections=options.soak_streams + 256)
        try:
            result = soak(server, options.soak_streams, options.soak_seconds)
        finally:
            server.stop()
        outcome.soak.append(result)
        log(f"  {result}")


def run_growth(workdir: Path, upstream: Server, options: Options, outcome: Outcome) -> None:
    log(f"growth: chain depths {options.growth_depths}, inputs {list(options.growth_sizes)}")
    ours = targets.start_ours(workdir / "growth", upstream)
    floor = targets.start_floor(workdir / "growth", upstream)
    try:
        outcome.growth = growth(ours, floor, upstream, reps=options.growth_reps,
                                big_reps=max(5, options.growth_reps // 5),
                                depths=options.growth_depths, sizes=options.growth_sizes)
    finally:
        ours.stop()
        floor.stop()
    for row in outcome.growth["rows"]:
        log(f"  {row}")


def run(options: Options) -> Outcome:
    """Everything ``options`` asks for; processes are stopped whatever happens."""
    prepare_process()
    outcome = Outcome()
    if "litellm" in options.targets:
        ensure_litellm(log)
    workdir = Path(tempfile.mkdtemp(prefix="openresponses-bench-"))
    upstream = targets.start_upstream(workdir)
    try:
        for name in options.targets:
            target_dir = workdir / name
            target_dir.mkdir()
            log(f"target {name}")
            with started(name, target_dir, upstream, options) as server:
                measure_target(server, upstream, options, target_dir, outcome)
        if options.soak_streams and options.soak_targets:
            for name in options.soak_targets:
                (workdir / f"soak-{name}").mkdir()
            run_soak(workdir, upstream, options, outcome)
        if options.growth:
            (workdir / "growth").mkdir()
            run_growth(workdir, upstream, options, outcome)
    finally:
        upstream.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return outcome
