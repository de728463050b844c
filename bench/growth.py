"""Growth: the gateway's own CPU per turn, deep in a ``previous_response_id`` chain and with
large inputs, against the floor proxy forwarding the same number of bytes upstream.

Requests go one at a time (concurrency 1, non-stream, ``store: true``). For each point:
server CPU per request from /proc, the bytes the upstream received per request (its /stats),
and the floor's CPU for a request of that size: ``overhead = ours - floor``, the part of the
cost that is the gateway's own (load chain + translate + store) rather than moving bytes.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import httpx2

from bench import procstat
from bench.targets import Server

DEPTHS = (1, 50, 200)
SIZES = {"1KB": 1, "1MB": 1000}  # input = N message items of 1 KB each
_KB = "x" * 1000


def _upstream_bytes(client: httpx2.Client, upstream: Server) -> int:
    return int(client.get(upstream.url + "/stats").json()["bytes_in"])


def _cost(client: httpx2.Client, server: Server, upstream: Server, reps: int,
          send: Callable[[], httpx2.Response]) -> dict[str, float]:
    """CPU ms, upstream bytes and latency per request over ``reps`` calls of ``send``."""
    pids = server.pids()
    bytes0 = _upstream_bytes(client, upstream)
    cpu0 = procstat.cpu_seconds(pids)
    latencies = []
    for _ in range(reps):
        start = time.perf_counter()
        response = send()
        latencies.append(time.perf_counter() - start)
        if response.status_code != 200:
            raise RuntimeError(f"{server.name}: {response.status_code} {response.text[:300]}")
    cpu = procstat.cpu_seconds(pids) - cpu0
    sent = _upstream_bytes(client, upstream) - bytes0
    return {"cpu_ms": round(cpu * 1000 / reps, 3), "upstream_kb": round(sent / reps / 1024, 1),
            "p50_ms": round(statistics.median(latencies) * 1000, 2)}


def _ours_post(client: httpx2.Client, server: Server, body: dict[str, Any]) -> httpx2.Response:
    return client.post(server.url + "/v1/responses", json=body,
                       headers={"authorization": f"Bearer {server.bearer}"})


def build_chain(client: httpx2.Client, server: Server, turns: int) -> list[str]:
    """``turns`` responses, each the previous one's successor; their ids in order."""
    ids: list[str] = []
    for n in range(turns):
        body: dict[str, Any] = {"model": "groq@fake-c20", "input": f"turn {n}: go on.",
                                "store": True}
        if ids:
            body["previous_response_id"] = ids[-1]
        response = _ours_post(client, server, body)
        if response.status_code != 200:
            raise RuntimeError(f"chain turn {n}: {response.status_code} {response.text[:300]}")
        ids.append(response.json()["id"])
    return ids


def _floor_cost(client: httpx2.Client, floor: Server, upstream: Server, upstream_kb: float,
                reps: int) -> float:
    """The floor's CPU ms per request for a chat request of about ``upstream_kb``."""
    pad = max(0, int(upstream_kb * 1024) - 400)
    body = {"model": "fake-c20", "messages": [{"role": "user", "content": "y" * pad}]}
    cost = _cost(client, floor, upstream, reps,
                 lambda: client.post(floor.url + "/v1/chat/completions", json=body))
    return cost["cpu_ms"]


def growth(ours: Server, floor: Server | None, upstream: Server, *, reps: int = 100,
           big_reps: int = 20, depths: tuple[int, ...] = DEPTHS,
           sizes: dict[str, int] = SIZES) -> dict[str, Any]:
    """Chain depths and input sizes; see the module docstring."""
    rows: list[dict[str, Any]] = []
    with httpx2.Client(timeout=120) as client:
        ids = build_chain(client, ours, max(depths) - 1)
        for depth in depths:
            body: dict[str, Any] = {"model": "groq@fake-c20", "input": "one more turn",
                                    "store": True}
            if depth > 1:
                body["previous_response_id"] = ids[depth - 2]
            cost = _cost(client, ours, upstream, reps, partial(_ours_post, client, ours, body))
            rows.append({"point": f"turn {depth}", **cost})
        for label, items in sizes.items():
            body = {"model": "groq@fake-c20", "store": True,
                    "input": [{"type": "message", "role": "user", "content": _KB}] * items}
            n = big_reps if items > 1 else reps
            cost = _cost(client, ours, upstream, n, partial(_ours_post, client, ours, body))
            rows.append({"point": f"input {label}", **cost})
        if floor is not None:
            for row in rows:
                row["floor_cpu_ms"] = _floor_cost(client, floor, upstream, row["upstream_kb"],
                                                  big_reps if row["upstream_kb"] > 500 else reps)
                row["overhead_ms"] = round(row["cpu_ms"] - row["floor_cpu_ms"], 3)
    first = rows[0]
    for row in rows:
        row["cpu_vs_turn1"] = round(row["cpu_ms"] / first["cpu_ms"], 2)
        if "overhead_ms" in row and first.get("overhead_ms"):
            row["overhead_vs_turn1"] = round(row["overhead_ms"] / first["overhead_ms"], 2)
    return {"reps": reps, "big_reps": big_reps, "rows": rows}
