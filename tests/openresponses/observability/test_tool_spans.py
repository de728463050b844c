"""Tool-call spans: one ``execute_tool`` span per server-side tool call, in the request's trace,
with the GenAI tool attributes, an error status when the tool failed or was cancelled, and no
arguments or results recorded; nothing at all when tracing is off."""

from __future__ import annotations

import json
from collections.abc import Iterator
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
from openresponses.observability.tracing import request_span, tool_call_span
from openresponses.server import serve
from tests.e2e.conftest import gateway_env
from tests.e2e.live import AUTH
from tests.fakes.script import Script, ToolCall
from tests.fakes.upstream import FakeUpstream, SearchReply


@pytest.fixture
def spans() -> Iterator[tuple[Tracer, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider.get_tracer("test"), exporter
    provider.shutdown()


def test_no_span_without_a_traced_request() -> None:
    with tool_call_span("think", "call_1", "think") as span:
        assert span is None


async def test_a_cancelled_tool_call_ends_its_span_with_an_error(
    spans: tuple[Tracer, InMemorySpanExporter],
) -> None:
    tracer, exporter = spans
    with request_span(tracer, "POST", "/v1/responses"), trio.move_on_after(0):
        with tool_call_span("web_search", "call_9", "brave_search"):
            await trio.sleep(1)
    tool, _request = exporter.get_finished_spans()
    assert tool.status.status_code == StatusCode.ERROR
    assert (tool.attributes or {})["error.type"] == "cancelled"


async def test_each_tool_call_gets_a_span_under_the_request_span(
    spans: tuple[Tracer, InMemorySpanExporter], tmp_path: Path
) -> None:
    tracer, exporter = spans
    fake = FakeUpstream()
    fake.search_replies.append(SearchReply(status=500))  # the search fails
    fake.queue(Script(text="", tool_calls=(
        ToolCall("call_think", "think", json.dumps({"thought": "private thought"})),
        ToolCall("call_search", "web_search", json.dumps({"query": "private query"})))),
        Script(text="done"))
    async with trio.open_nursery() as nursery:
        await nursery.start(fake.serve)
        env = {**gateway_env(fake, tmp_path), "BRAVE_API_KEY": "brave-test-key-123"}
        shutdown = trio.Event()
        async with trio.open_nursery() as gateway:
            binds = await gateway.start(partial(serve, load_config(env=env, path=None),
                                                host="127.0.0.1", port=0, shutdown=shutdown,
                                                tracer=tracer))
            async with httpx2.AsyncClient(timeout=10) as http:
                response = await http.post(f"{binds[0]}/v1/responses", headers=AUTH, json={
                    "model": "groq@m", "input": "x",
                    "tools": [{"type": "think"}, {"type": "web_search"}]})
            assert response.status_code == 200, response.text
            shutdown.set()
        nursery.cancel_scope.cancel()
    finished: list[ReadableSpan] = list(exporter.get_finished_spans())
    server = next(s for s in finished if s.kind == SpanKind.SERVER)
    tools = {s.name: s for s in finished if s.kind == SpanKind.INTERNAL}
    assert set(tools) == {"execute_tool think", "execute_tool web_search"}
    think, search = tools["execute_tool think"], tools["execute_tool web_search"]
    assert dict(think.attributes or {}) == {
        "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "think",
        "gen_ai.tool.call.id": "call_think", "gen_ai.tool.type": "extension",
        "openresponses.tool.kind": "think",
    }
    assert think.status.status_code == StatusCode.UNSET
    assert search.status.status_code == StatusCode.ERROR
    assert (search.attributes or {})["error.type"] == "tool_error"
    assert (search.attributes or {})["gen_ai.tool.call.id"] == "call_search"
    for tool in (think, search):
        assert tool.parent is not None
        assert tool.parent.span_id == server.context.span_id
    for span in finished:
        text = str(dict(span.attributes or {}))
        assert "private" not in text
