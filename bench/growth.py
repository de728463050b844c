"""Growth: the gateway's own cost per turn, deep in a ``previous_response_id`` chain and with
large inputs, against the floor proxy forwarding the same number of bytes upstream.

Requests go one at a time (concurrency 1, non-stream, ``store: true``). For each point: the
server's cost per request, the bytes the upstream received per request (its /stats), and the
floor's cost for a request of that size: ``overhead = ours - floor``, the part of the cost that
is the gateway's own (load chain + translate + store) rather than moving bytes.

The cost is measured by a ``Meter``: process CPU ms from /proc (``ProcessCpu``, the default:
real, but moved by whatever else runs on the machine), or, from ``bench cpu --growth
--callgrind``, the millions of instructions the server executed under callgrind (deterministic
to about a per cent, so the ratios can be trusted on a busy machine).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from functools import partial
from typing import Any, Protocol

import httpx2

from bench import procstat
from bench.targets import Server

DEPTHS = (1, 50, 200)
SIZES = {"1KB": 1, "1MB": 1000}  # input = N message items of 1 KB each
_KB = "x" * 1000


class Meter(Protocol):
    """Charges a server for the requests sent between ``start`` and ``stop``."""

    unit: str  # the row's key for the cost per request: "cpu_ms" or "minstr"

    def start(self, server: Server) -> None: ...

    def stop(self, server: Server, reps: int) -> float:
        """The cost per request since ``start``."""
        ...


class ProcessCpu:
    """User + system CPU ms of the server's process tree."""

    unit = "cpu_ms"

    def __init__(self) -> None:
        self._start: tuple[list[int], float] = ([], 0.0)

    def start(self, server: Server) -> None:
        pids = server.pids()
        self._start = (pids, procstat.cpu_seconds(pids))

    def stop(self, server: Server, reps: int) -> float:
        pids, cpu0 = self._start
        return round((procstat.cpu_seconds(pids) - cpu0) * 1000 / reps, 3)


def _upstream_bytes(client: httpx2.Client, upstream: Server) -> int:
    return int(client.get(upstream.url + "/stats").json()["bytes_in"])


def _cost(client: httpx2.Client, server: Server, upstream: Server, reps: int,
          send: Callable[[], httpx2.Response], meter: Meter) -> dict[str, float]:
    """Cost, upstream bytes and latency per request over ``reps`` calls of ``send`` (one
    unmeasured call first, so a point's first request does not pay for warming it up)."""
    _check(server, send())
    bytes0 = _upstream_bytes(client, upstream)
    meter.start(server)
    latencies = []
    for _ in range(reps):
        start = time.perf_counter()
        response = send()
        latencies.append(time.perf_counter() - start)
        _check(server, response)
    cost = meter.stop(server, reps)
    sent = _upstream_bytes(client, upstream) - bytes0
    return {meter.unit: cost, "upstream_kb": round(sent / reps / 1024, 1),
            "p50_ms": round(statistics.median(latencies) * 1000, 2)}


def _check(server: Server, response: httpx2.Response) -> None:
    if response.status_code != 200:
        raise RuntimeError(f"{server.name}: {response.status_code} {response.text[:300]}")


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
                reps: int, meter: Meter) -> float:
    """The floor's cost per request for a chat request of about ``upstream_kb``."""
    pad = max(0, int(upstream_kb * 1024) - 400)
    body = {"model": "fake-c20", "messages": [{"role": "user", "content": "y" * pad}]}
    cost = _cost(client, floor, upstream, reps,
                 lambda: client.post(floor.url + "/v1/chat/completions", json=body), meter)
    return cost[meter.unit]


def growth(ours: Server, floor: Server | None, upstream: Server, *, reps: int = 100,
           big_reps: int = 20, depths: tuple[int, ...] = DEPTHS,
           sizes: dict[str, int] = SIZES, meter: Meter | None = None) -> dict[str, Any]:
    """Chain depths and input sizes; see the module docstring."""
    meter = meter or ProcessCpu()
    unit = meter.unit
    over = _overhead_key(unit)
    rows: list[dict[str, Any]] = []
    with httpx2.Client(timeout=600) as client:
        ids = build_chain(client, ours, max(depths) - 1)
        for depth in depths:
            body: dict[str, Any] = {"model": "groq@fake-c20", "input": "one more turn",
                                    "store": True}
            if depth > 1:
                body["previous_response_id"] = ids[depth - 2]
            cost = _cost(client, ours, upstream, reps, partial(_ours_post, client, ours, body),
                         meter)
            rows.append({"point": f"turn {depth}", **cost})
        for label, items in sizes.items():
            body = {"model": "groq@fake-c20", "store": True,
                    "input": [{"type": "message", "role": "user", "content": _KB}] * items}
            n = big_reps if items > 1 else reps
            cost = _cost(client, ours, upstream, n, partial(_ours_post, client, ours, body),
                         meter)
            rows.append({"point": f"input {label}", **cost})
        if floor is not None:
            for row in rows:
                n = big_reps if row["upstream_kb"] > 500 else reps
                row[f"floor_{unit}"] = _floor_cost(client, floor, upstream, row["upstream_kb"],
                                                   n, meter)
                row[over] = round(row[unit] - row[f"floor_{unit}"], 3)
    _ratios(rows, unit, over)
    return {"unit": unit, "reps": reps, "big_reps": big_reps, "rows": rows}


def _overhead_key(unit: str) -> str:
    """``overhead_ms`` for process CPU (the key bench/report.py reads), else by unit."""
    return "overhead_ms" if unit == "cpu_ms" else f"overhead_{unit}"


def _ratios(rows: list[dict[str, Any]], unit: str, over: str) -> None:
    """Each row against turn 1 (the first row), and the overhead per upstream KB."""
    first = rows[0]
    ratio = "cpu_vs_turn1" if unit == "cpu_ms" else f"{unit}_vs_turn1"
    for row in rows:
        row[ratio] = round(row[unit] / first[unit], 2)
        if over in row and first.get(over):
            row["overhead_vs_turn1"] = round(row[over] / first[over], 2)
        if over in row and row["upstream_kb"]:
            row["overhead_per_kb"] = round(row[over] / row["upstream_kb"], 4)
