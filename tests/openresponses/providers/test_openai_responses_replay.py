"""Every recorded OpenAI Responses answer (B01-B14) replayed through ResponsesProtocol.

The reference is the recording's own final Response object (the non-stream body, or the
``response.completed`` / ``response.incomplete`` event): what the events add up to must equal
its ``output``; a hand-written table pins finish reasons and usage.
"""

from __future__ import annotations

import json
from typing import Any

import attrs
import pytest

from openresponses.errors import UpstreamError, UpstreamUnavailable
from openresponses.providers.base import WireProtocol
from openresponses.providers.openai_responses import ResponsesProtocol, ResponsesStreamTranslator
from openresponses.schema.model_events import (
    Finish,
    ItemDone,
    ModelEvent,
    ReasoningDelta,
    ReasoningEncrypted,
    RefusalDelta,
    TextDelta,
    ToolCallStart,
    Usage,
)
from tests.transcripts import Summary, Transcript, load, replay, summarize, transcript_ids

_PROTOCOL: WireProtocol = ResponsesProtocol()  # checks the Protocol conformance statically


@attrs.frozen
class Expected:
    finish: str
    usage: tuple[int, int, int, int]  # input, output, cached, reasoning
    text_start: str = ""
    opaque: tuple[str, ...] = ()


EXPECTED = {
    "B01": Expected("stop", (11, 5, 0, 0), "pong"),
    "B02": Expected("stop", (11, 5, 0, 0), "pong"),
    "B03": Expected("tool_calls", (58, 23, 0, 0)),
    "B04": Expected("stop", (94, 17, 0, 0), "1231 * 2331 = 2,869,461"),
    "B05": Expected("tool_calls", (58, 23, 0, 0)),
    "B06": Expected("stop", (94, 18, 0, 0), "1231 \u00d7 2331 = **2,869,461**"),
    "B07": Expected("tool_calls", (171, 118, 0, 98)),
    "B08": Expected("tool_calls", (36, 54, 0, 0)),
    "B09": Expected("length", (14, 50, 0, 0), "Sure! Here is a list of all 50 U.S. states"),
    "B10": Expected("length", (14, 50, 0, 0), "Sure! Here is a list of all 50 U.S. states"),
    "B11": Expected("stop", (13, 1680, 0, 1408), "I'm not a road safety professional"),
    "B12": Expected("stop", (9463, 582, 8320, 512), "San Francisco weather", ("web_search_call",)),
    "B13": Expected(
        "stop", (9463, 660, 8320, 512), "Here\u2019s the weather", ("web_search_call",)
    ),
    "B14": Expected("tool_calls", (53, 469, 0, 448)),
}


def final_output(t: Transcript) -> list[dict[str, Any]]:
    """The recording's finished output items.

    For a stream these are the ``response.output_item.done`` items (OpenAI re-encrypts
    ``encrypted_content`` each time it serializes an item, so the terminal event's copy differs
    byte-wise); their ids must match the terminal Response's ``output``.
    """
    if not t.stream:
        return list(t.json()["output"])
    done: list[dict[str, Any]] = []
    final: list[dict[str, Any]] = []
    for block in t.body.decode().split("\n\n"):
        data = [line[5:].strip() for line in block.split("\n") if line.startswith("data:")]
        if data:
            event = json.loads(data[0])
            if event["type"] == "response.output_item.done":
                done.append(event["item"])
            elif event["type"] in ("response.completed", "response.incomplete"):
                final = event["response"]["output"]
    assert [i["id"] for i in done] == [i["id"] for i in final]
    return done


def reference(output: list[dict[str, Any]]) -> Summary:
    """What the events should add up to, read from the final ``output`` items."""
    s = Summary()
    for item in output:
        kind, key = item["type"], item["id"]
        if kind == "message":
            s.text[key] = "".join(p["text"] for p in item["content"] if p["type"] == "output_text")
        elif kind == "function_call":
            s.calls[key] = (item["call_id"], item["name"], item["arguments"])
        elif kind == "reasoning":
            if item.get("summary"):
                s.summaries[key] = [p["text"] for p in item["summary"]]
            s.encrypted[key] = item["encrypted_content"]
        else:
            s.opaque.append(item)
            continue
        s.done.append(key)
    return s


def translate(t: Transcript, chunk_size: int = 7) -> list[ModelEvent]:
    protocol = ResponsesProtocol()
    if t.stream:
        return replay(protocol.stream_translator(), t.body, chunk_size)
    return protocol.translate_response(t.json())


@pytest.mark.parametrize("transcript_id", transcript_ids("B"))
def test_replay_adds_up_to_the_recorded_output(transcript_id: str) -> None:
    t = load(transcript_id[:3])
    s, ref = summarize(translate(t)), reference(final_output(t))
    assert {k: v for k, v in s.text.items() if v} == {k: v for k, v in ref.text.items() if v}
    assert s.calls == ref.calls
    assert s.summaries == ref.summaries
    assert s.encrypted == ref.encrypted
    assert s.done == ref.done
    assert [o["type"] for o in s.opaque] == [o["type"] for o in ref.opaque]
    for got, want in zip(s.opaque, ref.opaque, strict=True):
        assert got["id"] == want["id"]
        assert got.get("action", {}).get("query") == want.get("action", {}).get("query")


@pytest.mark.parametrize("transcript_id", sorted(EXPECTED))
def test_finish_usage_and_text_match_the_table(transcript_id: str) -> None:
    expected = EXPECTED[transcript_id]
    s = summarize(translate(load(transcript_id)))
    assert s.finish == [expected.finish]
    assert s.usage == [Usage(*expected.usage)]
    assert s.all_text.startswith(expected.text_start)
    assert tuple(o["type"] for o in s.opaque) == expected.opaque
    for call_id, name, args in s.calls.values():
        assert call_id.startswith("call_")
        assert name
        assert isinstance(json.loads(args), dict)


@pytest.mark.parametrize("transcript_id", sorted(EXPECTED))
def test_every_item_opens_before_it_is_done_and_finish_is_last(transcript_id: str) -> None:
    events = translate(load(transcript_id))
    opened: set[str] = set()
    for event in events:
        if isinstance(event, ItemDone):
            assert event.key in opened
        elif hasattr(event, "key"):
            opened.add(event.key)
    assert isinstance(events[-1], Finish)
    assert isinstance(events[-2], Usage)
    assert [type(e) for e in events].count(Finish) == 1


@pytest.mark.parametrize("transcript_id", [i for i in sorted(EXPECTED) if load(i).stream])
def test_stream_events_do_not_depend_on_chunking(transcript_id: str) -> None:
    t = load(transcript_id)
    assert translate(t, chunk_size=1) == translate(t, chunk_size=len(t.body))


def test_reasoning_encrypted_content_comes_from_the_done_item_not_the_added_one() -> None:
    events = translate(load("B14"))
    blobs = [e for e in events if isinstance(e, ReasoningEncrypted)]
    assert [b.encrypted_content[:20] for b in blobs] == ["gAAAAABoyXvxI6jwG5j6"]
    assert blobs[0].provider == "responses"


def test_parallel_calls_are_keyed_by_upstream_item_id() -> None:
    starts = [e for e in translate(load("B08")) if isinstance(e, ToolCallStart)]
    assert [(s.call_id, s.name) for s in starts] == [
        ("call_sKC7OABqf2A2PTLCm0CLeRWV", "secret_retrieval_tool"),
        ("call_OdR3s3xop0vtgkDyWRMLafuH", "secret_retrieval_tool"),
    ]
    assert all(s.key.startswith("fc_") for s in starts)


def test_reasoning_summary_streams_by_part_index() -> None:
    s = summarize(translate(load("B11")))
    (parts,) = s.summaries.values()
    assert len(parts) == 4
    assert parts[0].startswith("**Providing street crossing instructions**")


def test_refusal_and_reasoning_text_parts_in_a_nonstream_body() -> None:
    body = {
        "status": "completed",
        "output": [
            {
                "type": "reasoning",
                "id": "rs_1",
                "summary": [],
                "content": [{"type": "reasoning_text", "text": "hmm"}],
            },
            {"type": "message", "id": "msg_1", "content": [{"type": "refusal", "refusal": "No."}]},
        ],
    }
    assert ResponsesProtocol().translate_response(body) == [
        ReasoningDelta("rs_1", "hmm"),
        ItemDone("rs_1"),
        RefusalDelta("msg_1", "No."),
        ItemDone("msg_1"),
        Finish("stop"),
    ]


def test_content_filter_incomplete_is_content_filter() -> None:
    body = {
        "status": "incomplete",
        "incomplete_details": {"reason": "content_filter"},
        "output": [],
    }
    assert ResponsesProtocol().translate_response(body) == [Finish("content_filter")]


def test_a_failed_response_body_raises() -> None:
    body = {"status": "failed", "error": {"code": "server_error", "message": "boom"}, "output": []}
    with pytest.raises(UpstreamError) as info:
        ResponsesProtocol().translate_response(body)
    assert (info.value.status, info.value.message) == (502, "boom")


def feed_all(translator: ResponsesStreamTranslator, *events: dict[str, Any]) -> list[ModelEvent]:
    out: list[ModelEvent] = []
    for event in events:
        out += translator.feed(event["type"], json.dumps(event))
    return out


@pytest.mark.parametrize(
    ("event", "status"),
    [
        (
            {"type": "error", "code": "rate_limit_exceeded", "message": "slow down", "param": None},
            429,
        ),
        ({"type": "error", "error": {"type": "server_error", "message": "slow down"}}, 502),
        (
            {
                "type": "response.failed",
                "response": {
                    "status": "failed",
                    "error": {"code": "server_error", "message": "slow down"},
                },
            },
            502,
        ),
    ],
)
def test_stream_error_events_raise_the_mapped_error(event: dict[str, Any], status: int) -> None:
    translator = ResponsesStreamTranslator()
    with pytest.raises(UpstreamError) as info:
        feed_all(translator, {"type": "response.created", "response": {}}, event)
    assert (info.value.status, info.value.message) == (status, "slow down")


def test_stream_without_a_terminal_event_raises_on_close() -> None:
    body = load("B02").body
    cut = body.index(b"event: response.completed")
    with pytest.raises(UpstreamUnavailable):
        replay(ResponsesStreamTranslator(), body[:cut])


def test_item_done_without_deltas_translates_the_whole_item() -> None:
    item = {"type": "message", "id": "msg_9", "content": [{"type": "output_text", "text": "late"}]}
    events = feed_all(
        ResponsesStreamTranslator(),
        {"type": "response.output_item.added", "item": {**item, "content": []}},
        {"type": "response.output_item.done", "item": item},
    )
    assert events == [TextDelta("msg_9", "late"), ItemDone("msg_9")]
