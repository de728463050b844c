"""Prometheus metrics, all in one ``CollectorRegistry`` owned by a ``Metrics`` object.

Nothing is registered globally: each ``Metrics`` has its own registry, built at start-up and
passed to whoever records (the HTTP middleware, the run's turn watcher, the rate limiter...).
``GET /metrics`` renders ``Metrics.render()``. The metrics are prometheus-client's classes
with a shorter path for the per-request ``inc`` / ``observe`` (``fast_metrics.py``).

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

Actor mailbox depths, in-flight counts and restarts come from the actor statistics source
given at construction (``Supervisor.statistics``; ``actor_metrics.py``).

Labels that clients choose (the model name) are bounded: past ``max_models`` distinct models
per provider, further ones are counted as ``other``.

Several processes (``serve --workers N``): when ``PROMETHEUS_MULTIPROC_DIR`` names a directory
(the ``--workers`` parent creates a private one per run and passes it to its workers),
prometheus-client writes every value into per-process files there, and ``registry`` is a
``MultiProcessCollector`` over all of them: ``/metrics`` and the console's traffic view in any
worker describe the whole gateway. Counters and histograms are summed, a dead worker's counts
included; the gauges say how they combine: active streams and actor mailboxes ``livesum``, the
breaker state ``livemax`` (the worst state among running workers); ``live`` series of a worker
that exited are dropped when the parent calls ``mark_process_dead``. Without the variable
nothing changes: values are plain floats in memory, no file is written.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TypeVar

import trio
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry
from prometheus_client import values as prometheus_values
from prometheus_client.exposition import generate_latest
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.multiprocess import MultiProcessCollector

from openresponses.observability.actor_metrics import ActorCollector, ActorSource, PublishedActors
from openresponses.observability.fast_metrics import Counter, Gauge, Histogram

__all__ = ["BREAKER_CLOSED", "BREAKER_HALF_OPEN", "BREAKER_OPEN", "MULTIPROCESS_DIR_ENV",
           "PUBLISH_INTERVAL", "ActorSource", "Metrics"]

BREAKER_CLOSED = 0
BREAKER_HALF_OPEN = 1
BREAKER_OPEN = 2
MULTIPROCESS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"  # prometheus-client's own switch
PUBLISH_INTERVAL = 1.0  # seconds between writes of a worker's actor statistics

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
                    120.0, 300.0, 600.0)
_OVERHEAD_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
_MAX_LABEL = 64
_MAX_CHILDREN = 10_000  # remembered label children; past it the memo starts over
M = TypeVar("M", bound=MetricWrapperBase)


def _aggregate(directory: str) -> CollectorRegistry:
    """A registry whose one collector merges the files of every process in ``directory``."""
    if not getattr(prometheus_values.ValueClass, "_multiprocess", False):
        raise RuntimeError(f"{MULTIPROCESS_DIR_ENV} must be set before prometheus_client is "
                           "imported (it chooses where values are kept at import)")
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    return registry


class Metrics:
    """Every collector of the gateway, in a registry of its own.

    ``registry`` is what a scrape reads: the metrics themselves (one process), or the merge of
    every worker's files when ``environ`` (default ``os.environ``) names a multiprocess
    directory; the metrics are then kept in a registry of their own that nothing renders.
    """

    def __init__(self, actors: ActorSource | None = None, *, max_models: int = 100,
                 environ: Mapping[str, str] | None = None) -> None:
        directory = (os.environ if environ is None else environ).get(MULTIPROCESS_DIR_ENV)
        self.multiprocess_dir = directory or None
        self._own = CollectorRegistry()  # every metric, registered once (unique names)
        self.registry = self._own if self.multiprocess_dir is None else _aggregate(
            self.multiprocess_dir)
        self.max_models = max_models
        self._models: dict[str, set[str]] = {}
        self._children: dict[tuple[int, tuple[str, ...]], MetricWrapperBase] = {}
        self._published: PublishedActors | None = None
        self._init_http()
        self._init_upstream()
        self._init_limits()
        if actors is not None and self.multiprocess_dir is None:
            self._own.register(ActorCollector(actors))
        elif actors is not None:
            self._published = PublishedActors(actors, self._own)

    def _init_http(self) -> None:
        reg = self._own
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
        reg = self._own
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
                                    "Model calls in progress.", ["provider"],
                                    multiprocess_mode="livesum", registry=reg)

    def _init_limits(self) -> None:
        reg = self._own
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
            multiprocess_mode="livemax", registry=reg)
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

    @property
    def multiprocess(self) -> bool:
        """Whether values go to the files of a multiprocess directory (``--workers``)."""
        return self.multiprocess_dir is not None

    def publish(self) -> None:
        """Multiprocess mode: write this process's actor statistics into its files, where
        any worker's scrape reads them. Nothing to do in one process (read at scrape)."""
        if self._published is not None:
            self._published.publish()

    async def publish_forever(self, interval: float = PUBLISH_INTERVAL) -> None:
        """``publish`` now and every ``interval`` seconds until cancelled, so a scrape taken
        by another worker sees this one's statistics at most ``interval`` seconds old."""
        while True:
            self.publish()
            await trio.sleep(interval)

    def render(self) -> tuple[bytes, str]:
        """The Prometheus text exposition of every metric (of every worker, in multiprocess
        mode), and its content type."""
        self.publish()
        return generate_latest(self.registry), CONTENT_TYPE_LATEST

    def sample(self, name: str, labels: dict[str, str] | None = None) -> float | None:
        """The current value of one sample (tests and readiness checks)."""
        self.publish()
        return self.registry.get_sample_value(name, labels or {})
