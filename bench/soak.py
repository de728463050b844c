"""Soak: thousands of concurrent streams against a slow upstream (1 chunk per second).

The streams come from ``bench.soak_client`` processes (raw trio sockets, one or more, so the
client is never the limit), opened at a steady rate, each long enough (ramp + hold chunks) that
all of them are open together for the hold. This driver watches beside them: a probe times
``GET /health`` every 100 ms (its latency is the gateway's event-loop lag as a client sees it);
every second it samples the gateway's RSS and CPU, the number of streams the upstream is serving
and the number the clients hold open, and the CPU of the clients and the upstream (to show they
were not the bottleneck).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from typing import Any

import attrs
import httpx2
import orjson
import trio

from bench import procstat
from bench.targets import PY, REPO, Server

_SAMPLE_S = 1.0
_PROBE_PAUSE_S = 0.1


def open_file_limit(pid: int) -> int:
    """The soft open-file limit of a running process (from /proc/<pid>/limits)."""
    try:
        with open(f"/proc/{pid}/limits") as f:
            for line in f:
                if line.startswith("Max open files"):
                    return int(line.split()[3])
    except (OSError, ValueError, IndexError):
        pass
    return 1024


def gateway_workers(server: Server) -> list[int]:
    """The processes that serve streams: the children of a ``--workers`` parent, else it."""
    pids = server.pids()
    return pids[1:] if len(pids) > 1 else pids


def stream_limit(server: Server, wanted: int) -> int:
    """How many streams the gateway's open-file limits allow (each costs a worker two sockets:
    the client's and the upstream's; 200 kept for everything else), at most ``wanted``."""
    room = sum((open_file_limit(pid) - 200) // 2 for pid in gateway_workers(server))
    return max(1, min(wanted, room))


@attrs.define
class SoakState:
    lag: list[float] = attrs.Factory(list)
    probe_errors: int = 0
    peak_rss: int = 0
    peak_streams: int = 0
    client_open: list[int] = attrs.Factory(list)  # the last progress of each client
    timeline: list[list[float]] = attrs.Factory(list)
    results: list[dict[str, Any]] = attrs.Factory(list)


@attrs.define
class Client:
    process: trio.Process
    index: int


async def _lag_probe(url: str, state: SoakState, done: trio.Event) -> None:
    async with httpx2.AsyncClient(timeout=30) as client:
        while not done.is_set():
            start = time.perf_counter()
            try:
                await client.get(url + "/health")
                state.lag.append(time.perf_counter() - start)
            except httpx2.HTTPError:
                state.probe_errors += 1
            with trio.move_on_after(_PROBE_PAUSE_S):
                await done.wait()


async def _sampler(server: Server, upstream: Server, clients: list[Client], state: SoakState,
                   done: trio.Event, t0: float) -> None:
    """Every second: [t, gateway RSS MB, gateway cores used, upstream streams, client-held
    streams, client cores used, upstream cores used]."""
    client_pids = [c.process.pid for c in clients]
    last = (time.monotonic(), procstat.cpu_seconds(server.pids()),
            procstat.cpu_seconds(client_pids), procstat.cpu_seconds(upstream.pids()))
    async with httpx2.AsyncClient(timeout=5) as http:
        while not done.is_set():
            with trio.move_on_after(_SAMPLE_S):
                await done.wait()
            now = (time.monotonic(), procstat.cpu_seconds(server.pids()),
                   procstat.cpu_seconds(client_pids), procstat.cpu_seconds(upstream.pids()))
            span = max(1e-6, now[0] - last[0])
            # max 0: an exited process's CPU no longer counts (the sum drops).
            cpu = [round(max(0.0, now[i] - last[i]) / span, 2) for i in (1, 2, 3)]
            last = now
            rss = procstat.rss_bytes(server.pids())
            state.peak_rss = max(state.peak_rss, rss)
            try:
                streams = int((await http.get(upstream.url + "/stats")).json()["streams"])
            except (httpx2.HTTPError, ValueError, KeyError):
                streams = -1
            state.peak_streams = max(state.peak_streams, streams)
            row = [round(now[0] - t0, 1), round(rss / 2**20, 1), cpu[0], streams,
                   sum(state.client_open), cpu[1], cpu[2]]
            state.timeline.append(row)
            if len(state.timeline) % 10 == 0:
                print(f"  soak {row[0]:>6} s: {row[4]} open at the clients, {streams} at the "
                      f"upstream, RSS {row[1]} MB, gateway {cpu[0]} cores", file=sys.stderr,
                      flush=True)


async def _read_client(client: Client, state: SoakState) -> None:
    """Follow a client's progress lines (stderr) and keep its final summary (stdout)."""
    assert client.process.stderr is not None
    assert client.process.stdout is not None
    buffer = b""
    async for data in client.process.stderr:
        buffer += data
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            try:
                state.client_open[client.index] = int(orjson.loads(line)["open"])
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                pass
    out = b"".join([chunk async for chunk in client.process.stdout])
    await client.process.wait()
    try:
        state.results.append(orjson.loads(out.strip().splitlines()[-1]))
    except (orjson.JSONDecodeError, IndexError):
        state.results.append({"streams": 0, "opened": 0, "completed": 0,
                              "errors": {f"client exited {client.process.returncode}": 1}})


def _client_argv(port: int, streams: int, rate: float, model: str, bearer: str,
                 deadline: float, cores: set[int] | None) -> list[str]:
    argv = [PY, "-m", "bench.soak_client", "--port", str(port), "--streams", str(streams),
            "--rate", str(rate), "--model", model, "--bearer", bearer,
            "--deadline", str(deadline)]
    return ["taskset", "-c", ",".join(map(str, sorted(cores))), *argv] if cores else argv


async def _soak(server: Server, upstream: Server, streams: int, chunks: int, rate: float,
                clients: int, cores: set[int] | None, deadline: float,
                state: SoakState) -> None:
    port = int(server.url.rsplit(":", 1)[1])
    model = f"groq@fake-c{chunks}-d1000"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    shares = [streams // clients + (1 if i < streams % clients else 0) for i in range(clients)]
    state.client_open = [0] * clients
    done = trio.Event()
    t0 = time.monotonic()
    async with trio.open_nursery() as outer:
        procs = [Client(await trio.lowlevel.open_process(
            _client_argv(port, share, rate * share / streams, model, server.bearer, deadline,
                         cores),
            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE),
            i) for i, share in enumerate(shares)]
        outer.start_soon(_lag_probe, server.url, state, done)
        outer.start_soon(_sampler, server, upstream, procs, state, done, t0)
        try:
            async with trio.open_nursery() as readers:
                for proc in procs:
                    readers.start_soon(_read_client, proc, state)
        finally:  # interrupted: no client outlives the soak
            for proc in procs:
                if proc.process.returncode is None:
                    proc.process.kill()
            done.set()


def soak(server: Server, upstream: Server, streams: int, hold: int = 60, rate: int = 100, *,
         clients: int | None = None, client_cores: set[int] | None = None) -> dict[str, Any]:
    """Open ``streams`` streams at ``rate`` a second from ``clients`` processes (default one
    per 5,000 streams), each long enough (one chunk a second) that all of them are open
    together for ``hold`` seconds. Bounded: 2 x the planned time plus 120 s, then whatever is
    still open counts as unfinished."""
    requested, streams = streams, stream_limit(server, streams)
    clients = clients or max(1, -(-streams // 5000))
    ramp = -(-streams // rate)
    chunks = ramp + hold
    state = SoakState()
    cpu0, t0 = procstat.cpu_seconds(server.pids()), time.monotonic()
    deadline = 2.0 * (chunks + 4) + 120
    trio.run(_soak, server, upstream, streams, chunks, rate, clients, client_cores, deadline,
             state)
    elapsed = time.monotonic() - t0
    cpu = procstat.cpu_seconds(server.pids()) - cpu0
    return {"requested_streams": requested,
            **_result(server, state, streams, rate, chunks, clients, elapsed, cpu)}


def rss_per_stream_kb(timeline: list[list[float]]) -> float | None:
    """Resident memory per open stream (KB): the least-squares slope of the gateway's RSS
    against the streams the upstream is serving, over the ramp (the rows up to the first
    peak of open streams), where the count moves and little else does."""
    top = max((row[3] for row in timeline), default=0)
    ramp = []
    for row in timeline:
        if row[3] >= 0:
            ramp.append((row[3], row[1]))
        if row[3] == top:
            break
    if len(ramp) < 3 or top <= 0:
        return None
    mean_n = sum(n for n, _ in ramp) / len(ramp)
    mean_r = sum(r for _, r in ramp) / len(ramp)
    spread = sum((n - mean_n) ** 2 for n, _ in ramp)
    if spread == 0:
        return None
    slope = sum((n - mean_n) * (r - mean_r) for n, r in ramp) / spread  # MB per stream
    return round(slope * 1024, 1)


def cpu_us_per_chunk(timeline: list[list[float]], streams: int, interval: float) -> float | None:
    """The gateway's CPU per relayed chunk (µs) while every stream is open and nothing else
    happens (no opens, no ends): the mean cores used over those rows, less the first two and
    the last (partial seconds), divided by the chunks a second (``streams / interval``)."""
    held = [row[2] for row in timeline if row[4] >= streams]
    held = held[2:-1]
    if not held or streams <= 0:
        return None
    return round(sum(held) / len(held) * interval / streams * 1e6, 1)


def _result(server: Server, state: SoakState, streams: int, rate: int, chunks: int,
            clients: int, elapsed: float, cpu: float) -> dict[str, Any]:
    errors: dict[str, int] = {}
    samples: dict[str, str] = {}
    for result in state.results:
        for kind, count in result["errors"].items():
            errors[kind] = errors.get(kind, 0) + count
        samples.update(result.get("error_samples", {}))
    completed = sum(r["completed"] for r in state.results)
    unfinished = max(0, streams - completed - sum(errors.values()))
    lag = sorted(state.lag)
    q = statistics.quantiles(lag, n=100, method="inclusive") if len(lag) > 1 else lag * 99
    ttfb_p50 = [r["ttfb_p50_ms"] for r in state.results if r.get("ttfb_p50_ms") is not None]
    ttfb_max = [r["ttfb_max_ms"] for r in state.results if r.get("ttfb_max_ms") is not None]
    timeline = state.timeline
    return {
        "target": server.name, "workers": len(gateway_workers(server)), "streams": streams,
        "clients": clients, "open_rate_per_s": rate, "chunks": chunks,
        "chunk_interval_s": 1.0, "planned_s": chunks + 4,
        "finished_in_time": all(r.get("finished_in_time") for r in state.results),
        "elapsed_s": round(elapsed, 1), "peak_concurrent_upstream": state.peak_streams,
        "peak_open_at_clients": max((row[4] for row in timeline), default=0),
        "completed": completed, "errors": sum(errors.values()) + unfinished,
        "error_detail": {**errors, "unfinished": unfinished},
        "error_samples": samples,
        "health_probe_errors": state.probe_errors,
        "peak_rss_mb": round(state.peak_rss / 2**20, 1),
        "rss_kb_per_stream": rss_per_stream_kb(timeline),
        "cpu_us_per_chunk_held": cpu_us_per_chunk(timeline, streams, 1.0),
        "cpu_util": round(cpu / elapsed, 3),
        "peak_cpu_util": max((row[2] for row in timeline), default=0.0),
        "client_peak_cpu_util": max((row[5] for row in timeline), default=0.0),
        "upstream_peak_cpu_util": max((row[6] for row in timeline), default=0.0),
        "ttfb_p50_ms": max(ttfb_p50) if ttfb_p50 else None,
        "ttfb_max_ms": max(ttfb_max) if ttfb_max else None,
        "lag_p50_ms": round(q[49] * 1000, 2) if lag else None,
        "lag_p99_ms": round(q[98] * 1000, 2) if lag else None,
        "lag_max_ms": round(lag[-1] * 1000, 2) if lag else None,
        "timeline_columns": ["t_s", "rss_mb", "gateway_cpu", "upstream_streams",
                             "client_open", "client_cpu", "upstream_cpu"],
        "timeline_s_rssmb_streams": timeline,
    }
