"""Every recorded 200 exchange (A to D) through its protocol's translation and the chat chunk
builder: every chunk and the completion are valid against OpenAI's spec and carry the
recording's text, tool calls, finish reason and usage. Relayed chat streams (A, D) folded by the
accumulator give the same message as the builder does from the same recording."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest

from openresponses.chat.accumulate import ChunkAccumulator
from openresponses.chat.chunks import ChunkBuilder
from openresponses.chat.passthrough import ChunkRelay
from openresponses.providers.registry import protocol_for
from openresponses.providers.sse import SSEDecoder
from openresponses.schema.model_events import ModelEvent
from tests.spec import check
from tests.transcripts import Transcript, load, replay, summarize, transcript_ids

_API = {"A": "chat", "B": "responses", "C": "anthropic", "D": "chat"}
SUCCESSES = [t for c in "ABCD" for t in transcript_ids(c) if load(t).status == 200]
CHAT_STREAMS = [t for c in "AD" for t in transcript_ids(c) if load(t).stream]


def events_of(t: Transcript) -> list[ModelEvent]:
    protocol = protocol_for(_API[t.category])
    if t.stream:
        return replay(protocol.stream_translator(), t.body, chunk_size=97)
    return protocol.translate_response(t.json())


def build(events: list[ModelEvent]) -> tuple[list[dict[str, Any]], ChunkBuilder]:
    builder = ChunkBuilder(id="chatcmpl-1", model="p@m", created=1, include_usage=True)
    chunks = builder.start()
    for event in events:
        chunks += builder.feed(event)
    return chunks + builder.finish(), builder


@pytest.mark.parametrize("transcript_id", SUCCESSES)
def test_recording_gives_valid_chunks_and_completion(transcript_id: str) -> None:
    events = events_of(load(transcript_id))
    chunks, builder = build(events)
    for chunk in chunks:
        check("openai", "CreateChatCompletionStreamResponse", chunk)
    completion = builder.completion()
    check("openai", "CreateChatCompletionResponse", completion)
    summary = summarize(events)
    message = completion["choices"][0]["message"]
    assert (message["content"] or "") == summary.all_text
    assert (message["refusal"] or "") == "".join(summary.refusal.values())
    calls = [(c["id"], c["function"]["name"], c["function"]["arguments"])
             for c in message.get("tool_calls", [])]
    assert calls == list(summary.calls.values())
    reason = completion["choices"][0]["finish_reason"]
    assert reason == ("tool_calls" if calls and summary.finish == ["stop"] else summary.finish[0])
    if summary.usage:
        assert completion["usage"]["prompt_tokens"] == summary.usage[-1].input_tokens
        assert chunks[-1]["usage"] == completion["usage"]


@pytest.mark.parametrize("transcript_id", SUCCESSES)
def test_streamed_deltas_add_up_to_the_completion(transcript_id: str) -> None:
    chunks, builder = build(events_of(load(transcript_id)))
    folded = ChunkAccumulator()
    for chunk in chunks:
        folded.add(chunk)
    expected = builder.completion()["choices"]
    for choice in expected:  # citations are given on the final message only
        choice["message"]["annotations"] = []
    assert folded.completion()["choices"] == expected


@pytest.mark.parametrize("transcript_id", CHAT_STREAMS)
def test_relayed_stream_folds_into_the_recorded_answer(transcript_id: str) -> None:
    t = load(transcript_id)
    relay = ChunkRelay("chatcmpl-ours", "groq@m")
    folded = ChunkAccumulator()
    decoder = SSEDecoder()
    for sse in decoder.feed(t.body) + decoder.close():
        if (chunk := relay.feed(sse.event, sse.data)) is not None:
            assert (chunk["id"], chunk["model"]) == ("chatcmpl-ours", "groq@m")
            folded.add(chunk)
    relay.close()
    completion = folded.completion()
    check("openai", "CreateChatCompletionResponse", completion)
    _, builder = build(events_of(t))
    expected = builder.completion()["choices"][0]["message"]
    message = completion["choices"][0]["message"]
    assert message["content"] == expected["content"]
    assert [json.loads(c["function"]["arguments"]) for c in message.get("tool_calls", [])] == [
        json.loads(c["function"]["arguments"]) for c in expected.get("tool_calls", [])]


def test_relay_rejects_a_stream_cut_before_it_finished() -> None:
    lines = load("A06").body.split(b"\n\n")[:3]
    relay = ChunkRelay("chatcmpl-x", "m")
    decoder = SSEDecoder()
    for sse in decoder.feed(b"\n\n".join(lines) + b"\n\n"):
        relay.feed(sse.event, sse.data)
    with pytest.raises(Exception, match="ended before completion"):
        relay.close()


def test_relay_maps_an_inband_error_event() -> None:
    relay = ChunkRelay("chatcmpl-x", "m")
    data = orjson.dumps({"error": {"message": "slow down", "code": "rate_limit_exceeded"}})
    with pytest.raises(Exception, match="slow down") as raised:
        relay.feed("error", data.decode())
    assert getattr(raised.value, "status", None) == 429


def test_accumulator_keeps_every_choice_and_groq_usage() -> None:
    def chunk(index: int, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {"id": "chatcmpl-x", "object": "chat.completion.chunk", "created": 5,
                "model": "groq@m", "choices": [
                    {"index": index, "delta": delta, "finish_reason": finish}]}

    folded = ChunkAccumulator()
    for one in [chunk(0, {"role": "assistant", "content": "A"}), chunk(1, {"content": "B"}),
                chunk(1, {"tool_calls": [{"index": 0, "id": "c1", "type": "function",
                                          "function": {"name": "f", "arguments": '{"a"'}}]}),
                chunk(0, {"content": "a"}, "stop"),
                chunk(1, {"tool_calls": [{"index": 0, "function": {"arguments": ": 1}"}}]},
                      "tool_calls"),
                {**chunk(0, {}), "choices": [], "x_groq": {"usage": {
                    "prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}}}]:
        folded.add(one)
    assert folded.finished
    completion = folded.completion()
    check("openai", "CreateChatCompletionResponse", completion)
    first, second = completion["choices"]
    assert (first["message"]["content"], first["finish_reason"]) == ("Aa", "stop")
    assert second["message"]["tool_calls"] == [
        {"id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"a": 1}'}}]
    assert completion["usage"]["total_tokens"] == 7
