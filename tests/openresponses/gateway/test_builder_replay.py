"""Every recorded 200 exchange (A to D, E16) through translation AND the event builder: the Response
and every stream event are valid against both specs and carry the recording's content."""

from __future__ import annotations

from typing import Any

import pytest

from openresponses.errors import GatewayError
from openresponses.gateway.builder import ResponseBuilder
from openresponses.gateway.response_object import response_skeleton
from openresponses.providers.base import WireProtocol
from openresponses.providers.registry import protocol_for
from openresponses.providers.sse import SSEDecoder
from openresponses.schema.model_events import ModelEvent
from openresponses.schema.request import parse_create_response
from tests.spec import check_response, check_stream
from tests.transcripts import Transcript, load, replay, summarize, transcript_ids

_API = {"A": "chat", "B": "responses", "C": "anthropic", "D": "chat"}
SUCCESSES = [t for c in "ABCD" for t in transcript_ids(c) if load(t).status == 200]


def _protocol(t: Transcript) -> WireProtocol:
    return protocol_for(_API[t.category])


def _events(t: Transcript) -> list[ModelEvent]:
    protocol = _protocol(t)
    if t.stream:
        return replay(protocol.stream_translator(), t.body, chunk_size=97)
    return protocol.translate_response(t.json())


def _build(events: list[ModelEvent]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    request = parse_create_response({"model": "x@y", "input": "hi"})
    builder = ResponseBuilder(response_skeleton(request, response_id="resp_1", created_at=1))
    out = builder.start()
    for event in events:
        out += builder.feed(event)
    out += builder.finish(completed_at=2)
    return out, builder.response


@pytest.mark.parametrize("transcript_id", SUCCESSES)
def test_recording_builds_a_valid_response_and_stream(transcript_id: str) -> None:
    t = load(transcript_id)
    events = _events(t)
    stream, response = _build(events)
    check_stream(stream)
    check_response(response)
    summary = summarize(events)
    assert response["output_text"] == summary.all_text
    calls = [i for i in response["output"] if i["type"] == "function_call"]
    assert [(c["call_id"], c["name"], c["arguments"]) for c in calls] == list(
        summary.calls.values()
    )
    if summary.usage:
        assert response["usage"]["input_tokens"] == summary.usage[-1].input_tokens
        assert response["usage"]["output_tokens"] == summary.usage[-1].output_tokens
    reasoning_text = "".join(summary.reasoning.values())
    if reasoning_text:
        built = "".join(p["text"] for i in response["output"] if i["type"] == "reasoning"
                        for p in i.get("content", []))
        assert built == reasoning_text


def test_length_finish_is_incomplete_with_the_truncated_item_incomplete() -> None:
    stream, response = _build(_events(load("A08")))
    assert response["status"] == "incomplete"
    assert response["incomplete_details"] == {"reason": "max_output_tokens"}
    assert response["output"][-1]["status"] == "incomplete"
    assert stream[-1]["type"] == "response.incomplete"


def test_inband_error_mid_stream_ends_with_error_then_failed() -> None:
    t = load("E16")
    protocol = protocol_for("chat")
    request = parse_create_response({"model": "x@y", "input": "hi"})
    builder = ResponseBuilder(response_skeleton(request, response_id="resp_1", created_at=1))
    translator = protocol.stream_translator()
    with pytest.raises(GatewayError) as info:
        replay(translator, t.body)
    decoder, partial_translator = SSEDecoder(), protocol.stream_translator()
    partial = [event for sse in decoder.feed(t.body.split(b"event: error")[0])
               for event in partial_translator.feed(sse.event, sse.data)]
    assert partial  # the recording streams output before its error
    out = builder.start()
    for event in partial:
        out += builder.feed(event)
    out += builder.fail(info.value)
    check_stream(out)
    assert [e["type"] for e in out[-2:]] == ["error", "response.failed"]
    assert builder.response["status"] == "failed"
    assert builder.response["error"]["message"]


def test_a_failure_while_a_server_tool_runs_finishes_its_item_failed() -> None:
    """Only the model's open items were closed: a web_search_call stayed in_progress in the
    stored response, its stream without output_item.done."""
    request = parse_create_response({"model": "x@y", "input": "hi"})
    builder = ResponseBuilder(response_skeleton(request, response_id="resp_1", created_at=1))
    out = builder.start()
    _, added = builder.server_item_added({"type": "web_search_call",
                                          "action": {"type": "search", "query": "q"}},
                                         ["response.web_search_call.in_progress"])
    out += added + builder.fail(GatewayError("upstream went away", status=502))
    check_stream(out)
    assert [i["status"] for i in builder.response["output"]] == ["failed"]
    assert [e["type"] for e in out[-3:]] == ["response.output_item.done", "error",
                                             "response.failed"]
