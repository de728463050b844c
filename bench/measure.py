"""One measurement: a target, a scenario, a concurrency; load, probe and /proc sampling together.

Concurrency 1 of a stream is driven by the probe alone (so the TTFB it reports is not taken
beside a second client); otherwise wrk drives the load and, for streams, the probe runs one
request at a time beside it (paced, a few per second) for TTFB and answer checks. Server CPU
is the whole process tree's user+system time over the run, divided by the requests completed.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

import attrs
import trio

from bench import probe, procstat, wrk
from bench.scenarios import Scenario
from bench.targets import DRIVER_CORE, Server, pinned


@attrs.frozen
class Plan:
    seconds: float = 10.0
    warmup: float = 2.0
    probe_pause: float = 0.2


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 3)


async def _sample_rss(server: Server, peak: list[int], done: trio.Event) -> None:
    while not done.is_set():
        peak[0] = max(peak[0], procstat.rss_bytes(server.pids()))
        with trio.move_on_after(0.1):
            await done.wait()


async def _run(server: Server, scenario: Scenario, concurrency: int, plan: Plan,
               script: Path) -> tuple[wrk.WrkResult | None, probe.ProbeStats, int]:
    request = scenario.request(server.name)
    stats = probe.ProbeStats()
    done = trio.Event()
    peak = [0]
    result: wrk.WrkResult | None = None
    pin = ",".join(map(str, sorted(DRIVER_CORE))) if pinned() else None
    use_wrk = not (scenario.stream and concurrency == 1)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_sample_rss, server, peak, done)
        if scenario.stream or not use_wrk:
            pause = plan.probe_pause if use_wrk else 0.0
            nursery.start_soon(lambda: probe.loop(server.url, request, server.bearer,
                                                  scenario.stream, stats, until=done,
                                                  pause=pause))
        if use_wrk:
            result = await wrk.run(server.url + request.path, script, concurrency, plan.seconds,
                                   pin=pin)
        else:
            await trio.sleep(plan.seconds)
        done.set()
    return result, stats, peak[0]


def measure(server: Server, upstream: Server, scenario: Scenario, concurrency: int,
            plan: Plan, workdir: Path) -> dict[str, Any]:
    """Warm up, then measure; returns one result row (see bench/README.md for the fields)."""
    request = scenario.request(server.name)
    script = wrk.write_script(workdir / "request.lua", request, server.bearer)
    pin = ",".join(map(str, sorted(DRIVER_CORE))) if pinned() else None
    if plan.warmup:
        wrk.run_sync(server.url + request.path, script, concurrency, plan.warmup, pin=pin)
    server_pids, upstream_pids = server.pids(), upstream.pids()
    cpu0, up0, t0 = procstat.cpu_seconds(server_pids), procstat.cpu_seconds(upstream_pids), \
        time.monotonic()
    result, stats, peak = trio.run(_run, server, scenario, concurrency, plan, script)
    elapsed = time.monotonic() - t0
    cpu = procstat.cpu_seconds(server.pids()) - cpu0
    up_cpu = procstat.cpu_seconds(upstream_pids) - up0
    requests = (result.requests if result else 0) + len(stats.total)
    errors = (result.error_count if result else 0) + stats.errors
    duration = result.duration if result else elapsed
    lat = (result.p50_ms, result.p99_ms) if result else (
        _ms(_pct(stats.total, 50)), _ms(_pct(stats.total, 99)))
    return {
        "target": server.name, "scenario": scenario.name, "key": scenario.key,
        "stream": scenario.stream, "concurrency": concurrency,
        "requests": requests, "rps": round(requests / duration, 1) if duration else 0.0,
        "p50_ms": lat[0], "p99_ms": lat[1],
        "ttfb_p50_ms": _ms(_pct(stats.ttfb, 50)) if scenario.stream else None,
        "ttfb_p99_ms": _ms(_pct(stats.ttfb, 99)) if scenario.stream else None,
        "cpu_ms_per_req": round(cpu * 1000 / requests, 3) if requests else None,
        "server_cpu_util": round(cpu / elapsed, 3),
        "upstream_cpu_util": round(up_cpu / elapsed, 3),
        "peak_rss_mb": round(peak / 2**20, 1),
        "errors": errors,
        # a p99 past half the window means many requests were still in flight at its end:
        # requests/s and CPU per request are then biased (the window is too short)
        "window_ok": lat[1] is None or lat[1] < plan.seconds * 500,
        "error_detail": {**(result.errors if result else {}), "probe": stats.errors,
                         "first_probe_error": stats.first_error},
        "probe_requests": stats.count,
    }
