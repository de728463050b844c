"""OpenTelemetry traces with the GenAI semantic conventions; off (and free) unless configured.

``tracing_from_env`` gives a ``Tracing`` when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set and the SDK
and OTLP exporter are installed (``pip install 'openresponses[otel]'``); otherwise None, and
nothing is traced. The exporter reads the standard ``OTEL_*`` variables itself.

Spans: one ``SERVER`` span per HTTP request (``POST /v1/responses``, ``http.*`` attributes) and,
inside it, one ``CLIENT`` span per model call (``chat {model}``) with ``gen_ai.operation.name``,
``gen_ai.provider.name`` (and the older ``gen_ai.system``), ``gen_ai.request.model``,
``gen_ai.usage.input_tokens`` / ``output_tokens``, ``gen_ai.response.finish_reasons`` and
``error.type``; and one ``INTERNAL`` span per server-side tool call (``execute_tool {name}``)
with ``gen_ai.operation.name = execute_tool``, ``gen_ai.tool.name``, ``gen_ai.tool.call.id``,
``gen_ai.tool.type`` and, for a failed call, ``error.type`` and an error status. Message
content, tool arguments and tool results are never recorded.

The request span keeps its tracer in the ``_request_tracer`` context variable (inherited by
the tasks the request starts), so the tool loop traces its calls without being handed the
tracer; with tracing off the variable is None and a tool call costs one lookup.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from contextvars import ContextVar
from typing import Any

import attrs
import trio
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer

logger = logging.getLogger("openresponses.tracing")
_request_tracer: ContextVar[Tracer | None] = ContextVar("openresponses_tracer", default=None)


@attrs.frozen
class Tracing:
    """A tracer and how to flush it at exit."""

    tracer: Tracer
    provider: Any  # opentelemetry.sdk.trace.TracerProvider

    def shutdown(self) -> None:
        """Export what is buffered, then stop the exporter."""
        self.provider.shutdown()


def tracing_from_env(env: Mapping[str, str]) -> Tracing | None:
    """OTLP tracing if ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set and the SDK is installed."""
    if not env.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        return None
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        logger.warning("OTEL_EXPORTER_OTLP_ENDPOINT is set but the OpenTelemetry SDK is not "
                       "installed (pip install 'openresponses[otel]'); tracing is off")
        return None
    service = env.get("OTEL_SERVICE_NAME") or "openresponses"
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return Tracing(provider.get_tracer("openresponses"), provider)


# Tracing off: one shared do-nothing context manager instead of a generator per request.
_NO_SPAN: AbstractContextManager[None] = nullcontext(None)


def request_span(tracer: Tracer | None, method: str, path: str
                 ) -> AbstractContextManager[Span | None]:
    """The SERVER span of one HTTP request (None when tracing is off)."""
    return _NO_SPAN if tracer is None else _request_span(tracer, method, path)


@contextmanager
def _request_span(tracer: Tracer, method: str, path: str) -> Iterator[Span]:
    attributes = {"http.request.method": method, "url.path": path}
    token = _request_tracer.set(tracer)
    try:
        with tracer.start_as_current_span(method, kind=SpanKind.SERVER,
                                          attributes=attributes) as span:
            yield span
    finally:
        _request_tracer.reset(token)


def end_request_span(span: Span | None, method: str, route: str, status: int,
                     request_id: str) -> None:
    if span is None:
        return
    span.update_name(f"{method} {route}")
    span.set_attributes({"http.route": route, "http.response.status_code": status,
                         "openresponses.request_id": request_id})
    if status >= 500:
        span.set_status(Status(StatusCode.ERROR))


def model_call_span(tracer: Tracer | None, provider: str, model: str
                    ) -> AbstractContextManager[Span | None]:
    """The CLIENT span of one model call (None when tracing is off). Exceptions are recorded
    by the caller (``end_model_call_span``), not here."""
    return _NO_SPAN if tracer is None else _model_call_span(tracer, provider, model)


@contextmanager
def _model_call_span(tracer: Tracer, provider: str, model: str) -> Iterator[Span]:
    attributes = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": provider,
                  "gen_ai.system": provider, "gen_ai.request.model": model}
    with tracer.start_as_current_span(f"chat {model}", kind=SpanKind.CLIENT,
                                      attributes=attributes, record_exception=False,
                                      set_status_on_exception=False) as span:
        yield span


def end_model_call_span(span: Span | None, *, input_tokens: int, output_tokens: int,
                        finish: str | None, error: str | None) -> None:
    if span is None:
        return
    span.set_attributes({"gen_ai.usage.input_tokens": input_tokens,
                         "gen_ai.usage.output_tokens": output_tokens})
    if finish is not None:
        span.set_attribute("gen_ai.response.finish_reasons", [finish])
    if error is not None:
        span.set_attribute("error.type", error)
        span.set_status(Status(StatusCode.ERROR))


@contextmanager
def tool_call_span(name: str, call_id: str, kind: str) -> Iterator[Span | None]:
    """The INTERNAL span of one server-side tool call, in the current request's trace (None
    when tracing is off). An exception (a cancelled call included) ends it with an error."""
    tracer = _request_tracer.get()
    if tracer is None:
        yield None
        return
    attributes = {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": name,
                  "gen_ai.tool.call.id": call_id, "gen_ai.tool.type": "extension",
                  "openresponses.tool.kind": kind}
    with tracer.start_as_current_span(f"execute_tool {name}", kind=SpanKind.INTERNAL,
                                      attributes=attributes, record_exception=False,
                                      set_status_on_exception=False) as span:
        try:
            yield span
        except BaseException as exc:
            _failed(span, "cancelled" if isinstance(exc, trio.Cancelled) else type(exc).__name__)
            raise


def end_tool_call_span(span: Span | None, *, failed: bool) -> None:
    """Mark the call failed (the tool's error became its output; the model goes on)."""
    if span is not None and failed:
        _failed(span, "tool_error")


def _failed(span: Span, error: str) -> None:
    span.set_attribute("error.type", error)
    span.set_status(Status(StatusCode.ERROR))
