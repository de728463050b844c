"""ChatStreamTranslator edge cases: in-band errors, truncation, usage placement, odd deltas."""

from __future__ import annotations

import json
from typing import Any

import pytest

from openresponses.errors import UpstreamError, UpstreamUnavailable
from openresponses.providers.chat import ChatProtocol
from openresponses.providers.chat_response import ChatStreamTranslator
from openresponses.schema.model_events import (
    Finish,
    ModelEvent,
    ReasoningDelta,
    TextDelta,
    ToolCallDelta,
    ToolCallStart,
    Usage,
)
from tests.transcripts import load, replay, summarize


def chunk(delta: dict[str, Any] | None = None, finish: str | None = None, **extra: Any) -> str:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    return json.dumps({"object": "chat.completion.chunk", "choices": choices, **extra})


def run(*datas: str) -> list[ModelEvent]:
    translator = ChatStreamTranslator()
    events: list[ModelEvent] = []
    for data in datas:
        events += translator.feed(None, data)
    return events + translator.close()


def test_groq_inband_error_event_raises_the_providers_error() -> None:
    with pytest.raises(UpstreamError) as info:
        replay(ChatProtocol().stream_translator(), load("E16").body)
    error = info.value
    assert (error.status, error.type, error.code) == (
        400,
        "invalid_request_error",
        "tool_use_failed",
    )
    assert error.message.startswith("Tool call validation failed")
    assert '"value"' not in error.message  # Groq's failed_generation is left out
    assert "failed_generation" not in error.message


def test_error_chunk_without_status_is_a_502_server_error() -> None:
    translator = ChatStreamTranslator()
    translator.feed(None, chunk({"content": "Hi"}))
    with pytest.raises(UpstreamError) as info:
        translator.feed(None, json.dumps({"error": {"message": "overloaded, try later"}}))
    assert (info.value.status, info.value.type) == (502, "server_error")
    assert info.value.message == "overloaded, try later"


def test_error_event_message_never_carries_a_key() -> None:
    data = json.dumps({"error": {"message": "bad key sk-proj-abcdefghijklmnop1234"}})
    with pytest.raises(UpstreamError) as info:
        ChatStreamTranslator().feed("error", data)
    assert "sk-proj" not in info.value.message


def test_stream_cut_before_finish_raises_upstream_unavailable() -> None:
    body = load("A06").body
    cut = body.index(b'"finish_reason":"stop"')
    cut = body.rindex(b"\n\n", 0, cut) + 2
    with pytest.raises(UpstreamUnavailable) as info:
        replay(ChatStreamTranslator(), body[:cut])
    assert info.value.status == 502
    assert info.value.message == "upstream stream ended before completion"


def test_usage_after_finish_is_emitted_once_just_before_finish() -> None:
    events = run(
        chunk({"role": "assistant", "content": ""}),
        chunk({"content": "Hi"}),
        chunk({}, finish="stop"),
        chunk(None, usage={"prompt_tokens": 3, "completion_tokens": 1}),
        "[DONE]",
    )
    assert events == [TextDelta("message", "Hi"), Usage(3, 1), Finish("stop")]


def test_close_twice_gives_one_finish() -> None:
    translator = ChatStreamTranslator()
    translator.feed(None, chunk({"content": "x"}, finish="length"))
    assert translator.close() == [Finish("length")]
    assert translator.close() == []


def test_a_call_whose_first_delta_lacks_the_name_starts_when_the_name_arrives() -> None:
    events = run(
        chunk({"tool_calls": [{"index": 0, "id": "c1", "function": {"arguments": '{"a"'}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"name": "f", "arguments": ":1"}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": "}"}}]}, finish="tool_calls"),
    )
    assert events == [
        ToolCallStart("call0", "c1", "f"),
        ToolCallDelta("call0", '{"a":1'),
        ToolCallDelta("call0", "}"),
        Finish("tool_calls"),
    ]


def test_tool_calls_without_index_are_told_apart_by_id() -> None:
    first = {"id": "a", "function": {"name": "f", "arguments": "{}"}}
    second = {"id": "b", "function": {"name": "g", "arguments": "{"}}
    more = {"function": {"arguments": "}"}}
    s = summarize(
        run(
            chunk({"tool_calls": [first]}),
            chunk({"tool_calls": [second]}),
            chunk({"tool_calls": [more]}, "stop"),
        )
    )
    assert s.calls == {"call0": ("a", "f", "{}"), "call1": ("b", "g", "{}")}
    assert s.finish == ["tool_calls"]


def test_a_call_with_empty_id_gets_a_minted_one_in_a_stream() -> None:
    call = {"index": 0, "id": "", "function": {"name": "now", "arguments": "{}"}}
    s = summarize(run(chunk({"tool_calls": [call]}, finish="tool_calls")))
    assert s.calls["call0"][0].startswith("call_")
    assert len(s.calls["call0"][0]) == 29


def test_reasoning_text_is_not_doubled_by_reasoning_details() -> None:
    delta = {
        "reasoning": "step",
        "reasoning_details": [{"type": "reasoning.text", "text": "step"}],
    }
    assert run(chunk(delta, finish="stop")) == [ReasoningDelta("reasoning", "step"), Finish("stop")]


def test_groq_x_groq_usage_is_used_when_top_level_usage_is_absent() -> None:
    events = run(
        chunk({}, finish="stop", x_groq={"usage": {"prompt_tokens": 5, "completion_tokens": 6}})
    )
    assert events == [Usage(5, 6), Finish("stop")]


def test_unknown_finish_reason_is_stop_and_content_filter_is_kept() -> None:
    assert run(chunk({}, finish="something_new"))[-1] == Finish("stop")
    assert run(chunk({}, finish="content_filter"))[-1] == Finish("content_filter")


def test_tool_calls_finish_without_calls_is_stop() -> None:
    assert run(chunk({"content": "x"}, finish="tool_calls"))[-1] == Finish("stop")


def test_malformed_json_is_a_502() -> None:
    with pytest.raises(UpstreamError) as info:
        ChatStreamTranslator().feed(None, '{"choices": [')
    assert info.value.status == 502


def test_only_the_first_choice_is_translated() -> None:
    data = json.dumps(
        {
            "choices": [
                {"index": 1, "delta": {"content": "other"}, "finish_reason": None},
                {"index": 0, "delta": {"content": "mine"}, "finish_reason": "stop"},
            ]
        }
    )
    assert run(data) == [TextDelta("message", "mine"), Finish("stop")]


@pytest.mark.parametrize("empty", [None, "", [], [{"type": "text"}]])
def test_an_empty_reasoning_content_falls_back_to_reasoning(empty: Any) -> None:
    events = run(chunk({"reasoning_content": empty, "reasoning": "think", "content": empty,
                        "refusal": empty}), chunk({}, "stop"))
    assert events == [ReasoningDelta("reasoning", "think"), Finish("stop")]


def test_text_parts_in_a_delta_are_joined() -> None:
    events = run(chunk({"content": [{"type": "text", "text": "a"}, {"text": "b"}]}),
                 chunk({}, "stop"))
    assert events == [TextDelta("message", "ab"), Finish("stop")]


def test_usage_comes_from_groqs_x_groq_when_usage_is_null() -> None:
    usage = {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}
    events = run(chunk({"content": "a"}, usage=None), chunk({}, "stop", usage=None,
                                                            x_groq={"usage": usage}))
    assert events == [TextDelta("message", "a"),
                      Usage(input_tokens=3, output_tokens=2), Finish("stop")]
