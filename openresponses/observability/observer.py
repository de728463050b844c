"""``Ops``: what the gateway's operability needs at run time, passed in through the factory.

One ``Ops`` per gateway holds the ``Metrics``, the shutdown ``Drain``, the actor statistics
source (for ``/ready`` and the actor metrics) and the OpenTelemetry tracer (None: off). The run
wraps each model call's event stream with ``Ops.turn``, which records upstream latency, time to
first token, tokens and active streams, fills the current request's ``RequestRecord``, traces
the call (``tracing.model_call_span``) and bounds every wait by the drain.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol, TypeVar

import attrs
import trio
from opentelemetry.trace import Tracer

from actors import ActorStatistics, MailboxFull
from openresponses.observability.lifecycle import Drain
from openresponses.observability.logs import RequestRecord, current_request
from openresponses.observability.metrics import ActorSource, Metrics
from openresponses.observability.tracing import end_model_call_span, model_call_span
from openresponses.schema import model_events as me

T = TypeVar("T")

_OUTPUT = (me.TextDelta, me.RefusalDelta, me.ReasoningDelta, me.ReasoningSummaryDelta,
           me.ToolCallStart, me.ToolCallDelta, me.OpaqueItem)


class _HasStatistics(Protocol):
    def statistics(self) -> list[ActorStatistics]: ...


def _no_actors() -> Sequence[ActorStatistics]:
    return ()


@attrs.define
class Ops:
    """Metrics, drain and actor statistics of one gateway."""

    metrics: Metrics = attrs.Factory(Metrics)
    drain: Drain = attrs.Factory(Drain)
    actors: ActorSource = _no_actors
    tracer: Tracer | None = None

    @classmethod
    def for_supervisor(cls, supervisor: _HasStatistics, tracer: Tracer | None = None) -> Ops:
        """Ops whose actor metrics and readiness read ``supervisor.statistics()``."""
        return cls(metrics=Metrics(supervisor.statistics), actors=supervisor.statistics,
                   tracer=tracer)

    @asynccontextmanager
    async def turn(
        self, provider: str, model: str,
        upstream: AbstractAsyncContextManager[trio.abc.ReceiveChannel[T]],
    ) -> AsyncIterator[trio.abc.ReceiveChannel[T]]:
        """Enter ``upstream`` (one model call's event stream, e.g. ``ActorRef.stream(...)``)
        and yield its channel, observed and bounded by the drain.

        The call's outcome is ``ok`` when the block ends normally, ``shed`` when the provider
        actor's mailbox was full, ``error`` for any other exception, ``cancelled`` otherwise
        (the client went away).
        """
        watch = _TurnWatch(self.metrics, provider, model, current_request.get())
        outcome, error = "cancelled", None
        with model_call_span(self.tracer, provider, model) as span:
            try:
                async with upstream as items:
                    yield _Watched(self.drain, items, watch)
                outcome = "ok"
            except MailboxFull:
                outcome, error = "shed", "overloaded"
                raise
            except Exception as exc:
                outcome, error = "error", type(exc).__name__
                raise
            finally:
                watch.close(outcome)
                end_model_call_span(span, input_tokens=watch.input_tokens,
                                    output_tokens=watch.output_tokens, finish=watch.finish,
                                    error=error)


class _TurnWatch:
    """The measurements of one model call."""

    def __init__(
        self, metrics: Metrics, provider: str, model: str, record: RequestRecord | None
    ) -> None:
        self.metrics = metrics
        self.provider = provider
        self.model = metrics.model_label(provider, model)
        self.record = record
        self.started = time.perf_counter()
        self.first_output: float | None = None
        self.input_tokens = 0
        self.output_tokens = 0
        self.finish: str | None = None
        metrics.active_streams.labels(provider).inc()
        if record is not None:
            record.provider, record.model = provider, model

    def saw(self, item: object) -> None:
        if isinstance(item, me.Usage):
            self.input_tokens += item.input_tokens
            self.output_tokens += item.output_tokens
        elif isinstance(item, me.Finish):
            self.finish = item.reason
        elif self.first_output is None and isinstance(item, _OUTPUT):
            now = time.perf_counter()
            self.first_output = now - self.started
            self.metrics.ttft_seconds.labels(self.provider, self.model).observe(self.first_output)
            if self.record is not None and self.record.ttft_seconds is None:
                self.record.ttft_seconds = now - self.record.started

    def close(self, outcome: str) -> None:
        elapsed = time.perf_counter() - self.started
        metrics, provider, model = self.metrics, self.provider, self.model
        metrics.active_streams.labels(provider).dec()
        metrics.upstream_seconds.labels(provider, model).observe(elapsed)
        metrics.model_calls.labels(provider, model, outcome).inc()
        if self.input_tokens:
            metrics.tokens.labels(provider, model, "input").inc(self.input_tokens)
        if self.output_tokens:
            metrics.tokens.labels(provider, model, "output").inc(self.output_tokens)
        record = self.record
        if record is not None:
            record.upstream_seconds += elapsed
            record.input_tokens += self.input_tokens
            record.output_tokens += self.output_tokens


class _Watched(trio.abc.ReceiveChannel[T]):
    def __init__(self, drain: Drain, items: trio.abc.ReceiveChannel[T], watch: _TurnWatch) -> None:
        self._drain = drain
        self._items = items
        self._watch = watch

    async def receive(self) -> T:
        item = await self._drain.receive(self._items)
        self._watch.saw(item)
        return item

    async def aclose(self) -> None:
        await self._items.aclose()
