"""``/v1/chat/completions`` with the official OpenAI SDK on every kind of provider: the Responses
API (``openai@…``, translated), OpenAI-compatible (``groq@…``, passthrough) and Anthropic
(``claude@…``, translated); stream and non-stream, tool calls, usage, every body and chunk
checked against OpenAI's spec."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest
import trio

from tests.e2e.chat_client import post_chat, stream_chat
from tests.fakes.script import Script, ToolCall
from tests.fakes.upstream import FakeUpstream
from tests.spec import check

TOOLS: Any = [{"type": "function", "function": {
    "name": "get_weather", "description": "Weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                   "required": ["city"]}}}]
MODELS = ["openai@gpt-4o", "groq@llama-3.3-70b-versatile", "claude@claude-sonnet-4-5"]


async def in_thread(fn: Any, *args: Any, **kwargs: Any) -> Any:
    return await trio.to_thread.run_sync(lambda: fn(*args, **kwargs))


async def test_documentation_example_verbatim(client: openai.OpenAI,
                                              upstream: FakeUpstream) -> None:
    upstream.queue(Script(text="Hello! How can I help?"))
    completion = await in_thread(
        lambda: client.chat.completions.create(
            model="openai@gpt-4o", messages=[{"role": "user", "content": "Hello"}]
        )
    )
    assert completion.choices[0].message.content == "Hello! How can I help?"
    assert completion.model == "openai@gpt-4o"
    assert completion.id.startswith("chatcmpl-")
    sent = upstream.last()
    assert sent.path == "/v1/responses"  # openai speaks the Responses API upstream
    assert sent.body["model"] == "gpt-4o"
    assert sent.body["input"][0]["role"] == "user"


@pytest.mark.parametrize("model", MODELS)
async def test_non_stream_body_is_valid_with_usage(
    gateway_url: str, upstream: FakeUpstream, model: str
) -> None:
    upstream.queue(Script(text="Four.", input_tokens=12, output_tokens=3))
    status, body = await post_chat(gateway_url, {
        "model": model, "messages": [{"role": "system", "content": "Be brief."},
                                     {"role": "user", "content": "2+2?"}]})
    assert status == 200, body
    check("openai", "CreateChatCompletionResponse", body)
    assert body["model"] == model
    assert body["id"].startswith("chatcmpl-")
    assert "fake" not in body["id"]
    choice = body["choices"][0]
    assert (choice["message"]["content"], choice["finish_reason"]) == ("Four.", "stop")
    assert body["usage"]["prompt_tokens"] == 12
    assert body["usage"]["completion_tokens"] == 3
    assert body["usage"]["total_tokens"] == 15


@pytest.mark.parametrize("model", MODELS)
async def test_stream_chunks_are_valid_and_end_with_usage_and_done(
    gateway_url: str, upstream: FakeUpstream, model: str
) -> None:
    upstream.queue(Script(text="one two three four", chunks=4, input_tokens=5,
                          output_tokens=4))
    chunks, done = await stream_chat(gateway_url, {
        "model": model, "messages": [{"role": "user", "content": "count"}], "stream": True,
        "stream_options": {"include_usage": True}})
    assert done
    for chunk in chunks:
        check("openai", "CreateChatCompletionStreamResponse", chunk)
    assert len({c["id"] for c in chunks}) == 1
    assert chunks[0]["id"].startswith("chatcmpl-")
    assert "fake" not in chunks[0]["id"]
    assert {c["model"] for c in chunks} == {model}
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks
                   if c["choices"])
    assert text == "one two three four"
    finishes = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]]
    assert finishes[-1] == "stop"
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["total_tokens"] == 9


@pytest.mark.parametrize("model", MODELS)
async def test_sdk_stream_accumulates(client: openai.OpenAI, upstream: FakeUpstream,
                                      model: str) -> None:
    upstream.queue(Script(text="streamed via the SDK", chunks=5))

    def consume() -> list[Any]:
        stream = client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": "go"}], stream=True)
        return list(stream)

    chunks = await in_thread(consume)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "streamed via the SDK"
    if not model.startswith("groq"):  # (the fake groq sends usage whatever it is asked)
        assert all(c.choices and c.usage is None for c in chunks)  # no include_usage


@pytest.mark.parametrize("model", MODELS)
async def test_tool_call_round_trip(client: openai.OpenAI, upstream: FakeUpstream,
                                    model: str) -> None:
    call_id = "toolu_01" if model.startswith("claude") else "call_01"
    upstream.queue(Script(text="", tool_calls=(ToolCall(call_id, "get_weather",
                                                        '{"city": "Paris"}'),)),
                   Script(text="Sunny in Paris."))
    messages: list[Any] = [{"role": "user", "content": "Weather in Paris?"}]
    first = await in_thread(client.chat.completions.create, model=model, messages=messages,
                            tools=TOOLS)
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    (call,) = choice.message.tool_calls
    assert (call.id, call.function.name) == (call_id, "get_weather")
    assert json.loads(call.function.arguments) == {"city": "Paris"}
    messages += [choice.message.model_dump(exclude_none=True),
                 {"role": "tool", "tool_call_id": call.id, "content": "sunny, 24C"}]
    second = await in_thread(client.chat.completions.create, model=model, messages=messages,
                             tools=TOOLS)
    assert second.choices[0].message.content == "Sunny in Paris."
    sent = json.dumps(upstream.last().body)
    assert call_id in sent
    assert "sunny, 24C" in sent


@pytest.mark.parametrize("model", MODELS)
async def test_streamed_tool_call_deltas(gateway_url: str, upstream: FakeUpstream,
                                         model: str) -> None:
    upstream.queue(Script(text="", tool_calls=(
        ToolCall("call_a", "get_weather", '{"city": "Oslo"}'),
        ToolCall("call_b", "get_weather", '{"city": "Rome"}'))))
    chunks, done = await stream_chat(gateway_url, {
        "model": model, "messages": [{"role": "user", "content": "both"}], "tools": TOOLS,
        "stream": True})
    assert done
    calls: dict[int, dict[str, str]] = {}
    with_choices = [c for c in chunks if c["choices"]]  # the fake sends usage regardless
    for chunk in with_choices:
        check("openai", "CreateChatCompletionStreamResponse", chunk)
        for delta in chunk["choices"][0]["delta"].get("tool_calls") or []:
            call = calls.setdefault(delta["index"], {"id": "", "name": "", "args": ""})
            call["id"] = delta.get("id") or call["id"]
            call["name"] = delta.get("function", {}).get("name") or call["name"]
            call["args"] += delta.get("function", {}).get("arguments") or ""
    assert [(c["id"], c["name"], json.loads(c["args"])) for c in calls.values()] == [
        ("call_a", "get_weather", {"city": "Oslo"}), ("call_b", "get_weather", {"city": "Rome"})]
    assert with_choices[-1]["choices"][0]["finish_reason"] == "tool_calls"


@pytest.mark.parametrize("model", ["openai@gpt-4o", "claude@claude-sonnet-4-5"])
async def test_finish_length_and_json_schema_translate(
    gateway_url: str, upstream: FakeUpstream, model: str
) -> None:
    upstream.queue(Script(text='{"answer": 4', finish="length"))
    status, body = await post_chat(gateway_url, {
        "model": model, "messages": [{"role": "user", "content": "json"}], "max_tokens": 5,
        "response_format": {"type": "json_schema", "json_schema": {
            "name": "answer", "schema": {"type": "object",
                                         "properties": {"answer": {"type": "integer"}}}}}})
    assert status == 200, body
    assert body["choices"][0]["finish_reason"] == "length"
    sent = upstream.last().body
    if model.startswith("openai"):
        assert sent["text"]["format"]["name"] == "answer"
        assert sent["max_output_tokens"] == 5
    else:
        assert sent["max_tokens"] == 5
        assert sent["tool_choice"]["type"] == "tool"  # structured output as a forced tool


async def test_passthrough_sends_the_request_as_is(gateway_url: str,
                                                   upstream: FakeUpstream) -> None:
    request = {"model": "groq@llama-3.3-70b-versatile", "n": 2, "seed": 7, "logprobs": True,
               "stop": ["END"], "messages": [{"role": "user", "content": "hi", "name": "bo"}],
               "store": False, "metadata": {"k": "v"}, "x_vendor_flag": True}
    status, _ = await post_chat(gateway_url, request)
    assert status == 200
    sent = upstream.last()
    assert sent.path == "/openai/v1/chat/completions"
    expected = {k: val for k, val in request.items() if k not in ("store", "metadata")}
    assert sent.body == {**expected, "model": "llama-3.3-70b-versatile"}
    assert sent.headers["authorization"].startswith("Bearer ")


async def test_anthropic_stop_becomes_stop_sequences(gateway_url: str,
                                                     upstream: FakeUpstream) -> None:
    status, _ = await post_chat(gateway_url, {
        "model": "claude@c", "messages": [{"role": "user", "content": "hi"}], "stop": "END"})
    assert status == 200
    assert upstream.last().body["stop_sequences"] == ["END"]


async def test_image_parts_reach_anthropic(gateway_url: str, upstream: FakeUpstream) -> None:
    status, _ = await post_chat(gateway_url, {"model": "claude@c", "messages": [
        {"role": "user", "content": [
            {"type": "text", "text": "What is this?"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}]}]})
    assert status == 200
    blocks = upstream.last().body["messages"][0]["content"]
    assert [b["type"] for b in blocks] == ["text", "image"]
    assert blocks[1]["source"]["media_type"] == "image/png"
