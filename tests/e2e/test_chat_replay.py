"""The recorded Chat Completions exchanges (transcripts A*, D*) replayed through passthrough: a
fake upstream answers each recorded body byte for byte, and what the client gets must be the
same chunks (or body) apart from our id and the client's model name, and valid against OpenAI's
spec."""

from __future__ import annotations

import orjson

from openresponses.chat.passthrough import conform
from openresponses.providers.sse import SSEDecoder
from tests.e2e.chat_client import post_chat, stream_chat
from tests.fakes.upstream import FakeUpstream, RawReply
from tests.spec import check
from tests.transcripts import Transcript, load, transcript_ids

CHAT = transcript_ids("A") + transcript_ids("D")
STREAMS = [t for t in CHAT if load(t).stream]
BODIES = [t for t in CHAT if not load(t).stream]


def recorded_chunks(transcript: Transcript) -> list[object]:
    decoder = SSEDecoder()
    events = decoder.feed(transcript.body) + decoder.close()
    return [orjson.loads(e.data) for e in events if e.data.strip() != "[DONE]"]


def model_of(transcript: Transcript) -> str:
    return f"groq@{transcript.request_json().get('model', 'm')}"


def test_every_chat_transcript_is_replayed() -> None:
    assert len(STREAMS) >= 8
    assert len(BODIES) >= 8


async def test_relayed_streams_are_the_recorded_ones_but_id_and_model(
    gateway_url: str, upstream: FakeUpstream
) -> None:
    """All recordings through one gateway (a gateway per recording would cost seconds)."""
    for name in STREAMS:
        transcript = load(name)
        upstream.queue(RawReply(transcript.body, "text/event-stream"))
        model = model_of(transcript)
        chunks, done = await stream_chat(gateway_url, {  # as recorded: usage asked for
            "model": model, "messages": [{"role": "user", "content": "replay"}],
            "stream": True, "stream_options": {"include_usage": True}})
        assert done, name
        ours = chunks[0]["id"]
        assert ours.startswith("chatcmpl-"), name
        expected = [{**c, "id": ours, "model": model} for c in recorded_chunks(transcript)
                    if isinstance(c, dict)]
        assert chunks == expected, name
        for chunk in chunks:
            check("openai", "CreateChatCompletionStreamResponse", chunk)


async def test_relayed_bodies_are_the_recorded_ones_but_id_and_model(
    gateway_url: str, upstream: FakeUpstream
) -> None:
    for name in BODIES:
        transcript = load(name)
        upstream.queue(RawReply(transcript.body))
        model = model_of(transcript)
        status, body = await post_chat(gateway_url, {
            "model": model, "messages": [{"role": "user", "content": "replay"}]})
        assert status == 200, (name, body)
        assert body["id"].startswith("chatcmpl-"), name
        assert body["id"] != transcript.json()["id"], name
        assert body == conform({**transcript.json(), "id": body["id"], "model": model}), name
        check("openai", "CreateChatCompletionResponse", body)
        recorded = transcript.json()["choices"][0]["message"]
        message = body["choices"][0]["message"]
        assert message["content"] == recorded.get("content"), name
        assert message.get("tool_calls") == recorded.get("tool_calls"), name
