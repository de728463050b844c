"""Metrics in multiprocess mode (``serve --workers N``), with two or three workers simulated in
one test process: prometheus-client's ``MultiProcessValue`` takes the process id from a
function, so each ``as_process`` block writes files as a different pid would.

The totals come from the files of every process; counters of a process marked dead stay, its
live gauges go; actor statistics are published, not read at scrape time.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import pytest
from prometheus_client import values
from prometheus_client.multiprocess import mark_process_dead

from actors import ActorStatistics
from openresponses.console.traffic import traffic_snapshot
from openresponses.observability.metrics import (
    BREAKER_HALF_OPEN,
    BREAKER_OPEN,
    MULTIPROCESS_DIR_ENV,
    Metrics,
)

REQUEST = ("/v1/responses", "POST", "groq", "200")
REQUEST_LABELS = {"route": "/v1/responses", "method": "POST", "provider": "groq", "status": "200"}


@pytest.fixture
def directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The run's multiprocess directory, as the ``--workers`` parent passes it."""
    monkeypatch.setenv(MULTIPROCESS_DIR_ENV, str(tmp_path))
    yield tmp_path
    values.close_all_multiprocess_files()  # type: ignore[no-untyped-call]
    _VALUE_CLASSES.clear()


_VALUE_CLASSES: dict[int, type] = {}  # one per simulated pid: its files are opened once


@contextmanager
def as_process(pid: int) -> Iterator[None]:
    """Metrics made and label children first used inside write the files of process ``pid``
    (prometheus-client picks a value's storage when the child is created)."""
    saved = values.ValueClass
    if pid not in _VALUE_CLASSES:
        _VALUE_CLASSES[pid] = values.MultiProcessValue(lambda: pid)  # type: ignore[no-untyped-call]
    values.ValueClass = _VALUE_CLASSES[pid]
    try:
        yield
    finally:
        values.ValueClass = saved


def stats(name: str, *, depth: int, processed: int, restarts: int = 0) -> ActorStatistics:
    return ActorStatistics(name=name, depth=depth, capacity=8, processed=processed,
                           restarts=restarts, in_flight=1)


def serve_requests(metrics: Metrics, count: int, *, tokens: int = 0) -> None:
    for _ in range(count):
        metrics.child(metrics.requests, *REQUEST).inc()
        metrics.child(metrics.request_seconds, "/v1/responses").observe(0.2)
        if tokens:
            metrics.child(metrics.tokens, "groq", "llama", "input").inc(tokens)


def mark_dead(pid: int, directory: Path) -> None:
    mark_process_dead(pid, str(directory))  # type: ignore[no-untyped-call]


def test_every_process_reports_the_sum_of_all_of_them(directory: Path) -> None:
    with as_process(101):
        first = Metrics()
        serve_requests(first, 3)
    with as_process(102):
        second = Metrics()
        serve_requests(second, 4)
    for metrics in (first, second):
        assert metrics.multiprocess
        assert metrics.sample("openresponses_http_requests_total", REQUEST_LABELS) == 7
        assert metrics.sample("openresponses_http_request_duration_seconds_count",
                              {"route": "/v1/responses"}) == 7
        text = metrics.render()[0].decode()
        assert ('openresponses_http_requests_total{method="POST",provider="groq",'
                'route="/v1/responses",status="200"} 7.0') in text
        assert "pid=" not in text  # summed, not one series per process
    assert sorted(p.name for p in directory.iterdir()) == [
        "counter_101.db", "counter_102.db", "histogram_101.db", "histogram_102.db"]


def test_a_dead_process_keeps_its_counts_and_loses_its_live_gauges(directory: Path) -> None:
    with as_process(201):
        dead = Metrics()
        serve_requests(dead, 5)
        dead.child(dead.active_streams, "groq").inc()
        dead.breaker_state.labels(provider="groq").set(BREAKER_OPEN)
    with as_process(202):
        alive = Metrics()
        serve_requests(alive, 1)
        alive.child(alive.active_streams, "groq").inc(2)
        alive.breaker_state.labels(provider="groq").set(BREAKER_HALF_OPEN)
    groq = {"provider": "groq"}
    assert alive.sample("openresponses_active_streams", groq) == 3  # livesum
    assert alive.sample("openresponses_breaker_state", groq) == BREAKER_OPEN  # livemax: worst
    mark_dead(201, directory)
    assert alive.sample("openresponses_http_requests_total", REQUEST_LABELS) == 6
    assert alive.sample("openresponses_active_streams", groq) == 2
    assert alive.sample("openresponses_breaker_state", groq) == BREAKER_HALF_OPEN


def test_actor_statistics_are_published_into_the_files(directory: Path) -> None:
    current = {301: [stats("storage", depth=2, processed=10)],
               302: [stats("storage", depth=3, processed=4, restarts=1)]}
    with as_process(302):
        Metrics(partial(current.__getitem__, 302)).publish()
    storage = {"actor": "storage"}
    with as_process(301):
        first = Metrics(partial(current.__getitem__, 301))
        assert first.sample("openresponses_actor_mailbox_depth", storage) == 5
        assert first.sample("openresponses_actor_mailbox_capacity", storage) == 16
        assert first.sample("openresponses_actor_in_flight", storage) == 2
        assert first.sample("openresponses_actor_messages_processed_total", storage) == 14
        assert first.sample("openresponses_actor_restarts_total", storage) == 1
        current[301] = [stats("storage", depth=0, processed=25),
                        stats("tools", depth=1, processed=1)]
        # 301's scrape publishes its own numbers; 302's stay as last published.
        assert first.sample("openresponses_actor_messages_processed_total", storage) == 29
        assert first.sample("openresponses_actor_mailbox_depth", storage) == 3
        assert first.sample("openresponses_actor_mailbox_depth", {"actor": "tools"}) == 1
        current[301] = [stats("storage", depth=0, processed=25)]  # tools stopped
        assert first.sample("openresponses_actor_mailbox_capacity", {"actor": "tools"}) == 0
        mark_dead(302, directory)
        assert first.sample("openresponses_actor_mailbox_depth", storage) == 0
        assert first.sample("openresponses_actor_mailbox_capacity", storage) == 8
        assert first.sample("openresponses_actor_messages_processed_total", storage) == 29


def test_the_console_traffic_sums_every_process(directory: Path) -> None:
    with as_process(401):
        first = Metrics()
        serve_requests(first, 2, tokens=11)
        first.child(first.active_streams, "groq").inc()
    with as_process(402):
        second = Metrics()
        serve_requests(second, 3, tokens=11)
    snapshot = traffic_snapshot(second.registry)
    assert snapshot["requests"] == 5
    assert snapshot["requests_by_provider"] == {"groq": 5}
    assert snapshot["tokens"]["input"] == 55
    assert snapshot["active_streams"] == 1
    buckets = dict((le, count) for le, count in snapshot["latency_buckets"]["request"])
    assert buckets[0.25] == 5
    assert buckets[None] == 5  # +Inf


def test_the_directory_must_be_set_before_prometheus_client_is_imported(
    tmp_path: Path,
) -> None:
    # In this process prometheus-client keeps values in memory: a Metrics that read
    # the files would silently miss every value of its own process.
    with pytest.raises(RuntimeError, match=MULTIPROCESS_DIR_ENV):
        Metrics(environ={MULTIPROCESS_DIR_ENV: str(tmp_path)})
    assert list(tmp_path.iterdir()) == []
