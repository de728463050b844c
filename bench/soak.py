"""Soak: thousands of concurrent streams against a slow upstream (1 chunk per second).

A raw-socket trio client opens the streams in batches (one request per connection), reads each
answer to its last chunk keeping only its head and tail, and counts the ones that did not end
with ``response.completed``. Beside it a probe times ``GET /health`` every 100 ms: its latency
is the gateway's event-loop lag as a client sees it. RSS and CPU are sampled from /proc.
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
    rss_timeline: list[tuple[float, float]] = attrs.Factory(list)

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
                state.fail("health probe")
            with trio.move_on_after(0.1):
                await done.wait()


async def _sampler(server: Server, state: SoakState, done: trio.Event, t0: float) -> None:
    while not done.is_set():
        rss = procstat.rss_bytes(server.pids())
        state.peak_rss = max(state.peak_rss, rss)
        state.rss_timeline.append((round(time.monotonic() - t0, 1), round(rss / 2**20, 1)))
        with trio.move_on_after(1.0):
            await done.wait()


async def _soak(server: Server, streams: int, hold: int, state: SoakState,
                batch: int, deadline: float) -> bool:
    port = int(server.url.rsplit(":", 1)[1])
    body = {"model": f"groq@fake-c{hold}-d1000", "input": "soak", "store": True,
            "stream": True}
    raw = _request("/v1/responses", body, server.bearer)
    done = trio.Event()
    t0 = time.monotonic()
    finished = False
    async with trio.open_nursery() as outer:
        outer.start_soon(_lag_probe, server.url, state, done)
        outer.start_soon(_sampler, server, state, done, t0)
        with trio.move_on_after(deadline):
            async with trio.open_nursery() as nursery:
                for n in range(0, streams, batch):
                    for _ in range(min(batch, streams - n)):
                        nursery.start_soon(_one, port, raw, state)
                    await trio.sleep(0.05)
            finished = True
        done.set()
    return finished


def soak(server: Server, streams: int, hold: int = 60, batch: int = 100) -> dict[str, Any]:
    """Hold ``streams`` streams of ``hold`` one-second chunks; bounded by hold + 180 s."""
    streams = stream_limit(streams)
    state = SoakState()
    pids = server.pids()
    cpu0, t0 = procstat.cpu_seconds(pids), time.monotonic()
    finished = trio.run(_soak, server, streams, hold, state, batch, hold + 180.0)
    elapsed = time.monotonic() - t0
    cpu = procstat.cpu_seconds(server.pids()) - cpu0
    unfinished = streams - state.completed - sum(state.errors.values())
    lag = sorted(state.lag)
    q = statistics.quantiles(lag, n=100, method="inclusive") if len(lag) > 1 else lag * 99
    return {
        "target": server.name, "streams": streams, "chunks": hold, "chunk_interval_s": 1.0,
        "finished_in_time": finished, "elapsed_s": round(elapsed, 1),
        "completed": state.completed, "errors": sum(state.errors.values()) + max(0, unfinished),
        "error_detail": {**state.errors, "unfinished": max(0, unfinished)},
        "peak_rss_mb": round(state.peak_rss / 2**20, 1),
        "rss_timeline_mb": state.rss_timeline,
        "cpu_util": round(cpu / elapsed, 3),
        "ttfb_p50_ms": round(statistics.median(state.ttfb) * 1000, 1) if state.ttfb else None,
        "ttfb_max_ms": round(max(state.ttfb) * 1000, 1) if state.ttfb else None,
        "lag_p50_ms": round(q[49] * 1000, 2) if lag else None,
        "lag_p99_ms": round(q[98] * 1000, 2) if lag else None,
        "lag_max_ms": round(lag[-1] * 1000, 2) if lag else None,
    }
