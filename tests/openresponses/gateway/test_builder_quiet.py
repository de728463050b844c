"""A quiet ``ResponseBuilder`` (a non-stream response: no events built) ends with the very
Response the event path builds, byte for byte: over every recorded 200 exchange and over the
builder paths the recordings do not reach (custom and hidden calls, server items, a second
turn, a failure mid-item). Only a non-stream turn's builder is quiet."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any, cast

import orjson
import pytest
import trio

from openresponses.auth import Caller
from openresponses.config import load_config
from openresponses.errors import UpstreamUnavailable
from openresponses.gateway import builder as builder_module
from openresponses.gateway import builder_server
from openresponses.gateway.builder import Event, ResponseBuilder
from openresponses.gateway.response_object import response_skeleton
from openresponses.gateway.run import Gateway, ResponseRun
from openresponses.gateway.turns import prepare_turn
from openresponses.providers.registry import protocol_for
from openresponses.schema import model_events as me
from openresponses.schema.request import parse_create_response
from openresponses.tools.toolset import RenamedTool
from tests.transcripts import load, replay, transcript_ids

_API = {"A": "chat", "B": "responses", "C": "anthropic", "D": "chat"}
SUCCESSES = [t for c in "ABCD" for t in transcript_ids(c) if load(t).status == 200]
_TERMINAL = ("response.completed", "response.incomplete", "response.failed")

Script = Callable[[ResponseBuilder], list[Event]]


def _numbered() -> Callable[[str], str]:
    """An ``item_id`` that numbers ids from 0 (fresh ids are random: two runs could not
    compare)."""
    counter = itertools.count()
    return lambda kind: f"{kind}_{next(counter)}"


def _both(monkeypatch: pytest.MonkeyPatch, script: Script, **kwargs: Any
          ) -> tuple[list[Event], list[Event], bytes, bytes]:
    """(events, quiet events, response, quiet response) of ``script`` run both ways."""
    out: list[tuple[list[Event], bytes]] = []
    for quiet in (False, True):
        item_id = _numbered()
        monkeypatch.setattr(builder_module, "item_id", item_id)
        monkeypatch.setattr(builder_server, "item_id", item_id)
        request = parse_create_response({"model": "x@y", "input": "hi"})
        builder = ResponseBuilder(response_skeleton(request, response_id="resp_1", created_at=1),
                                  quiet=quiet, **kwargs)
        events = script(builder)
        out.append((events, orjson.dumps(builder.response)))
    (loud, response), (quiet_events, quiet_response) = out
    return loud, quiet_events, response, quiet_response


def _assert_same_final(monkeypatch: pytest.MonkeyPatch, script: Script, **kwargs: Any) -> None:
    loud, quiet, response, quiet_response = _both(monkeypatch, script, **kwargs)
    assert quiet_response == response
    assert [e["type"] for e in quiet] == [loud[-1]["type"]]  # only the terminal event
    assert quiet[0]["type"] in _TERMINAL


def _fed(events: list[me.ModelEvent]) -> Script:
    def script(builder: ResponseBuilder) -> list[Event]:
        out = builder.start()
        for event in events:
            out += builder.feed(event)
        return out + builder.finish(completed_at=2)
    return script


def _recorded(transcript_id: str) -> list[me.ModelEvent]:
    t = load(transcript_id)
    protocol = protocol_for(_API[t.category])
    if t.stream:
        return replay(protocol.stream_translator(), t.body, chunk_size=97)
    return protocol.translate_response(t.json())


@pytest.mark.parametrize("transcript_id", SUCCESSES)
def test_recording_quiet_response_is_byte_identical(monkeypatch: pytest.MonkeyPatch,
                                                    transcript_id: str) -> None:
    _assert_same_final(monkeypatch, _fed(_recorded(transcript_id)))


def test_every_content_kind_quiet_is_identical(monkeypatch: pytest.MonkeyPatch) -> None:
    annotation = {"type": "url_citation", "url": "https://x", "title": "x",
                  "start_index": 0, "end_index": 1}
    _assert_same_final(monkeypatch, _fed([
        me.ReasoningSummaryDelta("r", 1, "second"), me.ReasoningSummaryDelta("r", 0, "first"),
        me.ReasoningDelta("r", "thinking"), me.ReasoningEncrypted("r", "blob", "anthropic"),
        me.ItemDone("r"),
        me.TextDelta("m", "Hel"), me.TextDelta("m", "lo"), me.Annotation("m", annotation),
        me.RefusalDelta("m", "no"), me.TextDelta("m", "again"),
        me.OpaqueItem({"type": "web_search_call", "status": "completed"}),
        me.Usage(input_tokens=3, output_tokens=4), me.Finish("length"),
    ]))


def test_calls_custom_namespaced_hidden_quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    renamed = {"fn_custom": RenamedTool("custom", "grammar"),
               "ns__tool": RenamedTool("namespace", "tool", "ns")}
    script = _fed([
        me.ToolCallStart("c0", "call_a", "plain"), me.ToolCallDelta("c0", '{"a":'),
        me.ToolCallDelta("c0", "1}"),
        me.ToolCallStart("c1", "call_b", "fn_custom"), me.ToolCallDelta("c1", '{"input":"x"}'),
        me.ToolCallStart("c2", "call_c", "ns__tool"), me.ToolCallDelta("c2", "{}"),
        me.ToolCallStart("c3", "call_d", "search"), me.ToolCallDelta("c3", "{}"),
        me.ToolCallDelta("nowhere", "{}"), me.Finish("tool_calls"),
    ])
    _assert_same_final(monkeypatch, script, renamed=renamed, server_tools=frozenset({"search"}))


def test_server_items_second_turn_quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    def script(builder: ResponseBuilder) -> list[Event]:
        out = builder.start() + builder.add_items([{"type": "mcp_list_tools", "tools": []}])
        builder.begin_turn()
        out += builder.feed(me.ToolCallStart("c0", "call_a", "search"))
        events, calls = builder.end_turn()
        assert [c.name for c in calls] == ["search"]
        index, added = builder.server_item_added({"type": "web_search_call"},
                                                 ["response.web_search_call.searching"])
        out += events + added
        out += builder.server_item_done(index, {"action": {"query": "q"}, "status": "completed"},
                                        ["response.web_search_call.completed"])
        builder.begin_turn()
        out += builder.feed(me.TextDelta("message", "found"))
        builder.set_incomplete("max_tool_iterations")
        return out + builder.finish(completed_at=2)
    _assert_same_final(monkeypatch, script, server_tools=frozenset({"search"}))


def test_failure_mid_item_quiet_is_identical(monkeypatch: pytest.MonkeyPatch) -> None:
    def script(builder: ResponseBuilder) -> list[Event]:
        out = builder.start() + builder.feed(me.TextDelta("message", "partial"))
        out += builder.feed(me.ReasoningSummaryDelta("r", 0, "half"))
        return out + builder.fail(UpstreamUnavailable("gone"))
    loud, quiet, response, quiet_response = _both(monkeypatch, script)
    assert quiet_response == response
    assert [e["type"] for e in quiet] == ["error", "response.failed"] == [
        e["type"] for e in loud[-2:]]


@pytest.mark.parametrize("stream", [False, True])
def test_only_a_non_stream_turn_is_quiet(stream: bool) -> None:
    config = load_config(env={}, path=None)
    # Preparing reads which providers exist; nothing is sent or stored.
    gateway = Gateway(config=config, providers=dict.fromkeys(config.providers, cast(Any, None)),
                      storage=cast(Any, None))
    request = parse_create_response({"model": "groq@m", "input": "hi", "stream": stream})
    turn = trio.run(prepare_turn, gateway, Caller("owner", ""), request)
    assert turn.run.builder.quiet is not stream
    # Compaction's summary call makes its run directly, and drains it the same way.
    assert ResponseRun(gateway, Caller("owner", ""), request).builder.quiet is not stream
