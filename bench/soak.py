"""Soak: thousands of concurrent streams against a slow upstream (1 chunk per second).

A raw-socket trio client opens the streams at a steady rate (one request per connection), reads
each answer to its last chunk keeping only its head and tail, and counts the ones that did not
end with ``response.completed``. Each stream lasts the ramp plus the hold, so that all of them
are open together for the hold. Beside it a probe times ``GET /health`` every 100 ms: its
latency is the gateway's event-loop lag as a client sees it. RSS, CPU and the number of
streams the upstream is serving are sampled every second.
"""

from __future__ import annotations

import resource
import statistics
import time
from typing import Any

import attrs
import httpx2
import orjson
import trio

from bench import procstat
from bench.targets import Server

_END = b"response.completed"


def stream_limit(wanted: int) -> int:
    """How many streams this machine's open-file limit allows (each costs the gateway two
    sockets: the client's and the upstream's), at most ``wanted``."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return max(1, min(wanted, (soft - 200) // 2))


@attrs.define
class SoakState:
    opened: int = 0
    completed: int = 0
    errors: dict[str, int] = attrs.Factory(dict)
    ttfb: list[float] = attrs.Factory(list)
    lag: list[float] = attrs.Factory(list)
    peak_rss: int = 0
    peak_streams: int = 0
    probe_errors: int = 0
    timeline: list[tuple[float, float, int]] = attrs.Factory(list)

    def fail(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1


def _request(path: str, body: dict[str, Any], bearer: str) -> bytes:
    payload = orjson.dumps(body)
    head = (f"POST {path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
            f"authorization: Bearer {bearer}\r\ncontent-length: {len(payload)}\r\n"
            "connection: close\r\n\r\n")
    return head.encode() + payload


async def _one(port: int, raw: bytes, state: SoakState) -> None:
    start = time.perf_counter()
    try:
        stream = await trio.open_tcp_stream("127.0.0.1", port)
    except OSError as exc:
        state.fail(f"connect: {exc.strerror or exc}")
        return
    state.opened += 1
    head, tail, first = b"", b"", True
    try:
        async with stream:
            await stream.send_all(raw)
            while data := await stream.receive_some(65536):
                if first:
                    state.ttfb.append(time.perf_counter() - start)
                    head, first = data[:64], False
                    if not head.startswith(b"HTTP/1.1 200"):
                        break
                tail = (tail + data)[-2048:]
                if tail.endswith(b"\r\n0\r\n\r\n"):  # the last chunk: the answer is whole
                    break
    except (OSError, trio.BrokenResourceError) as exc:
        state.fail(f"read: {type(exc).__name__}")
        return
    if not head.startswith(b"HTTP/1.1 200"):
        state.fail(f"status: {head[:12].decode(errors='replace')}")
    elif _END not in tail:
        state.fail("stream ended without response.completed")
    else:
        state.completed += 1


async def _lag_probe(url: str, state: SoakState, done: trio.Event) -> None:
    async with httpx2.AsyncClient(timeout=30) as client:
        while not done.is_set():
            start = time.perf_counter()
            try:
                await client.get(url + "/health")
                state.lag.append(time.perf_counter() - start)
            except httpx2.HTTPError:
                state.probe_errors += 1
            with trio.move_on_after(0.1):
                await done.wait()


async def _sampler(server: Server, upstream_url: str, state: SoakState, done: trio.Event,
                   t0: float) -> None:
    """Every second: the server's RSS and how many streams the upstream is serving."""
    async with httpx2.AsyncClient(timeout=5) as client:
        while not done.is_set():
            rss = procstat.rss_bytes(server.pids())
            state.peak_rss = max(state.peak_rss, rss)
            try:
                streams = int((await client.get(upstream_url + "/stats")).json()["streams"])
            except httpx2.HTTPError:
                streams = -1
            state.peak_streams = max(state.peak_streams, streams)
            state.timeline.append((round(time.monotonic() - t0, 1), round(rss / 2**20, 1),
                                   streams))
            with trio.move_on_after(1.0):
                await done.wait()


async def _soak(server: Server, upstream_url: str, streams: int, chunks: int, rate: int,
                state: SoakState, deadline: float) -> bool:
    port = int(server.url.rsplit(":", 1)[1])
    body = {"model": f"groq@fake-c{chunks}-d1000", "input": "soak", "store": True,
            "stream": True}
    raw = _request("/v1/responses", body, server.bearer)
    done = trio.Event()
    t0 = time.monotonic()
    finished = False
    batch = max(1, rate // 20)
    async with trio.open_nursery() as outer:
        outer.start_soon(_lag_probe, server.url, state, done)
        outer.start_soon(_sampler, server, upstream_url, state, done, t0)
        with trio.move_on_after(deadline):
            async with trio.open_nursery() as nursery:
                for n in range(0, streams, batch):
                    for _ in range(min(batch, streams - n)):
                        nursery.start_soon(_one, port, raw, state)
                    await trio.sleep(0.05)
            finished = True
        done.set()
    return finished


def soak(server: Server, upstream: Server, streams: int, hold: int = 60,
         rate: int = 100) -> dict[str, Any]:
    """Open ``streams`` streams at ``rate`` a second, each long enough (one chunk a second)
    that all of them are open together for ``hold`` seconds. Bounded: 2 x the planned time
    plus 120 s, then whatever is still open counts as unfinished."""
    streams = stream_limit(streams)
    ramp = -(-streams // rate)
    chunks = ramp + hold
    state = SoakState()
    pids = server.pids()
    cpu0, t0 = procstat.cpu_seconds(pids), time.monotonic()
    finished = trio.run(_soak, server, upstream.url, streams, chunks, rate, state,
                        2.0 * (chunks + 4) + 120)
    elapsed = time.monotonic() - t0
    cpu = procstat.cpu_seconds(server.pids()) - cpu0
    unfinished = streams - state.completed - sum(state.errors.values())
    lag = sorted(state.lag)
    q = statistics.quantiles(lag, n=100, method="inclusive") if len(lag) > 1 else lag * 99
    return {
        "target": server.name, "streams": streams, "open_rate_per_s": rate, "chunks": chunks,
        "chunk_interval_s": 1.0, "planned_s": chunks + 4, "finished_in_time": finished,
        "elapsed_s": round(elapsed, 1), "peak_concurrent_upstream": state.peak_streams,
        "completed": state.completed, "errors": sum(state.errors.values()) + max(0, unfinished),
        "error_detail": {**state.errors, "unfinished": max(0, unfinished)},
        "health_probe_errors": state.probe_errors,
        "peak_rss_mb": round(state.peak_rss / 2**20, 1),
        "timeline_s_rssmb_streams": state.timeline,
        "cpu_util": round(cpu / elapsed, 3),
        "ttfb_p50_ms": round(statistics.median(state.ttfb) * 1000, 1) if state.ttfb else None,
        "ttfb_max_ms": round(max(state.ttfb) * 1000, 1) if state.ttfb else None,
        "lag_p50_ms": round(q[49] * 1000, 2) if lag else None,
        "lag_p99_ms": round(q[98] * 1000, 2) if lag else None,
        "lag_max_ms": round(lag[-1] * 1000, 2) if lag else None,
    }
