"""Anthropic through the gateway with the official OpenAI SDK: text, stream, tools, thinking
round trip, images, truncation, and a chain that crosses three providers."""

from __future__ import annotations

import json
from typing import Any

import openai
import trio

from tests.e2e.sse_client import stream_events
from tests.fakes.script import Script, ToolCall
from tests.fakes.upstream import FakeUpstream
from tests.spec import check_response, check_stream

TOOLS: Any = [{"type": "function", "name": "lookup", "description": "Look a thing up",
               "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}}]


async def in_thread(fn: Any, *args: Any, **kwargs: Any) -> Any:
    return await trio.to_thread.run_sync(lambda: fn(*args, **kwargs))


async def test_text_answer_and_request_shape(client: openai.OpenAI, upstream: FakeUpstream) -> None:
    upstream.queue(Script(text="Bonjour!", input_tokens=9, output_tokens=2))
    response = await in_thread(client.responses.create, model="claude@claude-sonnet-4-5",
                               input="Say hello in French", instructions="Be terse.")
    assert response.output_text == "Bonjour!"
    assert response.model == "claude@claude-sonnet-4-5"
    assert response.usage is not None
    assert response.usage.input_tokens == 9
    sent = upstream.last()
    assert sent.path == "/v1/messages"
    assert sent.headers["x-api-key"] == client.api_key
    assert "anthropic-version" in sent.headers
    assert sent.body["model"] == "claude-sonnet-4-5"
    assert sent.body["system"] in ("Be terse.", [{"type": "text", "text": "Be terse."}])
    assert sent.body["max_tokens"] > 0


async def test_anthropic_alias_prefix_works(client: openai.OpenAI) -> None:
    response = await in_thread(client.responses.create, model="anthropic@claude-haiku-4-5",
                               input="hi")
    assert response.status == "completed"


async def test_stream_is_valid(gateway_url: str, upstream: FakeUpstream) -> None:
    upstream.queue(Script(text="streaming from claude", chunks=4))
    events = await stream_events(gateway_url, {"model": "claude@c", "input": "go"})
    check_stream(events)
    deltas = "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")
    assert deltas == "streaming from claude"
    check_response(events[-1]["response"])


async def test_tool_round_trip_groups_tool_use_and_tool_result(
    client: openai.OpenAI, upstream: FakeUpstream
) -> None:
    calls = (ToolCall("toolu_1", "lookup", '{"q": "a"}'),
             ToolCall("toolu_2", "lookup", '{"q": "b"}'))
    upstream.queue(Script(text="", tool_calls=calls), Script(text="Both found."))
    first = await in_thread(client.responses.create, model="claude@c", input="find a and b",
                            tools=TOOLS)
    assert [(o.call_id, json.loads(o.arguments)) for o in first.output] == [
        ("toolu_1", {"q": "a"}), ("toolu_2", {"q": "b"})]
    outputs = [{"type": "function_call_output", "call_id": o.call_id, "output": f"found {i}"}
               for i, o in enumerate(first.output)]
    second = await in_thread(client.responses.create, model="claude@c", tools=TOOLS,
                             previous_response_id=first.id, input=outputs)
    assert second.output_text == "Both found."
    messages = upstream.last().body["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert [b["type"] for b in messages[1]["content"]] == ["tool_use", "tool_use"]
    assert [b["tool_use_id"] for b in messages[2]["content"]] == ["toolu_1", "toolu_2"]


async def test_thinking_signature_comes_back_byte_identical(
    client: openai.OpenAI, upstream: FakeUpstream
) -> None:
    signature = "EqQBCkYIBxgCKkD+/=weird==sig"
    upstream.queue(
        Script(text="", reasoning="I should look it up.", signature=signature,
               tool_calls=(ToolCall("toolu_9", "lookup", '{"q": "x"}'),)),
        Script(text="Done."),
    )
    first = await in_thread(client.responses.create, model="claude@c", input="x", tools=TOOLS,
                            reasoning={"effort": "low"})
    kinds = [o.type for o in first.output]
    assert kinds == ["reasoning", "function_call"]
    await in_thread(client.responses.create, model="claude@c", tools=TOOLS,
                    reasoning={"effort": "low"}, previous_response_id=first.id,
                    input=[{"type": "function_call_output", "call_id": "toolu_9", "output": "y"}])
    assistant = upstream.last().body["messages"][1]["content"]
    assert assistant[0] == {"type": "thinking", "thinking": "I should look it up.",
                            "signature": signature}
    assert assistant[1]["type"] == "tool_use"


async def test_image_input_becomes_an_image_block(
    client: openai.OpenAI, upstream: FakeUpstream
) -> None:
    image = "data:image/png;base64,iVBORw0KGgo="
    await in_thread(client.responses.create, model="claude@c", input=[{
        "role": "user", "content": [{"type": "input_text", "text": "what is this?"},
                                    {"type": "input_image", "image_url": image}]}])
    blocks = upstream.last().body["messages"][0]["content"]
    assert blocks[1] == {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                                      "data": "iVBORw0KGgo="}}


async def test_max_tokens_truncation_is_incomplete(
    client: openai.OpenAI, upstream: FakeUpstream
) -> None:
    upstream.queue(Script(text="This answer is cut", finish="length"))
    response = await in_thread(client.responses.create, model="claude@c", input="x",
                               max_output_tokens=5)
    assert response.status == "incomplete"
    assert response.incomplete_details is not None
    assert response.incomplete_details.reason == "max_output_tokens"
    assert upstream.last().body["max_tokens"] == 5


async def test_chain_across_three_providers(client: openai.OpenAI, upstream: FakeUpstream) -> None:
    upstream.queue(
        Script(text="OpenAI says one.", reasoning="openai thoughts"),
        Script(text="Claude says two.", reasoning="claude thoughts", signature="sigC"),
        Script(text="Groq says three."),
    )
    first = await in_thread(client.responses.create, model="openai@gpt-5", input="one?",
                            reasoning={"effort": "low"})
    second = await in_thread(client.responses.create, model="claude@c", input="two?",
                             previous_response_id=first.id)
    anthropic_body = upstream.last().body
    text = json.dumps(anthropic_body)
    assert "OpenAI says one." in text
    assert "gAAAA" not in text  # OpenAI's encrypted reasoning never reaches Anthropic
    third = await in_thread(client.responses.create, model="groq@llama", input="three?",
                            previous_response_id=second.id)
    messages = upstream.last().body["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant", "user"]
    assert [messages[1]["content"], messages[3]["content"]] == ["OpenAI says one.",
                                                                "Claude says two."]
    assert "sigC" not in json.dumps(messages)
    assert third.output_text == "Groq says three."
    back_to_openai = await in_thread(client.responses.create, model="openai@gpt-5",
                                     input="four?", previous_response_id=third.id)
    sent = upstream.last().body["input"]
    assert not any(str(i.get("encrypted_content", "")).startswith("anthropic:") for i in sent)
    assert all("id" not in i for i in sent)
    assert back_to_openai.status == "completed"


async def test_pause_turn_is_continued_by_the_gateway(
    client: openai.OpenAI, upstream: FakeUpstream
) -> None:
    upstream.queue(Script(text="Part one. ", finish="pause"), Script(text="Part two."))
    response = await in_thread(client.responses.create, model="claude@c", input="long task")
    assert response.status == "completed"
    assert response.output_text == "Part one. Part two."
    assert len(upstream.received) == 2
    continued = upstream.last().body["messages"]
    assert [m["role"] for m in continued] == ["user", "assistant"]
