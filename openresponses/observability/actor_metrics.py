"""Actor mailbox depth, capacity, in-flight messages, processed messages and restarts as
Prometheus series, in the two ways the two process models need.

One process: ``ActorCollector`` reads the statistics source at each scrape (nothing is stored,
nothing is paid between scrapes).

``serve --workers N`` (prometheus-client's multiprocess mode): a scrape reads the files every
worker writes and never calls into another process, so a collector would show only the worker
that took the scrape. ``PublishedActors`` instead writes this worker's statistics into its
files on ``publish`` (the ops routes call it on each scrape and every second while serving):
the gauges are ``livesum`` (the gateway's total, a dead worker's share dropped when the parent
marks it dead), processed messages and restarts are counters advanced by what changed since
the last publish (a dead worker's counts stay in the total, as counters should).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from actors import ActorStatistics

ActorSource = Callable[[], Sequence[ActorStatistics]]

DEPTH = ("openresponses_actor_mailbox_depth", "Messages queued in the actor's mailbox.")
CAPACITY = ("openresponses_actor_mailbox_capacity", "Size of the actor's bounded mailbox.")
IN_FLIGHT = ("openresponses_actor_in_flight", "Messages the actor is handling now.")
PROCESSED = ("openresponses_actor_messages_processed", "Messages handled, across restarts.")
RESTARTS = ("openresponses_actor_restarts", "Times the actor crashed and was restarted.")


class ActorCollector:
    """The actor series of this process, read from the statistics source at each scrape."""

    def __init__(self, source: ActorSource) -> None:
        self._source = source

    def collect(self) -> Iterable[Metric]:
        depth = GaugeMetricFamily(*DEPTH, labels=["actor"])
        capacity = GaugeMetricFamily(*CAPACITY, labels=["actor"])
        in_flight = GaugeMetricFamily(*IN_FLIGHT, labels=["actor"])
        processed = CounterMetricFamily(*PROCESSED, labels=["actor"])
        restarts = CounterMetricFamily(*RESTARTS, labels=["actor"])
        for stats in self._source():
            depth.add_metric([stats.name], stats.depth)
            capacity.add_metric([stats.name], stats.capacity)
            in_flight.add_metric([stats.name], stats.in_flight)
            processed.add_metric([stats.name], stats.processed)
            restarts.add_metric([stats.name], stats.restarts)
        return [depth, capacity, in_flight, processed, restarts]


def _advance(now: int, before: int) -> int:
    """What a cumulative count gained since ``before``; all of it if the count started over
    (an actor replaced under the same name)."""
    return now - before if now >= before else now


class PublishedActors:
    """The same series as ``ActorCollector``, written into this process's multiprocess files
    by ``publish`` (see the module docstring)."""

    def __init__(self, source: ActorSource, registry: CollectorRegistry) -> None:
        self._source = source
        self.depth = Gauge(*DEPTH, ["actor"], multiprocess_mode="livesum", registry=registry)
        self.capacity = Gauge(*CAPACITY, ["actor"], multiprocess_mode="livesum",
                              registry=registry)
        self.in_flight = Gauge(*IN_FLIGHT, ["actor"], multiprocess_mode="livesum",
                               registry=registry)
        self.processed = Counter(*PROCESSED, ["actor"], registry=registry)
        self.restarts = Counter(*RESTARTS, ["actor"], registry=registry)
        self._counted: dict[str, tuple[int, int]] = {}  # actor: (processed, restarts) published

    def publish(self) -> None:
        """Write the current statistics; an actor no longer running shows 0 queued, 0 in
        flight and no capacity (a file's entry cannot be removed, only zeroed)."""
        running = set()
        for stats in self._source():
            running.add(stats.name)
            self.depth.labels(stats.name).set(stats.depth)
            self.capacity.labels(stats.name).set(stats.capacity)
            self.in_flight.labels(stats.name).set(stats.in_flight)
            processed, restarts = self._counted.get(stats.name, (0, 0))
            if gained := _advance(stats.processed, processed):
                self.processed.labels(stats.name).inc(gained)
            if gained := _advance(stats.restarts, restarts):
                self.restarts.labels(stats.name).inc(gained)
            self._counted[stats.name] = (stats.processed, stats.restarts)
        for gone in self._counted.keys() - running:
            for gauge in (self.depth, self.capacity, self.in_flight):
                gauge.labels(gone).set(0)
