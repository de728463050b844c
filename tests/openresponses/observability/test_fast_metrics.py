"""The short-path Counter, Gauge and Histogram record exactly what prometheus-client's own
would, and keep its errors for the cases they hand back to it."""

from __future__ import annotations

import math

import prometheus_client
import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import generate_latest

from openresponses.observability import fast_metrics

BUCKETS = (0.005, 0.01, 0.25, 1.0, 60.0)
AMOUNTS = (0.0, 0.005, 0.0050001, 0.2, 0.25, 1.0, 59.9, 60.0, 61.0, 1e9, math.inf, -3.0)


def exposition(module: object) -> list[str]:
    """Record the same calls with ``module``'s classes; the lines a scrape would read, but
    the ``_created`` stamps (the time each series was made)."""
    registry = CollectorRegistry()
    counter = module.Counter("c", "c", ["a"], registry=registry)  # type: ignore[attr-defined]
    plain = module.Counter("p", "p", registry=registry)  # type: ignore[attr-defined]
    gauge = module.Gauge("g", "g", ["a"], registry=registry)  # type: ignore[attr-defined]
    histogram = module.Histogram(  # type: ignore[attr-defined]
        "h", "h", ["a"], buckets=BUCKETS, registry=registry)
    for amount in AMOUNTS:
        histogram.labels("x").observe(amount)
        gauge.labels("x").inc(amount)
        gauge.labels("y").dec(amount)
        if amount >= 0:
            counter.labels("x").inc(amount)
            plain.inc(amount)
    counter.labels("z").inc()
    return [line for line in generate_latest(registry).decode().splitlines()
            if "_created" not in line]


def test_values_are_the_same_as_prometheus_clients() -> None:
    assert exposition(fast_metrics) == exposition(prometheus_client)


def test_labels_give_children_of_the_same_short_path_class() -> None:
    histogram = fast_metrics.Histogram("h", "h", ["a"], registry=CollectorRegistry())
    assert type(histogram.labels("x")) is fast_metrics.Histogram


def test_the_unusual_cases_keep_prometheus_clients_errors() -> None:
    registry = CollectorRegistry()
    counter = fast_metrics.Counter("c", "c", ["a"], registry=registry)
    gauge = fast_metrics.Gauge("g", "g", ["a"], registry=registry)
    histogram = fast_metrics.Histogram("h", "h", ["a"], registry=registry)
    with pytest.raises(ValueError, match="missing label values"):
        counter.inc()
    with pytest.raises(ValueError, match="missing label values"):
        gauge.dec()
    with pytest.raises(ValueError, match="missing label values"):
        histogram.observe(1.0)
    with pytest.raises(ValueError, match="non-negative"):
        counter.labels("x").inc(-1)


def test_nan_and_exemplars_go_through_prometheus_client() -> None:
    registry = CollectorRegistry()
    histogram = fast_metrics.Histogram("h", "h", buckets=BUCKETS, registry=registry)
    histogram.observe(math.nan)  # no bucket, as prometheus-client does
    histogram.observe(0.2, exemplar={"trace_id": "abc"})
    counter = fast_metrics.Counter("c", "c", registry=registry)
    counter.inc(2, exemplar={"trace_id": "abc"})
    assert registry.get_sample_value("h_bucket", {"le": "0.25"}) == 1
    assert registry.get_sample_value("h_count") == 1
    assert registry.get_sample_value("c_total") == 2
