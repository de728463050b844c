"""A small trio + httpx2 client: time to first byte of streams, and a check of every answer.

wrk times whole responses only; the probe sends one request at a time beside it and records
when the first body byte (the first SSE event) arrived and whether the answer ended properly.
"""

from __future__ import annotations

import time

import attrs
import httpx2
import orjson
import trio

from bench.scenarios import Request

# How a well-ended answer ends, per wire format (chat / our Responses / LiteLLM / Anthropic).
_STREAM_ENDS = (b"[DONE]", b"response.completed", b"message_stop")
_BODY_MARKS = (b'"completed"', b'"stop"', b'"end_turn"')


@attrs.define
class ProbeStats:
    ttfb: list[float] = attrs.Factory(list)  # seconds
    total: list[float] = attrs.Factory(list)
    errors: int = 0
    first_error: str | None = None

    @property
    def count(self) -> int:
        return len(self.total) + self.errors

    def fail(self, reason: str) -> None:
        self.errors += 1
        if self.first_error is None:
            self.first_error = reason[:500]


async def one(client: httpx2.AsyncClient, url: str, body: bytes, headers: dict[str, str],
              stream: bool, stats: ProbeStats) -> None:
    """Send one request; record its timings, or an error if it failed or ended badly."""
    start = time.perf_counter()
    first: float | None = None
    tail = b""
    try:
        async with client.stream("POST", url, content=body, headers=headers) as response:
            async for chunk in response.aiter_raw():
                if first is None:
                    first = time.perf_counter() - start
                tail = (tail + chunk)[-4096:]
            status = response.status_code
    except httpx2.HTTPError as exc:
        stats.fail(f"{type(exc).__name__}: {exc}")
        return
    total = time.perf_counter() - start
    marks = _STREAM_ENDS if stream else _BODY_MARKS
    if status != 200 or not any(mark in tail for mark in marks):
        stats.fail(f"status {status}: {tail[-300:].decode(errors='replace')}")
        return
    stats.total.append(total)
    if first is not None:
        stats.ttfb.append(first)


async def loop(url: str, request: Request, bearer: str, stream: bool, stats: ProbeStats, *,
               until: trio.Event, pause: float, max_count: int = 100_000) -> None:
    """Send requests one after another, ``pause`` seconds apart, until ``until`` is set."""
    body = orjson.dumps(request.body)
    headers = {"content-type": "application/json", "authorization": f"Bearer {bearer}"}
    limits = httpx2.Limits(max_connections=1, max_keepalive_connections=1)
    async with httpx2.AsyncClient(timeout=60, limits=limits) as client:
        for _ in range(max_count):
            if until.is_set():
                return
            await one(client, url + request.path, body, headers, stream, stats)
            if pause:
                await trio.sleep(pause)
