"""Every recorded Chat Completions answer (A: OpenAI, D: Groq, Gemini, Mistral, Cerebras,
OpenRouter, DeepSeek) replayed through ChatProtocol: text, tool calls, reasoning, usage, finish.

The expected values are read from the recording by a deliberately naive parser (``recorded``)
and pinned by a hand-written table of the facts that matter (``EXPECTED``).
"""

from __future__ import annotations

import json
import re
from typing import Any

import attrs
import pytest

from openresponses.providers.base import WireProtocol
from openresponses.providers.chat import ChatProtocol
from openresponses.schema.model_events import (
    Finish,
    ModelEvent,
    ReasoningDelta,
    RefusalDelta,
    TextDelta,
    ToolCallDelta,
    ToolCallStart,
    Usage,
)
from tests.transcripts import Transcript, load, replay, summarize

MINTED = re.compile(r"^call_[A-Za-z0-9]{24}$")
_PROTOCOL: WireProtocol = ChatProtocol()  # checks the Protocol conformance statically


@attrs.frozen
class Expected:
    finish: str
    usage: tuple[int, int, int, int] | None  # input, output, cached, reasoning
    text_start: str = ""
    refusal: bool = False
    reasoning: bool = False
    calls: tuple[tuple[str | None, str, dict[str, Any]], ...] = ()  # None: a minted id


EXPECTED = {
    "A01": Expected(
        "tool_calls",
        (54, 20, 0, 0),
        calls=(("call_1EYWDzueHEp8OsB8jJSEp7WB", "multiply", {"a": 1231, "b": 2331}),),
    ),
    "A02": Expected("stop", (87, 26, 0, 0), text_start="The result of \\( 1231"),
    "A03": Expected(
        "tool_calls",
        (92, 17, 0, 0),
        calls=(("call_TTY8UFNo7rNCaOBUNtlRSvMG", "lookup_population", {"country": "Crumpet"}),),
    ),
    "A04": Expected("stop", (146, 3, 0, 0), text_start="YES"),
    "A05": Expected(
        "tool_calls",
        (75, 53, 0, 0),
        calls=(
            ("call_M26z19sncd7b4LBgzKRRbaUE", "secret_retrieval_tool", {"password": "mellon"}),
            ("call_KPXe5NX7IcKkaBUhc6dto2QV", "secret_retrieval_tool", {"password": "radiance"}),
        ),
    ),
    "A06": Expected("stop", (16, 10, 0, 0), text_start="4200 + 42 equals 4242."),
    "A07": Expected("stop", (16, 12, 0, 0), text_start="\\(4200 + 42 = 4242\\)."),
    "A08": Expected("length", (14, 50, 0, 0), text_start="Certainly! Here is a list"),
    "A09": Expected("stop", (64, 13, 0, 0), refusal=True),
    "A10": Expected("stop", (64, 13, 0, 0), refusal=True),
    "A11": Expected("stop", (11, 228, 0, 192), text_start="3\n\nThere are three"),
    "A12": Expected(
        "tool_calls",
        (53, 15, 0, 0),
        calls=(("call_ZR5UUuTt3pf61kjwAJIYdVMj", "get_capital", {"country": "UK"}),),
    ),
    "D01": Expected("stop", (18, 43, 0, 0), text_start="Here's a joke about OpenTelemetry"),
    "D02": Expected("stop", (18, 73, 0, 0), text_start="A joke about OpenTelemetry!"),
    "D03": Expected(
        "tool_calls",
        (301, 52, 0, 22),
        reasoning=True,
        calls=(
            (
                "fc_311ba17b-89f9-48d3-8fd9-7e74a1264855",
                "get_something_by_name",
                {"name": "test"},
            ),
        ),
    ),
    "D04": Expected(
        "tool_calls",
        (304, 49, 0, 23),
        reasoning=True,
        calls=(
            (
                "fc_bfb39741-3748-4def-9886-a93fc9c64a90",
                "get_something_by_name",
                {"name": "example"},
            ),
        ),
    ),
    "D05": Expected("tool_calls", (35, 12, 0, 0), calls=((None, "get_current_time", {}),)),
    "D06": Expected("stop", (66, 6, 0, 0), text_start="The current time is Noon."),
    "D07": Expected("stop", (11, 96, 0, 0), text_start="Here's a light-hearted, tech-themed"),
    "D08": Expected("stop", (11, 80, 0, 0), text_start="Here's a light-hearted joke"),
    "D09": Expected("stop", (42, 8, 0, 0), text_start="The capital of France is Paris."),
    "D10": Expected("stop", (9, 104, 0, 0), text_start="I\u2019m ChatGPT"),
    "D11": Expected("stop", (6, 212, 0, 198), text_start="Hello there!", reasoning=True),
}


@attrs.frozen
class Recorded:
    text: str
    refusal: str
    reasoning: str
    calls: list[tuple[str, str, str]]


def recorded(t: Transcript) -> Recorded:
    """The answer as the recording states it, read naively (json + string splitting)."""
    if not t.stream:
        message = t.json()["choices"][0]["message"]
        calls = [
            (c["id"], c["function"]["name"], c["function"]["arguments"])
            for c in message.get("tool_calls") or []
        ]
        reasoning = message.get("reasoning_content") or message.get("reasoning") or ""
        return Recorded(
            message.get("content") or "", message.get("refusal") or "", reasoning, calls
        )
    text, refusal, reasoning = "", "", ""
    by_index: dict[int, list[str]] = {}
    for block in t.body.decode().split("\n\n"):
        data = [line[5:].strip() for line in block.split("\n") if line.startswith("data:")]
        if not data or data[0] == "[DONE]":
            continue
        for choice in json.loads(data[0])["choices"]:
            delta = choice["delta"]
            text += delta.get("content") or ""
            refusal += delta.get("refusal") or ""
            reasoning += delta.get("reasoning_content") or delta.get("reasoning") or ""
            for call in delta.get("tool_calls") or []:
                entry = by_index.setdefault(call["index"], ["", "", ""])
                entry[0] = call.get("id") or entry[0]
                entry[1] = call["function"].get("name") or entry[1]
                entry[2] += call["function"].get("arguments") or ""
    calls = [(c[0], c[1], c[2]) for _, c in sorted(by_index.items())]
    return Recorded(text, refusal, reasoning, calls)


def translate(t: Transcript, chunk_size: int = 7) -> list[ModelEvent]:
    protocol = ChatProtocol()
    if t.stream:
        return replay(protocol.stream_translator(), t.body, chunk_size)
    return protocol.translate_response(t.json())


@pytest.mark.parametrize("transcript_id", sorted(EXPECTED))
def test_replay_matches_the_recording(transcript_id: str) -> None:
    t = load(transcript_id)
    expected, rec = EXPECTED[transcript_id], recorded(t)
    s = summarize(translate(t))

    assert s.all_text == rec.text
    assert s.all_text.startswith(expected.text_start)
    assert set(s.text) <= {"message"}
    assert "".join(s.refusal.values()) == rec.refusal
    assert bool(rec.refusal) == expected.refusal
    assert "".join(s.reasoning.values()) == rec.reasoning
    assert bool(s.reasoning) == expected.reasoning
    assert s.finish == [expected.finish]
    in_, out, cached, reasoning_tokens = expected.usage or (0, 0, 0, 0)
    assert s.usage == [Usage(in_, out, cached, reasoning_tokens)]


@pytest.mark.parametrize("transcript_id", [i for i, e in EXPECTED.items() if e.calls])
def test_tool_calls_match_the_recording(transcript_id: str) -> None:
    t = load(transcript_id)
    s = summarize(translate(t))
    expected = EXPECTED[transcript_id].calls
    assert list(s.calls) == [f"call{i}" for i in range(len(expected))]
    for (call_id, name, args), (want_id, want_name, want_args), (rec_id, _, rec_args) in zip(
        s.calls.values(), expected, recorded(t).calls, strict=True
    ):
        assert (name, json.loads(args)) == (want_name, want_args)
        assert json.loads(args) == json.loads(rec_args)
        if want_id is None:
            assert rec_id == ""
            assert MINTED.match(call_id)
        else:
            assert call_id == want_id == rec_id


@pytest.mark.parametrize("transcript_id", sorted(EXPECTED))
def test_usage_comes_once_right_before_the_single_finish(transcript_id: str) -> None:
    events = translate(load(transcript_id))
    assert isinstance(events[-1], Finish)
    assert [type(e) for e in events].count(Finish) == 1
    assert [type(e) for e in events].count(Usage) == 1
    assert isinstance(events[-2], Usage)


@pytest.mark.parametrize("transcript_id", [i for i in sorted(EXPECTED) if load(i).stream])
def test_stream_events_do_not_depend_on_chunking(transcript_id: str) -> None:
    t = load(transcript_id)
    whole = translate(t, chunk_size=len(t.body))
    assert translate(t, chunk_size=1) == whole
    assert translate(t, chunk_size=64) == whole


def test_nonstream_order_is_reasoning_text_calls_usage_finish() -> None:
    body = {
        "choices": [
            {
                "finish_reason": "tool_calls",
                "message": {
                    "reasoning_content": "think",
                    "content": "hi",
                    "tool_calls": [{"id": "c1", "function": {"name": "f", "arguments": "{}"}}],
                },
            }
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 2},
    }
    assert ChatProtocol().translate_response(body) == [
        ReasoningDelta("reasoning", "think"),
        TextDelta("message", "hi"),
        ToolCallStart("call0", "c1", "f"),
        ToolCallDelta("call0", "{}"),
        Usage(1, 2),
        Finish("tool_calls"),
    ]


def test_nonstream_refusal_is_a_refusal_delta_on_the_message() -> None:
    events = translate(load("A09"))
    assert events[0] == RefusalDelta(
        "message", "I'm very sorry, but I can't assist with that request."
    )


def test_gemini_calls_without_id_get_distinct_minted_ids() -> None:
    body = load("D05").json()
    first = summarize(ChatProtocol().translate_response(body)).calls["call0"][0]
    second = summarize(ChatProtocol().translate_response(body)).calls["call0"][0]
    assert MINTED.match(first)
    assert first != second
