"""One target at one point (scenario, concurrency), measured in slices: load, probe and /proc.

A point's targets take turns (``bench.run``): each gets ``Plan.rounds`` slices of
``seconds / rounds``, so that every target is measured on the same machine, whose speed drifts
by tens of per cent over tens of seconds on a shared VM. A target's first slice follows its
warm-up. Each slice starts its own load (wrk, or the probe alone at concurrency 1 of a stream)
and lets it settle for the ramp before the counting window opens; within the window the
requests are counted where they arrive at the fake upstream (its /stats), so neither the
load's start nor the requests still in flight when it is stopped bias requests/s or CPU per
request. For streams the probe runs beside wrk, one request at a time, for TTFB and answer
checks. Server CPU is the whole process tree's user+system time over the window.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

import attrs
import httpx2
import trio

from bench import probe, procstat, wrk
from bench.scenarios import Scenario
from bench.targets import DRIVER_CORE, Server, pinned

MAX_RAMP = 3.0  # seconds: a target slower than this to settle is flagged (window_ok: false)


@attrs.frozen
class Plan:
    seconds: float = 10.0  # measured seconds per target and point, all its slices together
    warmup: float = 2.0  # per target and point, before its first slice
    probe_pause: float = 0.2
    rounds: int = 5  # slices per target and point, taken in turns with the other targets'
    ramp: float = 0.25  # unmeasured seconds at the start of every slice, at least

    @property
    def slice_seconds(self) -> float:
        return self.seconds / max(1, self.rounds)


@attrs.frozen
class Slice:
    requests: int  # arrived at the upstream within the window
    window: float  # seconds
    cpu: float  # server CPU seconds within the window
    upstream_cpu: float
    wrk: wrk.WrkResult | None  # the whole slice, ramp included
    peak_rss: int


@attrs.define
class Load:
    """A target at one point: its wrk script, its ramp, its slices so far, and what the probe
    saw over all of them (pooled: percentiles of TTFB and of probe-only latency are exact)."""

    server: Server
    scenario: Scenario
    concurrency: int
    script: Path
    ramp: float
    stats: probe.ProbeStats = attrs.Factory(probe.ProbeStats)
    slices: list[Slice] = attrs.Factory(list)

    @property
    def use_wrk(self) -> bool:
        return not (self.scenario.stream and self.concurrency == 1)


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 3)


def _pin() -> str | None:
    return ",".join(map(str, sorted(DRIVER_CORE))) if pinned() else None


def prepare(server: Server, scenario: Scenario, concurrency: int, plan: Plan,
            workdir: Path) -> Load:
    """Write the target's wrk script and warm it up; the ramp is three times the warm-up's
    median latency (a closed loop settles within a few latencies; three leave room for the
    machine to slow down meanwhile), ``plan.ramp`` at least and ``MAX_RAMP`` at most."""
    request = scenario.request(server.name)
    script = wrk.write_script(workdir / "request.lua", request, server.bearer)
    ramp = plan.ramp
    if plan.warmup:
        warm = wrk.run_sync(server.url + request.path, script, concurrency, plan.warmup,
                            pin=_pin())
        ramp = min(max(ramp, 3 * warm.p50_ms / 1000), MAX_RAMP)
    return Load(server, scenario, concurrency, script, ramp)


async def _sample_rss(server: Server, peak: list[int], done: trio.Event) -> None:
    while not done.is_set():
        peak[0] = max(peak[0], procstat.rss_bytes(server.pids()))
        with trio.move_on_after(0.1):
            await done.wait()


async def _counters(client: httpx2.AsyncClient, load: Load, upstream: Server,
                    ) -> tuple[float, int, float, float]:
    """(time, requests the upstream has received, server CPU s, upstream CPU s)."""
    answer = await client.get(upstream.url + "/stats")
    return (time.monotonic(), int(answer.json()["requests"]),
            procstat.cpu_seconds(load.server.pids()), procstat.cpu_seconds(upstream.pids()))


async def _slice(load: Load, upstream: Server, plan: Plan) -> Slice:
    request = load.scenario.request(load.server.name)
    done = trio.Event()
    peak = [0]
    result: list[wrk.WrkResult] = []

    async def run_wrk() -> None:
        result.append(await wrk.run_until(
            load.server.url + request.path, load.script, load.concurrency, done,
            load.script.with_suffix(".out"), limit=load.ramp + plan.slice_seconds + 60,
            pin=_pin()))

    async with httpx2.AsyncClient(timeout=30) as client, trio.open_nursery() as nursery:
        nursery.start_soon(_sample_rss, load.server, peak, done)
        if load.scenario.stream:
            pause = plan.probe_pause if load.use_wrk else 0.0
            nursery.start_soon(lambda: probe.loop(load.server.url, request, load.server.bearer,
                                                  True, load.stats, until=done, pause=pause))
        if load.use_wrk:
            nursery.start_soon(run_wrk)
        await trio.sleep(load.ramp)
        before = await _counters(client, load, upstream)
        await trio.sleep(plan.slice_seconds)
        after = await _counters(client, load, upstream)
        done.set()
    window, requests, cpu, up_cpu = (b - a for a, b in zip(before, after, strict=True))
    return Slice(int(requests), window, cpu, up_cpu, result[0] if result else None, peak[0])


def take_slice(load: Load, upstream: Server, plan: Plan) -> Slice:
    """Load the target for its ramp and one slice; the slice is added to ``load``."""
    found = trio.run(_slice, load, upstream, plan)
    load.slices.append(found)
    return found


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 3) if values else None


def _wrk_errors(runs: list[wrk.WrkResult]) -> dict[str, int]:
    summed: dict[str, int] = {}
    for run in runs:
        for kind, count in run.errors.items():
            summed[kind] = summed.get(kind, 0) + count
    return summed


def row(load: Load, plan: Plan) -> dict[str, Any]:
    """The target's result row over its slices (see bench/README.md for the fields): the
    median of the slices' requests/s, CPU per request and wrk latencies, each slice's figure
    in a ``*_rounds`` list (in round order: the headline pairs them across targets), sums of
    requests and errors."""
    slices, stats, scenario = load.slices, load.stats, load.scenario
    rps = [round(s.requests / s.window, 1) for s in slices]
    cpu = [round(s.cpu * 1000 / s.requests, 3) for s in slices if s.requests]
    runs = [s.wrk for s in slices if s.wrk is not None]
    p50s = [run.p50_ms for run in runs]
    lat = (_median(p50s), _median([run.p99_ms for run in runs])) if runs else (
        _ms(_pct(stats.total, 50)), _ms(_pct(stats.total, 99)))
    window = sum(s.window for s in slices)
    median_rps = round(statistics.median(rps), 1) if rps else None
    return {
        "target": load.server.name, "scenario": scenario.name, "key": scenario.key,
        "stream": scenario.stream, "concurrency": load.concurrency,
        "requests": sum(s.requests for s in slices), "rps": median_rps,
        "rps_spread_pct": round((max(rps) - min(rps)) * 100 / median_rps, 1)
        if median_rps else None,
        "p50_ms": lat[0], "p99_ms": lat[1],
        "ttfb_p50_ms": _ms(_pct(stats.ttfb, 50)) if scenario.stream else None,
        "ttfb_p99_ms": _ms(_pct(stats.ttfb, 99)) if scenario.stream else None,
        "cpu_ms_per_req": _median(cpu),
        "server_cpu_util": round(sum(s.cpu for s in slices) / window, 3),
        "upstream_cpu_util": round(sum(s.upstream_cpu for s in slices) / window, 3),
        "peak_rss_mb": round(max(s.peak_rss for s in slices) / 2**20, 1),
        "errors": sum(run.error_count for run in runs) + stats.errors,
        # the load had settled when the window opened: the ramp was over 1.5 median latencies
        "window_ok": lat[0] is None or lat[0] * 1.5 <= load.ramp * 1000,
        "error_detail": {**_wrk_errors(runs), "probe": stats.errors,
                         "first_probe_error": stats.first_error},
        "probe_requests": stats.count,
        "rounds": len(slices), "slice_s": round(plan.slice_seconds, 3),
        "ramp_s": round(load.ramp, 3), "rps_rounds": rps, "cpu_ms_rounds": cpu,
        "p50_ms_rounds": p50s,
    }


def measure(server: Server, upstream: Server, scenario: Scenario, concurrency: int,
            plan: Plan, workdir: Path) -> dict[str, Any]:
    """One target alone: warm up, then ``plan.rounds`` slices back to back; one result row."""
    load = prepare(server, scenario, concurrency, plan, workdir)
    for _ in range(plan.rounds):
        take_slice(load, upstream, plan)
    return row(load, plan)
