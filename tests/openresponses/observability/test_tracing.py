"""Traces: off without an OTLP endpoint; with a tracer, a SERVER span per request and a CLIENT
``chat`` span per model call with the GenAI attributes, and no message content."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path

import httpx2
import pytest
import trio
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode, Tracer

from openresponses.config import load_config
from openresponses.observability.observer import Ops
from openresponses.observability.tracing import tracing_from_env
from openresponses.schema import model_events as me
from openresponses.server import serve
from tests.e2e.conftest import CLIENT_KEY, gateway_env
from tests.e2e.live import AUTH
from tests.fakes.upstream import FakeUpstream


@pytest.fixture
def spans() -> Iterator[tuple[Tracer, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider.get_tracer("test"), exporter
    provider.shutdown()


@asynccontextmanager
async def stream_of(*items: object) -> AsyncIterator[trio.MemoryReceiveChannel[object]]:
    send, receive = trio.open_memory_channel[object](len(items) or 1)
    for item in items:
        send.send_nowait(item)
    send.close()
    yield receive


def test_tracing_is_off_without_an_endpoint() -> None:
    assert tracing_from_env({}) is None


def test_tracing_is_on_with_an_endpoint() -> None:
    tracing = tracing_from_env({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9"})
    assert tracing is not None
    tracing.shutdown()  # nothing buffered: nothing sent


async def test_a_model_call_span_has_the_genai_attributes(
    spans: tuple[Tracer, InMemorySpanExporter],
) -> None:
    tracer, exporter = spans
    ops = Ops(tracer=tracer)
    items = (me.TextDelta("k", "secret words"), me.Usage(input_tokens=5, output_tokens=2),
             me.Finish("stop"))
    async with ops.turn("groq", "llama", stream_of(*items)) as upstream:
        _ = [item async for item in upstream]
    with pytest.raises(RuntimeError):
        async with ops.turn("groq", "llama", stream_of()):
            raise RuntimeError("boom")
    ok, failed = exporter.get_finished_spans()
    assert (ok.name, ok.kind) == ("chat llama", SpanKind.CLIENT)
    assert dict(ok.attributes or {}) == {
        "gen_ai.operation.name": "chat", "gen_ai.provider.name": "groq",
        "gen_ai.system": "groq", "gen_ai.request.model": "llama",
        "gen_ai.usage.input_tokens": 5, "gen_ai.usage.output_tokens": 2,
        "gen_ai.response.finish_reasons": ("stop",),
    }
    assert failed.status.status_code == StatusCode.ERROR
    assert (failed.attributes or {})["error.type"] == "RuntimeError"


async def test_a_request_span_parents_its_model_call_span(
    spans: tuple[Tracer, InMemorySpanExporter], tmp_path: Path
) -> None:
    tracer, exporter = spans
    fake = FakeUpstream()
    async with trio.open_nursery() as nursery:
        await nursery.start(fake.serve)
        config = load_config(env=gateway_env(fake, tmp_path), path=None)
        shutdown = trio.Event()
        async with trio.open_nursery() as gateway:
            binds = await gateway.start(partial(serve, config, host="127.0.0.1", port=0,
                                                shutdown=shutdown, tracer=tracer))
            async with httpx2.AsyncClient(timeout=10) as http:
                response = await http.post(f"{binds[0]}/v1/responses", headers=AUTH,
                                           json={"model": "groq@m", "input": "private text"})
            assert response.status_code == 200
            shutdown.set()
        nursery.cancel_scope.cancel()
    finished: list[ReadableSpan] = list(exporter.get_finished_spans())
    server = next(s for s in finished if s.kind == SpanKind.SERVER)
    client = next(s for s in finished if s.kind == SpanKind.CLIENT)
    assert server.name == "POST /v1/responses"
    assert (server.attributes or {})["http.response.status_code"] == 200
    assert client.parent is not None
    assert client.parent.span_id == server.context.span_id
    for span in finished:
        text = str(dict(span.attributes or {}))
        assert "private text" not in text
        assert CLIENT_KEY not in text
