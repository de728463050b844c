"""The console's traffic snapshot: the gateway's own Prometheus registry, summed into the few
series the Traffic view draws.

Every number is cumulative (a counter's total, a histogram's cumulative buckets) or a gauge's
current value, exactly as ``/metrics`` would show it; the browser keeps the previous snapshot
and turns differences into rates and windowed percentiles. So the gateway keeps no history and
any number of open consoles cost one registry walk per poll each.

With ``serve --workers N`` the registry given is the merge of every worker's metric files
(``observability/metrics.py``), so whichever worker answers the poll, the view shows the whole
gateway: counts and buckets summed over workers (a dead worker's included), active streams
over the running ones.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.samples import Sample

# Routes whose requests call a model: their duration is what "latency" means on the chart.
MODEL_ROUTES = frozenset({"/v1/responses", "/v1/chat/completions"})
_RATE_LIMITED = 429
_CLIENT_CLOSED = 499


def _samples(registry: CollectorRegistry) -> Iterable[Sample]:
    for metric in registry.collect():
        yield from metric.samples


def _le(sample: Sample) -> float:
    raw = sample.labels["le"]
    return math.inf if raw == "+Inf" else float(raw)


class _Snapshot:
    """Accumulates the samples of one registry walk."""

    def __init__(self) -> None:
        self.requests: defaultdict[str, float] = defaultdict(float)
        self.tokens: defaultdict[str, float] = defaultdict(float)
        self.active: defaultdict[str, float] = defaultdict(float)
        self.buckets: dict[str, defaultdict[float, float]] = {
            "request": defaultdict(float), "ttft": defaultdict(float)}
        self.totals = {"requests": 0.0, "errors": 0.0, "rate_limited": 0.0}

    def add(self, sample: Sample) -> None:
        name, labels, value = sample.name, sample.labels, sample.value
        if name == "openresponses_http_requests_total":
            self._request(labels, value)
        elif name == "openresponses_rate_limited_total":
            self.totals["rate_limited"] += value
        elif name == "openresponses_tokens_total":
            self.tokens[labels["direction"]] += value
        elif name == "openresponses_active_streams":
            self.active[labels["provider"]] += value
        elif name == "openresponses_time_to_first_token_seconds_bucket":
            self.buckets["ttft"][_le(sample)] += value
        elif (name == "openresponses_http_request_duration_seconds_bucket"
              and labels["route"] in MODEL_ROUTES):
            self.buckets["request"][_le(sample)] += value

    def _request(self, labels: dict[str, str], value: float) -> None:
        if not labels["route"].startswith("/v1"):
            return  # the console's own polling, health checks, scrapes
        self.totals["requests"] += value
        status = int(labels["status"])
        if status >= 400 and status not in (_RATE_LIMITED, _CLIENT_CLOSED):
            self.totals["errors"] += value
        if labels["provider"]:
            self.requests[labels["provider"]] += value

    def body(self) -> dict[str, Any]:
        return {
            "time": time.time(),
            "requests_by_provider": dict(self.requests),
            **self.totals,
            "tokens": {"input": self.tokens["input"], "output": self.tokens["output"]},
            "active_streams": sum(self.active.values()),
            "active_streams_by_provider": {p: n for p, n in self.active.items() if n},
            "latency_buckets": {
                kind: [[None if math.isinf(le) else le, count]
                       for le, count in sorted(buckets.items())]
                for kind, buckets in self.buckets.items()
            },
        }


def traffic_snapshot(registry: CollectorRegistry) -> dict[str, Any]:
    """Cumulative request, error, refusal and token counts, active streams, and the
    cumulative latency buckets (``le`` None for +Inf) of model requests and first tokens."""
    snapshot = _Snapshot()
    for sample in _samples(registry):
        snapshot.add(sample)
    return snapshot.body()
