"""Metrics in one process: one registry per Metrics object, actor statistics read at scrape
time, bounded model labels, values kept in memory. (test_metrics_multiprocess.py: workers.)"""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client import values

from actors import ActorStatistics
from openresponses.observability.metrics import BREAKER_OPEN, MULTIPROCESS_DIR_ENV, Metrics


def stats(name: str, *, depth: int = 0, restarts: int = 0) -> ActorStatistics:
    return ActorStatistics(name=name, depth=depth, capacity=8, processed=3, restarts=restarts,
                           in_flight=1)


def test_each_metrics_object_has_its_own_registry() -> None:
    first, second = Metrics(), Metrics()
    first.rate_limited.labels(scope="key").inc()
    assert first.sample("openresponses_rate_limited_total", {"scope": "key"}) == 1
    assert second.sample("openresponses_rate_limited_total", {"scope": "key"}) is None


def test_actor_statistics_are_read_at_each_scrape() -> None:
    current = [stats("storage", depth=2)]
    metrics = Metrics(lambda: current)
    assert metrics.sample("openresponses_actor_mailbox_depth", {"actor": "storage"}) == 2
    current[:] = [stats("storage", depth=5, restarts=1), stats("provider:groq")]
    assert metrics.sample("openresponses_actor_mailbox_depth", {"actor": "storage"}) == 5
    assert metrics.sample("openresponses_actor_restarts_total", {"actor": "storage"}) == 1
    assert metrics.sample("openresponses_actor_in_flight", {"actor": "provider:groq"}) == 1
    assert metrics.sample("openresponses_actor_mailbox_capacity",
                          {"actor": "provider:groq"}) == 8


def test_counters_for_other_components_render() -> None:
    metrics = Metrics()
    metrics.retries.labels(provider="openai").inc()
    metrics.breaker_state.labels(provider="openai").set(BREAKER_OPEN)
    metrics.breaker_trips.labels(provider="openai").inc()
    body, content_type = metrics.render()
    assert content_type.startswith("text/plain")
    text = body.decode()
    assert 'openresponses_upstream_retries_total{provider="openai"} 1.0' in text
    assert 'openresponses_breaker_state{provider="openai"} 2.0' in text
    assert 'openresponses_breaker_trips_total{provider="openai"} 1.0' in text


def test_model_labels_are_bounded_per_provider() -> None:
    metrics = Metrics(max_models=2)
    assert metrics.model_label("groq", "a") == "a"
    assert metrics.model_label("groq", "b") == "b"
    assert metrics.model_label("groq", "c") == "other"
    assert metrics.model_label("groq", "a") == "a"
    assert metrics.model_label("openai", "c") == "c"
    assert metrics.model_label("openai", "x" * 500) == "x" * 64
    assert metrics.model_label("openai", "y") == "other"


def test_label_children_are_remembered_and_count_like_labels() -> None:
    metrics = Metrics()
    child = metrics.child(metrics.requests, "/v1/responses", "POST", "groq", "200")
    assert metrics.child(metrics.requests, "/v1/responses", "POST", "groq", "200") is child
    child.inc()
    metrics.requests.labels("/v1/responses", "POST", "groq", "200").inc()
    labels = {"route": "/v1/responses", "method": "POST", "provider": "groq", "status": "200"}
    assert metrics.sample("openresponses_http_requests_total", labels) == 2
    second = metrics.child(metrics.requests, "/v1/responses", "POST", "groq", "500")
    assert second is not child


def test_one_process_keeps_values_in_memory_and_writes_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(MULTIPROCESS_DIR_ENV, raising=False)
    metrics = Metrics(lambda: [stats("storage", depth=1)])
    child = metrics.child(metrics.requests, "/v1/responses", "POST", "groq", "200")
    child.inc()
    metrics.child(metrics.active_streams, "groq").inc()
    assert not metrics.multiprocess
    assert isinstance(vars(child)["_value"], values.MutexValue)
    assert metrics.sample("openresponses_active_streams", {"provider": "groq"}) == 1
    assert metrics.sample("openresponses_actor_mailbox_depth", {"actor": "storage"}) == 1
    assert "pid=" not in metrics.render()[0].decode()
    assert list(tmp_path.iterdir()) == []
