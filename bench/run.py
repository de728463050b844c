"""The whole benchmark: targets by scenarios by concurrency, then soak and growth, then reports.

Every target is started (its own temporary directory and database) before the first
measurement; at each point (scenario, concurrency) the targets take turns, a slice each per
round, the order rotated every round (``bench.measure``). The server under test runs on
core 0; the fake upstream, wrk, the probe and this script on core 1 (for ``direct`` the
upstream moves to core 0 while it is measured).
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

from bench import measure, probe, procstat, targets
from bench.growth import DEPTHS, SIZES, growth
from bench.litellm_env import ensure_litellm
from bench.measure import Plan
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
    soak_rate: int = 100
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


def start_target(name: str, workdir: Path, upstream: Server, options: Options) -> Server:
    starters: dict[str, Callable[[], Server]] = {
        "direct": lambda: targets.direct(upstream),
        "floor": lambda: targets.start_floor(workdir, upstream),
        "ours": lambda: targets.start_ours(workdir, upstream),
        "ours-w2": lambda: targets.start_ours(workdir, upstream, workers=2),
        "litellm": lambda: targets.start_litellm(workdir, upstream,
                                                 gateway_models(options.scenarios)),
    }
    workdir.mkdir(exist_ok=True)
    log(f"starting {name}")
    return starters[name]()


@contextlib.contextmanager
def upstream_on_server_core(server: Server, upstream: Server) -> Iterator[None]:
    """For ``direct``, the upstream is the server under test: move it to the server's core."""
    moved = server.name == "direct" and targets.pinned()
    if moved:
        procstat.pin(upstream.pid, SERVER_CORE)
    try:
        yield
    finally:
        if moved:
            procstat.pin(upstream.pid, DRIVER_CORE)


def usable(server: Server, scenario: Scenario, outcome: Outcome) -> bool:
    """Send one request first; note (and skip) a target that cannot serve the scenario."""
    problem = check_once(server, scenario)
    if problem is None:
        return True
    skipped = "404" in problem and scenario.key == "chat"
    why = "route not there yet (404)" if skipped else f"failed: {problem}"
    outcome.notes.append(f"{server.name} / {scenario.name}: {why}")
    log(f"  {server.name} / {scenario.name}: {why}")
    if not skipped:
        outcome.rows.append({"target": server.name, "scenario": scenario.name,
                             "key": scenario.key, "stream": scenario.stream,
                             "concurrency": None, "errors": 1, "error": problem})
    return False


def measure_point(servers: list[Server], upstream: Server, scenario: Scenario, concurrency: int,
                  plan: Plan, workdir: Path) -> list[dict[str, Any]]:
    """Every target at one point, in turns: round r gives each target one slice, starting
    with target r (mod n), so that the targets' slices are seconds apart and each target comes
    first as often as the others; a target warms up just before its first slice."""
    loads: dict[str, measure.Load] = {}
    for r in range(plan.rounds):
        shift = r % len(servers)
        for server in servers[shift:] + servers[:shift]:
            with upstream_on_server_core(server, upstream):
                if server.name not in loads:
                    loads[server.name] = measure.prepare(server, scenario, concurrency, plan,
                                                         workdir / server.name)
                took = measure.take_slice(loads[server.name], upstream, plan)
            log(f"  {scenario.name:30} c={concurrency:<4} {server.name:8} round {r + 1}: "
                f"{took.requests / took.window:>8.1f} req/s")
    return [measure.row(loads[server.name], plan) for server in servers]


def measure_all(servers: list[Server], upstream: Server, options: Options, workdir: Path,
                outcome: Outcome) -> None:
    """Every scenario and concurrency, the targets in turns at each point, so that every
    ratio compares targets measured seconds apart on a shared machine."""
    for scenario in options.scenarios:
        with_scenario = []
        for server in servers:
            with upstream_on_server_core(server, upstream):
                if usable(server, scenario, outcome):
                    with_scenario.append(server)
        if not with_scenario:
            continue
        for concurrency in options.concurrency:
            rows = measure_point(with_scenario, upstream, scenario, concurrency, options.plan,
                                 workdir)
            outcome.rows += rows
            for row in rows:
                log(f"  {scenario.name:30} c={concurrency:<4} {row['target']:8} "
                    f"{row['rps']:>8} req/s (spread {row['rps_spread_pct']} %)  "
                    f"p50 {row['p50_ms']} ms  p99 {row['p99_ms']} ms  "
                    f"cpu {row['cpu_ms_per_req']} ms/req  errors {row['errors']}")


def run_soak(workdir: Path, upstream: Server, options: Options, outcome: Outcome) -> None:
    for name in options.soak_targets:
        log(f"soak: {name}, {options.soak_streams} streams x {options.soak_seconds} s")
        starter = targets.start_ours if name == "ours" else targets.start_floor
        server = starter(workdir / f"soak-{name}", upstream,
                         max_connections=options.soak_streams + 256)
        log(f"  opening {options.soak_rate} streams/s")
        try:
            result = soak(server, upstream, options.soak_streams, options.soak_seconds,
                          options.soak_rate)
        finally:
            server.stop()
        outcome.soak.append(result)
        log("  " + ", ".join(f"{k} {v}" for k, v in result.items()
                             if k != "timeline_s_rssmb_streams"))


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
    servers: list[Server] = []
    try:
        for name in options.targets:
            servers.append(start_target(name, workdir / name, upstream, options))
        measure_all(servers, upstream, options, workdir, outcome)
        for server in servers:
            server.stop()
        if options.soak_streams and options.soak_targets:
            for name in options.soak_targets:
                (workdir / f"soak-{name}").mkdir()
            run_soak(workdir, upstream, options, outcome)
        if options.growth:
            (workdir / "growth").mkdir()
            run_growth(workdir, upstream, options, outcome)
    finally:
        for server in servers:
            server.stop()
        upstream.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return outcome
