"""The official OpenAI SDK against a real gateway and a fake upstream: create, stream,
retrieve, input items, chains, tools, delete, store=false."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest
import trio

from tests.e2e.sse_client import stream_events
from tests.fakes.script import Script, ToolCall
from tests.fakes.upstream import FakeUpstream
from tests.spec import check, check_response, check_stream


async def in_thread(fn: Any, *args: Any, **kwargs: Any) -> Any:
    return await trio.to_thread.run_sync(lambda: fn(*args, **kwargs))


@pytest.mark.parametrize("model", ["openai@gpt-4o", "groq@llama-3.3-70b-versatile"])
async def test_create_returns_a_complete_valid_response(
    client: openai.OpenAI, upstream: FakeUpstream, model: str
) -> None:
    upstream.queue(Script(text="Hi there!", input_tokens=5, output_tokens=3))
    response = await in_thread(client.responses.create, model=model, input="Say hi")
    assert response.status == "completed"
    assert response.output_text == "Hi there!"
    assert response.model == model
    assert response.id.startswith("resp_")
    assert response.output[0].id.startswith("msg_")
    assert response.usage is not None
    assert (response.usage.input_tokens, response.usage.output_tokens) == (5, 3)
    sent = upstream.last()
    assert sent.body["model"] == model.partition("@")[2]
    assert sent.headers["authorization"] == f"Bearer {client.api_key}"


async def test_raw_body_is_valid_against_both_specs(
    client: openai.OpenAI, upstream: FakeUpstream
) -> None:
    raw = await in_thread(
        client.responses.with_raw_response.create, model="groq@m", input="hello",
        instructions="Be brief.", metadata={"k": "v"}, temperature=0.5,
    )
    body = json.loads(raw.text)
    check_response(body)
    assert body["output_text"] == "Hello from the fake model."
    assert body["instructions"] == "Be brief."
    assert upstream.last().body["messages"][0] == {"role": "system", "content": "Be brief."}


@pytest.mark.parametrize("model", ["openai@gpt-4o", "groq@llama"])
async def test_stream_events_are_valid_and_ordered(
    gateway_url: str, upstream: FakeUpstream, model: str
) -> None:
    upstream.queue(Script(text="one two three four", chunks=4))
    events = await stream_events(gateway_url, {"model": model, "input": "count"})
    check_stream(events)
    types = [e["type"] for e in events]
    assert types[:4] == ["response.created", "response.in_progress",
                         "response.output_item.added", "response.content_part.added"]
    assert types[-4:] == ["response.output_text.done", "response.content_part.done",
                          "response.output_item.done", "response.completed"]
    deltas = [e["delta"] for e in events if e["type"] == "response.output_text.delta"]
    assert "".join(deltas) == "one two three four"
    final = events[-1]["response"]
    check_response(final)
    assert final["output_text"] == "one two three four"
    assert final["usage"]["total_tokens"] == 18


async def test_sdk_stream_helper_accumulates_the_final_response(
    client: openai.OpenAI, upstream: FakeUpstream
) -> None:
    upstream.queue(Script(text="streamed via the SDK", chunks=5))

    def consume() -> tuple[list[str], Any]:
        with client.responses.stream(model="groq@m", input="go") as stream:
            deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
            return deltas, stream.get_final_response()

    deltas, final = await in_thread(consume)
    assert "".join(deltas) == "streamed via the SDK"
    assert final.output_text == "streamed via the SDK"
    assert final.status == "completed"


async def test_retrieve_and_input_items_after_create(client: openai.OpenAI) -> None:
    created = await in_thread(client.responses.create, model="groq@m", input=[
        {"role": "user", "content": "first"}, {"role": "user", "content": "second"}])
    fetched = await in_thread(client.responses.retrieve, created.id)
    assert fetched.id == created.id
    assert fetched.output_text == created.output_text
    items = await in_thread(client.responses.input_items.list, created.id)
    texts = [i.content[0].text for i in items.data]
    assert texts == ["second", "first"]  # newest first by default
    asc = await in_thread(client.responses.input_items.list, created.id, order="asc", limit=1)
    assert [i.content[0].text for i in asc.data] == ["first"]
    assert asc.has_more
    past = await in_thread(client.responses.input_items.with_raw_response.list, created.id,
                           order="asc", after=items.data[0].id)
    body = json.loads(past.text)
    check("openai", "ResponseItemList", body)  # its ids are strings, "" on an empty page
    assert (body["data"], body["first_id"], body["last_id"]) == ([], "", "")


async def test_previous_response_id_sends_the_whole_chain(
    client: openai.OpenAI, upstream: FakeUpstream
) -> None:
    upstream.queue(Script(text="Paris."), Script(text="About 2 million."))
    first = await in_thread(client.responses.create, model="groq@m",
                            input="Capital of France?", instructions="first instructions")
    second = await in_thread(client.responses.create, model="groq@m",
                             input="Population?", previous_response_id=first.id)
    assert second.previous_response_id == first.id
    messages = upstream.last().body["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert messages[1]["content"] == "Paris."
    assert "first instructions" not in json.dumps(messages)  # instructions are not inherited


async def test_unknown_previous_response_id_is_a_400(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        await in_thread(client.responses.create, model="groq@m", input="x",
                        previous_response_id="resp_doesnotexist")
    error = info.value.body
    assert isinstance(error, dict)
    assert error["param"] == "previous_response_id"
    assert error["code"] == "previous_response_not_found"


async def test_function_tool_round_trip(client: openai.OpenAI, upstream: FakeUpstream) -> None:
    call = ToolCall("call_abc", "get_weather", '{"city": "Paris"}')
    upstream.queue(Script(text="", tool_calls=(call,)), Script(text="It is sunny."))
    tools: Any = [{"type": "function", "name": "get_weather", "description": "Weather",
                   "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}]
    first = await in_thread(client.responses.create, model="groq@m", input="Weather?",
                            tools=tools)
    fc = first.output[0]
    assert fc.type == "function_call"
    assert fc.id.startswith("fc_")
    assert (fc.call_id, fc.name, json.loads(fc.arguments)) == ("call_abc", "get_weather",
                                                                {"city": "Paris"})
    second = await in_thread(client.responses.create, model="groq@m", tools=tools,
                             previous_response_id=first.id, input=[
                                 {"type": "function_call_output", "call_id": "call_abc",
                                  "output": "sunny"}])
    assert second.output_text == "It is sunny."
    messages = upstream.last().body["messages"]
    assert messages[1]["tool_calls"][0]["id"] == "call_abc"
    assert messages[2] == {"role": "tool", "tool_call_id": "call_abc", "content": "sunny"}


async def test_nested_chat_shaped_tools_are_accepted(
    client: openai.OpenAI, upstream: FakeUpstream
) -> None:
    tools: Any = [{"type": "function", "function": {
        "name": "lookup", "description": "d", "parameters": {"type": "object", "properties": {}}}}]
    response = await in_thread(client.responses.create, model="groq@m", input="x", tools=tools)
    assert response.tools[0].name == "lookup"
    assert upstream.last().body["tools"][0]["function"]["name"] == "lookup"


async def test_delete_then_retrieve_is_404(client: openai.OpenAI) -> None:
    created = await in_thread(client.responses.create, model="groq@m", input="x")
    deleted = await in_thread(client.responses.delete, created.id)
    assert deleted is None or getattr(deleted, "deleted", True)
    with pytest.raises(openai.NotFoundError):
        await in_thread(client.responses.retrieve, created.id)


async def test_store_false_is_not_retrievable(client: openai.OpenAI) -> None:
    created = await in_thread(client.responses.create, model="groq@m", input="x", store=False)
    assert created.store is False
    with pytest.raises(openai.NotFoundError):
        await in_thread(client.responses.retrieve, created.id)


async def test_upstream_failure_mid_stream_ends_failed_and_is_stored_failed(
    gateway_url: str, client: openai.OpenAI, upstream: FakeUpstream
) -> None:
    upstream.queue(Script(text="partial answer here", chunks=3, error_after=2))
    events = await stream_events(gateway_url, {"model": "groq@m", "input": "go"})
    check_stream(events)
    assert [e["type"] for e in events[-2:]] == ["error", "response.failed"]
    failed = events[-1]["response"]
    assert failed["status"] == "failed"
    assert failed["error"]["code"] == "server_error"
    assert failed["output"][0]["status"] == "incomplete"
    stored = await in_thread(client.responses.retrieve, failed["id"])
    assert stored.status == "failed"
    assert stored.output_text == failed["output_text"]
