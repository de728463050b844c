"""Compaction (``/v1/responses/compact`` and ``context_management``) and token counting
(``/v1/responses/input_tokens``) through the OpenAI SDK, validated against both specs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx2
import openai
import pytest
import trio

from openresponses.gateway.compaction_items import SUMMARY_HEADER
from openresponses.gateway.token_count import estimate_tokens
from tests.e2e.sse_client import AUTH, stream_events
from tests.fakes.script import Script
from tests.fakes.upstream import FakeUpstream
from tests.spec import check, check_response, check_stream


async def in_thread(fn: Any, *args: Any, **kwargs: Any) -> Any:
    return await trio.to_thread.run_sync(lambda: fn(*args, **kwargs))


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


def contents(upstream: FakeUpstream) -> list[tuple[str, str]]:
    return [(m["role"], m["content"]) for m in upstream.last().body["messages"]]


async def compacted(client: openai.OpenAI, **body: Any) -> dict[str, Any]:
    raw = await in_thread(client.responses.with_raw_response.compact, **body)
    result: dict[str, Any] = json.loads(raw.text)
    return result


async def test_compact_summarizes_the_input_into_one_sealed_item(
    client: openai.OpenAI, upstream: FakeUpstream
) -> None:
    upstream.queue(Script(text="The user likes trio.", input_tokens=30, output_tokens=6))
    body = await compacted(client, model="groq@m", input=[
        user("I like trio."), {"role": "assistant", "content": "Noted."}])
    check("openai", "CompactResource", body)
    check("openresponses", "CompactResource", body)
    assert body["object"] == "response.compaction"
    assert body["usage"]["total_tokens"] == 36
    [item] = body["output"]
    assert item["type"] == "compaction"
    assert item["id"].startswith("cmp_")
    assert item["encrypted_content"].startswith("orc1.")
    assert "The user likes trio." not in item["encrypted_content"]  # opaque, not plain text
    system, prompt = upstream.last().body["messages"]
    assert "CONTEXT CHECKPOINT COMPACTION" in system["content"]
    assert "user: I like trio." in prompt["content"]
    assert "assistant: Noted." in prompt["content"]


async def test_compact_needs_a_model(gateway_url: str) -> None:
    async with httpx2.AsyncClient(timeout=10) as http:
        answer = await http.post(f"{gateway_url}/responses/compact", json={"input": "hi"},
                                 headers=AUTH)
    assert answer.status_code == 400
    assert answer.json()["error"]["param"] == "model"


async def test_a_returned_compaction_item_stands_for_what_it_summarized(
    client: openai.OpenAI, upstream: FakeUpstream
) -> None:
    first = await in_thread(client.responses.create, model="groq@m", input="My name is Ada.")
    upstream.queue(Script(text="The user is called Ada."), Script(text="Ada."))
    body = await compacted(client, model="groq@m", previous_response_id=first.id)
    assert "user: My name is Ada." in upstream.last().body["messages"][1]["content"]
    answer = await in_thread(client.responses.create, model="groq@m",
                             input=[*body["output"], user("Who am I?")])
    assert answer.output_text == "Ada."
    assert contents(upstream) == [("user", SUMMARY_HEADER + "The user is called Ada."),
                                  ("user", "Who am I?")]


async def test_an_altered_compaction_item_is_refused(client: openai.OpenAI) -> None:
    body = await compacted(client, model="groq@m", input="remember this")
    item = body["output"][0]
    payload, mac = item["encrypted_content"].removeprefix("orc1.").split(".")
    forged = {**item, "encrypted_content": f"orc1.{payload[::-1]}.{mac}"}
    with pytest.raises(openai.BadRequestError) as caught:
        await in_thread(client.responses.create, model="groq@m", input=[forged, user("hi")])
    assert caught.value.code == "invalid_encrypted_content"
    assert caught.value.param == "input[0].encrypted_content"  # it named "input"
    with pytest.raises(openai.BadRequestError) as caught:  # not queued, then failed
        await in_thread(client.responses.create, model="groq@m", input=[user("hi"), forged],
                        background=True)
    assert caught.value.param == "input[1].encrypted_content"


async def test_context_management_compacts_a_chain_into_the_first_output_item(
    client: openai.OpenAI, upstream: FakeUpstream
) -> None:
    first = await in_thread(client.responses.create, model="groq@m",
                            input="background " * 600)  # about 1,800 estimated tokens
    upstream.queue(Script(text="THE SUMMARY", input_tokens=1800, output_tokens=40),
                   Script(text="The answer.", input_tokens=60, output_tokens=5))
    raw = await in_thread(
        client.responses.with_raw_response.create, model="groq@m", input="The question?",
        previous_response_id=first.id,
        context_management=[{"type": "compaction", "compact_threshold": 1000}])
    body = json.loads(raw.text)
    check_response(body)
    # The summarizing call's tokens are the response's too.
    usage = body["usage"]
    assert (usage["input_tokens"], usage["output_tokens"], usage["total_tokens"]) == (
        1860, 45, 1905)
    assert [item["type"] for item in body["output"]] == ["compaction", "message"]
    assert body["output"][0]["encrypted_content"].startswith("orc1.")
    assert body["output_text"] == "The answer."
    assert "background" in upstream.received[-2].body["messages"][-1]["content"]  # summarized
    assert contents(upstream) == [("user", SUMMARY_HEADER + "THE SUMMARY"),
                                  ("user", "The question?")]
    items = await in_thread(client.responses.input_items.list, body["id"], order="asc")
    assert [i.type for i in items.data] == ["message"]  # the input, as sent
    await in_thread(client.responses.create, model="groq@m", input="More?",
                    previous_response_id=body["id"])
    assert contents(upstream) == [  # the chain carries on from the compaction
        ("user", SUMMARY_HEADER + "THE SUMMARY"), ("user", "The question?"),
        ("assistant", "The answer."), ("user", "More?")]


async def test_an_automatic_compaction_is_streamed_and_carries_a_stateless_chain(
    gateway_url: str, client: openai.OpenAI, upstream: FakeUpstream
) -> None:
    earlier = [user("background " * 600), {"role": "assistant", "content": "Noted."}]
    upstream.queue(Script(text="THE SUMMARY", input_tokens=1800, output_tokens=40),
                   Script(text="The answer.", input_tokens=60, output_tokens=5))
    events = await stream_events(gateway_url, {
        "model": "groq@m", "input": [*earlier, user("The question?")],
        "context_management": [{"type": "compaction", "compact_threshold": 1000}]})
    check_stream(events)
    assert events[-1]["response"]["usage"]["total_tokens"] == 1905
    added = [e["item"]["type"] for e in events if e["type"] == "response.output_item.added"]
    assert added == ["compaction", "message"]
    output = events[-1]["response"]["output"]
    assert [item["type"] for item in output] == ["compaction", "message"]
    # Stateless chaining: the client appends the output (compaction included) to its input.
    upstream.queue(Script(text="Done."))
    await in_thread(client.responses.create, model="groq@m", input=[
        *earlier, user("The question?"), *output, user("More?")])
    assert contents(upstream) == [
        ("user", SUMMARY_HEADER + "THE SUMMARY"), ("user", "The question?"),
        ("assistant", "The answer."), ("user", "More?")]


async def test_context_management_leaves_a_short_chain_alone(
    client: openai.OpenAI, upstream: FakeUpstream
) -> None:
    first = await in_thread(client.responses.create, model="groq@m", input="short")
    sent = len(upstream.received)
    await in_thread(client.responses.create, model="groq@m", input="again",
                    previous_response_id=first.id,
                    context_management=[{"type": "compaction", "compact_threshold": 1000}])
    assert len(upstream.received) == sent + 1  # no summarization call
    assert [role for role, _ in contents(upstream)] == ["user", "assistant", "user"]


async def test_input_tokens_are_counted_by_anthropic_exactly(
    client: openai.OpenAI, upstream: FakeUpstream
) -> None:
    upstream.token_counts.append(42)
    raw = await in_thread(client.responses.input_tokens.with_raw_response.count,
                          model="anthropic@claude-sonnet-4", input="Hello there",
                          instructions="Be brief.")
    body = json.loads(raw.text)
    check("openai", "TokenCountsResource", body)
    assert body == {"object": "response.input_tokens", "input_tokens": 42}
    sent = upstream.last()
    assert sent.path == "/v1/messages/count_tokens"
    assert sent.body["model"] == "claude-sonnet-4"
    assert sent.body["system"] == "Be brief."
    assert sent.body["messages"][0]["role"] == "user"
    assert "max_tokens" not in sent.body
    assert "stream" not in sent.body


async def test_anthropic_counts_what_a_create_would_send(
    client: openai.OpenAI, upstream: FakeUpstream
) -> None:
    """The count left out thinking, tool_choice, non-function tools and the structured-output
    tool: it undercounted what the same create then sent."""
    upstream.token_counts.append(7)
    await in_thread(client.responses.input_tokens.count, model="claude@claude-sonnet-4",
                    input="Hello", reasoning={"effort": "low"},
                    tools=[{"type": "function", "name": "f", "parameters": {"type": "object"}},
                           {"type": "custom", "name": "grep"}],
                    tool_choice="auto",
                    text={"format": {"type": "json_schema", "name": "answer",
                                     "schema": {"type": "object"}}})
    sent = upstream.last().body
    assert sent["thinking"]["type"] == "enabled"
    assert [t["name"] for t in sent["tools"]] == ["f", "grep", "__json_response"]
    assert sent["tool_choice"]["type"] == "auto"


async def test_input_tokens_of_other_models_are_estimated_with_their_history(
    client: openai.OpenAI
) -> None:
    message = {"type": "message", "role": "user",
               "content": [{"type": "input_text", "text": "Hello there"}]}
    counted = await in_thread(client.responses.input_tokens.count, model="groq@llama",
                              input="Hello there")
    assert counted.input_tokens == estimate_tokens([message])
    first = await in_thread(client.responses.create, model="groq@m", input="Hello there")
    longer = await in_thread(client.responses.input_tokens.count, model="openai@gpt-4o",
                             input="Hello there", previous_response_id=first.id)
    assert longer.input_tokens > counted.input_tokens


async def test_input_tokens_of_openai_models_are_counted_exactly_offline(
    client: openai.OpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path / "tiktoken"))
    framing = 1 + 3 + 3  # "user", the item, priming the reply (OpenAI's recipe)
    text = "Привет, как дела?"  # 6 tokens in o200k_base, 8 in cl100k_base

    async def count(model: str) -> int:
        counted = await in_thread(client.responses.input_tokens.count, model=model,
                                  input=text)
        return int(counted.input_tokens)

    assert await count("openai@gpt-4o") == 6 + framing
    assert await count("groq@gpt-4") == 8 + framing  # by model name, whatever the provider
