"""Anthropic responses (C01-C12), streamed and not, translated into normalized events.

The expected values come from the recordings themselves: ``recorded_message`` rebuilds the
final Messages body from a stream the way Anthropic's SDK does, independently of the translator.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from openresponses.errors import GatewayError, UpstreamUnavailable
from openresponses.providers.anthropic import (
    JSON_TOOL,
    REDACTED_PREFIX,
    THINKING_PREFIX,
    AnthropicProtocol,
)
from openresponses.providers.base import StreamTranslator, WireProtocol
from openresponses.schema.model_events import ModelEvent, OpaqueItem, TextDelta, Usage
from tests.transcripts import Summary, Transcript, load, replay, summarize, transcript_ids

PROTOCOL: WireProtocol = AnthropicProtocol()
ANTHROPIC_OK = transcript_ids("C")
FINISH = {"end_turn": "stop", "tool_use": "tool_calls", "max_tokens": "length"}


def recorded_message(t: Transcript) -> dict[str, Any]:
    """The final Messages body: the non-stream body, or the stream folded SDK-style."""
    if not t.stream:
        return t.json()
    message: dict[str, Any] = {}
    partial: dict[int, str] = {}
    for line in t.body.decode().splitlines():
        if not line.startswith("data:"):
            continue
        event = orjson.loads(line[5:])
        kind = event["type"]
        if kind == "message_start":
            message = event["message"]
        elif kind == "content_block_start":
            message["content"].append(event["content_block"])
        elif kind == "content_block_delta":
            block, delta = message["content"][event["index"]], event["delta"]
            match delta["type"]:
                case "text_delta":
                    block["text"] += delta["text"]
                case "thinking_delta":
                    block["thinking"] += delta["thinking"]
                case "signature_delta":
                    block["signature"] += delta["signature"]
                case "citations_delta":
                    block.setdefault("citations", []).append(delta["citation"])
                case "input_json_delta":
                    partial[event["index"]] = (
                        partial.get(event["index"], "") + delta["partial_json"]
                    )
        elif kind == "content_block_stop" and partial.get(event["index"]):
            message["content"][event["index"]]["input"] = orjson.loads(partial[event["index"]])
        elif kind == "message_delta":
            message.update(event["delta"])
            message["usage"].update(event["usage"])
    return message


def translate(t: Transcript, chunk_size: int = 7) -> list[ModelEvent]:
    if t.stream:
        return replay(PROTOCOL.stream_translator(), t.body, chunk_size)
    return PROTOCOL.translate_response(t.json())


def blocks(message: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [b for b in message["content"] if b["type"] == kind]


@pytest.mark.parametrize("name", ANTHROPIC_OK)
def test_every_recording_translates_to_its_text_calls_reasoning_usage_and_finish(
    name: str,
) -> None:
    t = load(name)
    message = recorded_message(t)
    got = summarize(translate(t))

    assert got.all_text == "".join(b["text"] for b in blocks(message, "text"))
    calls = [(c, n, orjson.loads(args)) for c, n, args in got.calls.values()]
    assert calls == [(b["id"], b["name"], b["input"]) for b in blocks(message, "tool_use")]
    assert list(got.reasoning.values()) == [b["thinking"] for b in blocks(message, "thinking")]
    sealed = [THINKING_PREFIX + b["signature"] for b in blocks(message, "thinking")]
    sealed += [REDACTED_PREFIX + b["data"] for b in blocks(message, "redacted_thinking")]
    assert sorted(got.encrypted.values()) == sorted(sealed)
    usage = message["usage"]
    read = usage.get("cache_read_input_tokens", 0)
    written = usage.get("cache_creation_input_tokens", 0)
    total_in = usage["input_tokens"] + read + written
    assert got.usage == [Usage(total_in, usage["output_tokens"], cached_tokens=read)]
    assert got.finish == [FINISH[message["stop_reason"]]]


@pytest.mark.parametrize("name", [i for i in ANTHROPIC_OK if load(i).stream])
@pytest.mark.parametrize("chunk_size", [1, 5, 4096])
def test_stream_chunking_does_not_change_the_result(name: str, chunk_size: int) -> None:
    t = load(name)
    assert summarize(translate(t, chunk_size)) == summarize(translate(t, 7))


@pytest.mark.parametrize("name", [i for i in ANTHROPIC_OK if load(i).stream])
def test_stream_and_its_folded_body_give_the_same_items(name: str) -> None:
    t = load(name)
    streamed = summarize(translate(t))
    folded = summarize(PROTOCOL.translate_response(recorded_message(t)))
    for field in ("text", "reasoning", "encrypted", "annotations", "opaque", "usage", "finish"):
        assert getattr(streamed, field) == getattr(folded, field), field
    assert sorted(streamed.done) == sorted(folded.done)


def test_c01_text_stream_is_exact() -> None:
    got = summarize(translate(load("C01")))
    assert got.text == {"0": "- Captain\n- Scoop"}
    assert got.done == ["0"]
    assert got.usage == [Usage(17, 10)]
    assert got.finish == ["stop"]


def test_c02_no_argument_tools_get_an_empty_object() -> None:
    got = summarize(translate(load("C02")))
    assert got.calls == {
        "0": ("toolu_01LtHJmixrs9NcWQkK8hu8hj", "pelican_name_generator", "{}"),
        "1": ("toolu_01N8a4jWyf116qKTMqKKmjyt", "pelican_name_generator", "{}"),
    }
    assert got.done == ["0", "1"]
    assert got.finish == ["tool_calls"]


def test_a_non_stream_tool_input_nested_past_orjson_is_relayed_whole() -> None:
    """orjson writes 254 levels: a 500-deep input was a 502 "could not be translated"."""
    deep: dict[str, Any] = {}
    for _ in range(500):
        deep = {"a": deep}
    body = {"id": "msg_1", "type": "message", "role": "assistant", "model": "m",
            "stop_reason": "tool_use", "usage": {"input_tokens": 1, "output_tokens": 1},
            "content": [{"type": "tool_use", "id": "toolu_1", "name": "f", "input": deep}]}
    got = summarize(PROTOCOL.translate_response(body))
    [(call_id, name, arguments)] = got.calls.values()
    assert (call_id, name) == ("toolu_1", "f")
    assert arguments.count("{") == 501


def test_c04_signature_is_carried_byte_identical() -> None:
    t = load("C04")
    signature = blocks(recorded_message(t), "thinking")[0]["signature"]
    got = summarize(translate(t))
    assert got.encrypted == {"0": THINKING_PREFIX + signature}
    assert got.reasoning["0"].startswith("The user wants two names for a pet pelican")
    assert got.done == ["0", "1"]


def test_c05_web_search_becomes_one_item_and_citations_annotate_one_message() -> None:
    events = translate(load("C05"))
    got = summarize(events)
    assert got.opaque[0]["type"] == "web_search_call"
    assert got.opaque[0]["status"] == "completed"
    assert got.opaque[0]["action"]["query"] == "San Francisco weather today"
    assert got.opaque[0]["action"]["sources"][0]["url"].startswith("https://www.accuweather.com/")
    assert list(got.text) == ["2"]  # eleven text blocks, one message
    text = got.text["2"]
    assert len(got.annotations) == 5
    first = got.annotations[0]
    assert first["url"] == "https://www.wunderground.com/hourly/us/ca/san-francisco"
    assert text[first["start_index"] : first["end_index"]].startswith("Today (November 15")
    assert text[first["start_index"] : first["end_index"]].endswith("high of 63°F.")
    assert isinstance(events[-2], Usage)
    assert events[-2].input_tokens == 10423  # message_delta's cumulative count wins


def test_c09_max_tokens_finishes_with_length() -> None:
    assert summarize(translate(load("C09"))).finish == ["length"]


def test_c11_redacted_thinking_data_is_carried_byte_identical() -> None:
    t = load("C11")
    data = [b["data"] for b in blocks(recorded_message(t), "redacted_thinking")]
    got = summarize(translate(t))
    assert got.encrypted == {"0": REDACTED_PREFIX + data[0], "1": REDACTED_PREFIX + data[1]}
    assert got.reasoning == {}
    assert got.text["2"].startswith("I notice that you've sent")


def _renamed(t: Transcript, name: str) -> bytes:
    return t.body.replace(name.encode(), JSON_TOOL.encode())


def test_json_tool_stream_comes_back_as_text_not_a_call() -> None:
    body = _renamed(load("C06"), "secret_retrieval_tool")
    got = summarize(replay(PROTOCOL.stream_translator(), body))
    assert got.calls == {}
    assert orjson.loads(got.text["1"]) == {"password": "mellon"}
    assert orjson.loads(got.text["2"]) == {"password": "radiance"}
    assert got.finish == ["stop"]


def test_json_tool_non_stream_comes_back_as_text() -> None:
    body = orjson.loads(_renamed(load("C07"), "secret_retrieval_tool"))
    got = summarize(PROTOCOL.translate_response(body))
    assert got.calls == {}
    assert got.text["1"] == '{"password":"mellon"}'
    assert got.finish == ["stop"]


@pytest.mark.parametrize(
    ("stop_reason", "finish"),
    [
        ("pause_turn", "pause"),
        ("refusal", "content_filter"),
        ("stop_sequence", "stop"),
        ("something_new", "stop"),
        ("tool_use", "stop"),
    ],  # tool_use without a call: stop
)
def test_stop_reasons_map_to_finish_reasons(stop_reason: str, finish: str) -> None:
    body = {
        "content": [{"type": "text", "text": "hi"}],
        "stop_reason": stop_reason,
        "usage": {"input_tokens": 3, "output_tokens": 1},
    }
    assert summarize(PROTOCOL.translate_response(body)).finish == [finish]


def test_cache_tokens_count_as_input_and_cached() -> None:
    body = {
        "content": [],
        "stop_reason": "end_turn",
        "usage": {
            "input_tokens": 5,
            "output_tokens": 7,
            "cache_read_input_tokens": 100,
            "cache_creation_input_tokens": 20,
        },
    }
    assert summarize(PROTOCOL.translate_response(body)).usage == [
        Usage(125, 7, cached_tokens=100, cache_write_tokens=20)
    ]


def _cut(t: Transcript, before: bytes) -> bytes:
    return t.body[: t.body.index(before)]


def test_stream_cut_before_message_stop_raises_502() -> None:
    body = _cut(load("C01"), b"event: message_stop")
    with pytest.raises(UpstreamUnavailable) as caught:
        replay(PROTOCOL.stream_translator(), body)
    assert caught.value.status == 502


def test_in_band_overloaded_error_event_raises_503() -> None:
    body = _cut(load("C01"), b"event: content_block_stop") + (
        b'event: error\ndata: {"type":"error","error":{"type":"overloaded_error",'
        b'"message":"Overloaded"}}   \n\n'
    )
    with pytest.raises(GatewayError) as caught:
        replay(PROTOCOL.stream_translator(), body)
    assert (caught.value.status, caught.value.type) == (503, "server_error")
    assert caught.value.message == "Overloaded"


def test_malformed_event_data_raises_502() -> None:
    translator: StreamTranslator = PROTOCOL.stream_translator()
    with pytest.raises(UpstreamUnavailable):
        translator.feed("content_block_delta", '{"type": "content_block_delta", ')


def test_ping_and_unknown_events_are_ignored() -> None:
    translator = PROTOCOL.stream_translator()
    assert translator.feed("ping", '{"type": "ping"}') == []
    assert translator.feed("future_thing", '{"type": "future_thing", "x": 1}  ') == []
    assert translator.feed(None, "   ") == []


def test_deltas_for_unknown_block_types_are_dropped() -> None:
    translator = PROTOCOL.stream_translator()
    start = {
        "type": "content_block_start",
        "index": 0,
        "content_block": {"type": "mystery", "payload": {}},
    }
    delta = {
        "type": "content_block_delta",
        "index": 0,
        "delta": {"type": "input_json_delta", "partial_json": "{}"},
    }
    events = translator.feed(None, orjson.dumps(start).decode())
    events += translator.feed(None, orjson.dumps(delta).decode())
    assert events == []


def test_failed_web_search_is_reported_as_failed() -> None:
    body = {
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 1, "output_tokens": 1},
        "content": [
            {
                "type": "server_tool_use",
                "id": "srv_1",
                "name": "web_search",
                "input": {"query": "q"},
            },
            {
                "type": "web_search_tool_result",
                "tool_use_id": "srv_1",
                "content": {"type": "web_search_tool_result_error", "error_code": "unavailable"},
            },
        ],
    }
    events = PROTOCOL.translate_response(body)
    items = [e.item for e in events if isinstance(e, OpaqueItem)]
    assert items == [
        {
            "type": "web_search_call",
            "id": "srv_1",
            "status": "failed",
            "action": {"type": "search", "query": "q", "queries": ["q"]},
        }
    ]


def test_text_after_a_tool_call_is_a_new_message() -> None:
    body = {
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 1, "output_tokens": 1},
        "content": [
            {"type": "text", "text": "a"},
            {"type": "tool_use", "id": "t1", "name": "f", "input": {}},
            {"type": "text", "text": "b"},
        ],
    }
    got: Summary = summarize(PROTOCOL.translate_response(body))
    assert got.text == {"0": "a", "2": "b"}
    assert got.done == ["0", "1", "2"]
    assert [e for e in PROTOCOL.translate_response(body) if isinstance(e, TextDelta)] == [
        TextDelta("0", "a"),
        TextDelta("2", "b"),
    ]
