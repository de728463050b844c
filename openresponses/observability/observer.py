"""``Ops``: what the gateway's operability needs at run time, passed in through the factory.

One ``Ops`` per gateway holds the ``Metrics``, the shutdown ``Drain``, the actor statistics
source (for ``/ready`` and the actor metrics) and the OpenTelemetry tracer (None: off). The run
wraps each model call's event stream with ``Ops.turn``, which records upstream latency, time to
first token, tokens and active streams, fills the current request's ``RequestRecord``, traces
the call (``tracing.model_call_span``) and bounds every wait by the drain.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol, TypeVar, cast

import attrs
import trio
from opentelemetry.trace import Tracer

from actors import ActorStatistics, MailboxFull
from openresponses.observability.lifecycle import Closable, Drain
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
    ) -> AsyncIterator[Watched[T]]:
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
                    yield Watched(self.drain, items, watch)
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
        metrics.child(metrics.active_streams, provider).inc()
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
            metrics = self.metrics
            metrics.child(metrics.ttft_seconds, self.provider, self.model).observe(
                self.first_output)
            if self.record is not None and self.record.ttft_seconds is None:
                self.record.ttft_seconds = now - self.record.started

    def close(self, outcome: str) -> None:
        elapsed = time.perf_counter() - self.started
        metrics, provider, model = self.metrics, self.provider, self.model
        metrics.child(metrics.active_streams, provider).dec()
        metrics.child(metrics.upstream_seconds, provider, model).observe(elapsed)
        metrics.child(metrics.model_calls, provider, model, outcome).inc()
        if self.input_tokens:
            metrics.child(metrics.tokens, provider, model, "input").inc(self.input_tokens)
        if self.output_tokens:
            metrics.child(metrics.tokens, provider, model, "output").inc(self.output_tokens)
        record = self.record
        if record is not None:
            record.upstream_seconds += elapsed
            record.input_tokens += self.input_tokens
            record.output_tokens += self.output_tokens


class _Counted(Protocol):
    """A channel that says how many items ``receive_nowait`` has at hand (``ActorRef.stream``'s,
    a non-stream turn's ``_Answered``)."""

    @property
    def ready_count(self) -> int: ...


class Watched(trio.abc.ReceiveChannel[T]):
    """A model call's items, observed (``_TurnWatch``) and bounded by the drain."""

    def __init__(self, drain: Drain, items: trio.abc.ReceiveChannel[T], watch: _TurnWatch) -> None:
        self._drain = drain
        self._items = items
        self._watch = watch
        self._error: BaseException | None = None  # met by ``ready``, raised by ``receive``
        self._receive_nowait: Callable[[], T] | None = getattr(items, "receive_nowait", None)
        self._counted: _Counted | None = (  # see ``ready``
            cast("_Counted", items) if hasattr(items, "ready_count") else None)
        # A channel with a plain close() (a memory channel, ActorRef.stream's) is woken by it:
        # the drain can end its waits without a cancel scope each (Drain.receive_closable).
        self._closable: Closable[T] | None = (
            cast("Closable[T]", items) if callable(getattr(items, "close", None)) else None)
        # A channel that counts what it has at hand and is waited on without a cancel scope
        # (ActorRef.stream's): with nothing at hand, ``receive`` waits at once, where trying
        # ``receive_nowait`` first would raise WouldBlock on every streamed chunk. Any other
        # channel is tried first: a non-stream turn's ends by ``EndOfChannel`` from
        # ``receive_nowait``, which spares it the drain's scoped wait.
        self._wait_when_empty = self._counted if self._closable is not None else None

    async def receive(self) -> T:
        """The next item. One at hand is taken at once: no cancel scope and no scheduler round
        trip (the consumer's next send is its checkpoint); a wait is bounded by the drain."""
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        receive_nowait = self._receive_nowait
        empty = self._wait_when_empty
        if receive_nowait is None or (empty is not None and not empty.ready_count):
            item = await self._wait()
        else:
            try:
                item = receive_nowait()
            except trio.WouldBlock:
                item = await self._wait()
        self._watch.saw(item)
        return item

    async def _wait(self) -> T:
        """Wait for the next item, bounded by the drain."""
        if self._closable is not None:
            return await self._drain.receive_closable(self._closable)
        return await self._drain.receive(self._items)

    def ready(self) -> list[T]:
        """The items that can be had now without waiting (none if the channel cannot say).

        Lets a consumer handle what arrived together as one batch (one SSE write, not one per
        event). The end of the stream, or the producer's error, is left for ``receive``.
        """
        receive_nowait = self._receive_nowait
        found: list[T] = []
        if receive_nowait is None or self._error is not None:
            return found
        if self._counted is not None:  # the channel can say: no WouldBlock raised to find out
            for _ in range(self._counted.ready_count):
                item = receive_nowait()
                self._watch.saw(item)
                found.append(item)
            return found
        while True:
            try:
                item = receive_nowait()
            except (trio.WouldBlock, trio.EndOfChannel):
                return found
            except Exception as exc:
                self._error = exc
                return found
            self._watch.saw(item)
            found.append(item)

    async def aclose(self) -> None:
        await self._items.aclose()
