"""Prometheus metrics, all in one ``CollectorRegistry`` owned by a ``Metrics`` object.

Nothing is registered globally: each ``Metrics`` has its own registry, built at start-up and
passed to whoever records (the HTTP middleware, the run's turn watcher, the rate limiter...).
``GET /metrics`` renders ``Metrics.render()``.

Counters other parts of the gateway increment (documented here so they stay stable):

- ``metrics.rate_limited.labels(scope="key").inc()``: a request refused by the rate limiter
  (``scope``: what was limited, e.g. ``key``, ``ip``, ``model``).
- ``metrics.rate_limiter_errors.labels(outcome="allowed").inc()``: a rate-limit decision taken
  without the backend (Redis unreachable): ``allowed`` or ``denied`` as
  ``OPENRESPONSES_RATE_LIMIT_ON_ERROR`` says, or ``charge_dropped`` (a token charge lost).
- ``metrics.retries.labels(provider="openai").inc()``: an upstream call retried.
- ``metrics.breaker_state.labels(provider="openai").set(BREAKER_OPEN)``: a provider's circuit
  breaker state (``BREAKER_CLOSED`` 0, ``BREAKER_HALF_OPEN`` 1, ``BREAKER_OPEN`` 2).
- ``metrics.breaker_trips.labels(provider="openai").inc()``: a breaker opened.

Actor mailbox depths, in-flight counts and restarts are read at scrape time from the actor
statistics source given at construction (``Supervisor.statistics``).

Labels that clients choose (the model name) are bounded: past ``max_models`` distinct models
per provider, further ones are counted as ``other``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.metrics import MetricWrapperBase

from actors import ActorStatistics

BREAKER_CLOSED = 0
BREAKER_HALF_OPEN = 1
BREAKER_OPEN = 2

ActorSource = Callable[[], Sequence[ActorStatistics]]

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
                    120.0, 300.0, 600.0)
_OVERHEAD_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
_MAX_LABEL = 64
_MAX_CHILDREN = 10_000  # remembered label children; past it the memo starts over
M = TypeVar("M", bound=MetricWrapperBase)


class _ActorCollector:
    """Mailbox depth, capacity, in-flight messages, processed messages and restarts per actor,
    read from the statistics source at each scrape."""

    def __init__(self, source: ActorSource) -> None:
        self._source = source

    def collect(self) -> Iterable[Metric]:
        depth = GaugeMetricFamily("openresponses_actor_mailbox_depth",
                                  "Messages queued in the actor's mailbox.", labels=["actor"])
        capacity = GaugeMetricFamily("openresponses_actor_mailbox_capacity",
                                     "Size of the actor's bounded mailbox.", labels=["actor"])
        in_flight = GaugeMetricFamily("openresponses_actor_in_flight",
                                      "Messages the actor is handling now.", labels=["actor"])
        processed = CounterMetricFamily("openresponses_actor_messages_processed",
                                        "Messages handled, across restarts.", labels=["actor"])
        restarts = CounterMetricFamily("openresponses_actor_restarts",
                                       "Times the actor crashed and was restarted.",
                                       labels=["actor"])
        for stats in self._source():
            depth.add_metric([stats.name], stats.depth)
            capacity.add_metric([stats.name], stats.capacity)
            in_flight.add_metric([stats.name], stats.in_flight)
            processed.add_metric([stats.name], stats.processed)
            restarts.add_metric([stats.name], stats.restarts)
        return [depth, capacity, in_flight, processed, restarts]


class Metrics:
    """Every collector of the gateway, in a registry of its own."""

    def __init__(self, actors: ActorSource | None = None, *, max_models: int = 100) -> None:
        self.registry = CollectorRegistry()
        self.max_models = max_models
        self._models: dict[str, set[str]] = {}
        self._children: dict[tuple[int, tuple[str, ...]], MetricWrapperBase] = {}
        self._init_http()
        self._init_upstream()
        self._init_limits()
        if actors is not None:
            self.registry.register(_ActorCollector(actors))

    def _init_http(self) -> None:
        reg = self.registry
        self.requests = Counter("openresponses_http_requests", "HTTP requests served.",
                                ["route", "method", "provider", "status"], registry=reg)
        self.request_seconds = Histogram(
            "openresponses_http_request_duration_seconds",
            "Time from the request's arrival to its last byte sent.", ["route"],
            buckets=_LATENCY_BUCKETS, registry=reg)
        self.overhead_seconds = Histogram(
            "openresponses_gateway_overhead_seconds",
            "Request time not spent waiting on the upstream (requests that called one).",
            ["route"], buckets=_OVERHEAD_BUCKETS, registry=reg)

    def _init_upstream(self) -> None:
        reg = self.registry
        self.upstream_seconds = Histogram(
            "openresponses_upstream_duration_seconds",
            "Duration of one model call, from handing it to the provider actor to its end.",
            ["provider", "model"], buckets=_LATENCY_BUCKETS, registry=reg)
        self.ttft_seconds = Histogram(
            "openresponses_time_to_first_token_seconds",
            "Time from handing a model call to the provider actor to its first output.",
            ["provider", "model"], buckets=_LATENCY_BUCKETS, registry=reg)
        self.model_calls = Counter("openresponses_model_calls", "Model calls by outcome.",
                                   ["provider", "model", "outcome"], registry=reg)
        self.tokens = Counter("openresponses_tokens", "Tokens reported by the upstream.",
                              ["provider", "model", "direction"], registry=reg)
        self.active_streams = Gauge("openresponses_active_streams",
                                    "Model calls in progress.", ["provider"], registry=reg)

    def _init_limits(self) -> None:
        reg = self.registry
        self.rate_limited = Counter("openresponses_rate_limited",
                                    "Requests refused by the rate limiter.", ["scope"],
                                    registry=reg)
        self.rate_limiter_errors = Counter(
            "openresponses_rate_limiter_errors",
            "Rate-limit decisions taken without the backend (unreachable), by outcome: "
            "allowed, denied, charge_dropped.", ["outcome"], registry=reg)
        self.retries = Counter("openresponses_upstream_retries", "Upstream calls retried.",
                               ["provider"], registry=reg)
        self.breaker_state = Gauge(
            "openresponses_breaker_state",
            "Circuit breaker state per provider: 0 closed, 1 half-open, 2 open.", ["provider"],
            registry=reg)
        self.breaker_trips = Counter("openresponses_breaker_trips",
                                     "Times a provider's circuit breaker opened.", ["provider"],
                                     registry=reg)

    def child(self, metric: M, *values: str) -> M:
        """``metric.labels(*values)``, remembered: ``labels`` validates the values and takes
        a lock on every call, a measurable share of a request's CPU when called per request."""
        key = (id(metric), values)
        found = self._children.get(key)
        if found is None:
            if len(self._children) >= _MAX_CHILDREN:
                self._children.clear()
            found = self._children[key] = metric.labels(*values)
        return found  # type: ignore[return-value]  # the child of an M is an M

    def model_label(self, provider: str, model: str) -> str:
        """``model`` as a label value: truncated, and ``other`` past ``max_models`` distinct
        models for this provider (clients choose model names; series must stay bounded)."""
        model = model[:_MAX_LABEL]
        seen = self._models.setdefault(provider, set())
        if model in seen:
            return model
        if len(seen) >= self.max_models:
            return "other"
        seen.add(model)
        return model

    def render(self) -> tuple[bytes, str]:
        """The Prometheus text exposition of every metric, and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST

    def sample(self, name: str, labels: dict[str, str] | None = None) -> float | None:
        """The current value of one sample (tests and readiness checks)."""
        return self.registry.get_sample_value(name, labels or {})
