"""The server-side tool loop: web search (fake Brave), think, custom and namespace tools, the
loop bound, max_tool_calls, mixes with client tools, failures and timeouts, disconnects."""

from __future__ import annotations

import json
from contextlib import aclosing
from typing import Any

import httpx2
import pytest
import trio

from tests.e2e.sse_client import AUTH, stream_events
from tests.fakes.script import Script, ToolCall
from tests.fakes.upstream import FakeUpstream, SearchReply
from tests.spec import check_response, check_stream

SEARCH = {"type": "web_search"}
CLIENT_TOOL = {"type": "function", "name": "get_time", "parameters": {"type": "object",
                                                                      "properties": {}}}


@pytest.fixture
def gateway_extra_env() -> dict[str, str]:
    return {"BRAVE_API_KEY": "brave-test-key-123", "OPENRESPONSES_TOOL_TIMEOUT": "1",
            "OPENRESPONSES_MAX_TOOL_ITERATIONS": "3"}


def search_call(call_id: str, query: str) -> ToolCall:
    return ToolCall(call_id, "web_search", json.dumps({"query": query}))


async def create(gateway_url: str, body: dict[str, Any]) -> httpx2.Response:
    async with httpx2.AsyncClient(timeout=10) as http:
        return await http.post(f"{gateway_url}/responses", json=body, headers=AUTH)


async def test_one_search_then_answer(gateway_url: str, upstream: FakeUpstream) -> None:
    upstream.queue(Script(text="", tool_calls=(search_call("c1", "trio nurseries"),)),
                   Script(text="Trio uses nurseries."))
    events = await stream_events(gateway_url, {
        "model": "groq@m", "input": "What are nurseries?", "tools": [SEARCH],
        "include": ["web_search_call.action.sources"]})
    check_stream(events)
    types = [e["type"] for e in events]
    for name in ("in_progress", "searching", "completed"):
        assert f"response.web_search_call.{name}" in types
    final = events[-1]["response"]
    check_response(final)
    assert [i["type"] for i in final["output"]] == ["web_search_call", "message"]
    action = final["output"][0]["action"]
    assert action["query"] == "trio nurseries"
    assert action["sources"][0]["url"] == "https://trio.readthedocs.io/"
    assert final["output_text"] == "Trio uses nurseries."
    assert upstream.searches[0].headers["x-subscription-token"] == "brave-test-key-123"
    assert upstream.searches[0].body["q"] == "trio nurseries"
    second_turn = upstream.last().body["messages"]
    assert second_turn[-2]["tool_calls"][0]["function"]["name"] == "web_search"
    assert "Trio docs" in second_turn[-1]["content"]
    assert "<b>" not in second_turn[-1]["content"]


async def test_two_parallel_searches(gateway_url: str, upstream: FakeUpstream) -> None:
    upstream.queue(Script(text="", tool_calls=(search_call("a", "one"), search_call("b", "two"))),
                   Script(text="done"))
    response = await create(gateway_url, {"model": "groq@m", "input": "x", "tools": [SEARCH]})
    body = response.json()
    assert [i["action"]["query"] for i in body["output"][:2]] == ["one", "two"]
    assert sorted(s.body["q"] for s in upstream.searches) == ["one", "two"]
    tool_messages = [m for m in upstream.last().body["messages"] if m["role"] == "tool"]
    assert [m["tool_call_id"] for m in tool_messages] == ["a", "b"]


async def test_failing_search_becomes_output_and_the_model_goes_on(
    gateway_url: str, upstream: FakeUpstream
) -> None:
    upstream.search_replies.append(SearchReply(status=500))
    upstream.queue(Script(text="", tool_calls=(search_call("c", "q"),)), Script(text="sorry"))
    body = (await create(gateway_url, {"model": "groq@m", "input": "x",
                                       "tools": [SEARCH]})).json()
    assert body["status"] == "completed"
    assert body["output"][0]["status"] == "failed"
    assert body["output_text"] == "sorry"
    assert "Error" in upstream.last().body["messages"][-1]["content"]


@pytest.mark.parametrize(("raw", "status"), [
    ("<html>not json</html>", "failed"), ('{"web": "str"}', "completed"),
    ('{"web": {"results": 5}}', "completed"), ("[1, 2]", "completed"),
])
async def test_a_search_answer_of_another_shape_fails_only_the_call(
    gateway_url: str, upstream: FakeUpstream, raw: str, status: str
) -> None:
    """It failed the whole response (a 502 "could not be translated"), the call's item left
    in_progress; a shape without results is no results."""
    upstream.search_replies.append(SearchReply(raw=raw))
    upstream.queue(Script(text="", tool_calls=(search_call("c", "q"),)), Script(text="ok"))
    body = (await create(gateway_url, {"model": "groq@m", "input": "x",
                                       "tools": [SEARCH]})).json()
    check_response(body)
    assert (body["status"], body["output"][0]["status"]) == ("completed", status)
    assert body["output_text"] == "ok"


async def test_call_arguments_nested_past_the_parser_are_no_arguments(
    gateway_url: str, upstream: FakeUpstream
) -> None:
    deep = "[" * 5000 + "]" * 5000
    upstream.queue(Script(text="", tool_calls=(ToolCall("c", "web_search", deep),)),
                   Script(text="ok"))
    body = (await create(gateway_url, {"model": "groq@m", "input": "x",
                                       "tools": [SEARCH]})).json()
    assert (body["status"], body["output_text"]) == ("completed", "ok")


@pytest.mark.parametrize("arguments", ["[1, 2, 3]", '"text"', "7"])
async def test_a_server_call_whose_arguments_are_no_object_goes_on_on_anthropic(
    gateway_url: str, upstream: FakeUpstream, arguments: str
) -> None:
    """The next turn replayed the call as written, which Anthropic refuses (the gateway's
    own 400 invalid_prompt, failing a response no client could mend)."""
    upstream.queue(Script(text="", tool_calls=(ToolCall("c", "web_search", arguments),)),
                   Script(text="ok"))
    events = await stream_events(gateway_url, {"model": "claude@m", "input": "x",
                                               "tools": [SEARCH]})  # streamed: as written
    body = events[-1]["response"]
    assert (body["status"], body["output_text"]) == ("completed", "ok"), body
    [call] = [b for m in upstream.last().body["messages"] if isinstance(m["content"], list)
              for b in m["content"] if b["type"] == "tool_use"]
    assert call["input"] == {}


async def test_a_function_named_as_the_search_tool_is_a_400(
    gateway_url: str, upstream: FakeUpstream
) -> None:
    """The model saw two web_search tools, and the gateway ran the client's calls."""
    answer = await create(gateway_url, {"model": "groq@m", "input": "x", "tools": [
        {"type": "function", "name": "web_search", "parameters": {"type": "object"}}, SEARCH]})
    assert answer.status_code == 400, answer.text
    assert "Duplicate tool name 'web_search'" in answer.json()["error"]["message"]
    assert upstream.received == []


@pytest.mark.parametrize("choice", [
    {"type": "web_search"},
    {"type": "allowed_tools", "mode": "required", "tools": [{"type": "web_search"}]},
])
async def test_a_choice_of_the_search_tool_forces_it_on_every_provider(
    gateway_url: str, upstream: FakeUpstream, choice: dict[str, Any]
) -> None:
    """Chat providers got no tool_choice (and with allowed_tools no tools at all)."""
    for model in ("groq@m", "claude@m"):
        await create(gateway_url, {"model": model, "input": "x", "tools": [SEARCH, CLIENT_TOOL],
                                   "tool_choice": choice})
        sent = upstream.last().body
        if model.startswith("groq"):
            names = [t["function"]["name"] for t in sent["tools"]]
            forced = sent["tool_choice"] in ("required", {"type": "function",
                                                          "function": {"name": "web_search"}})
        else:
            names = [t["name"] for t in sent["tools"]]
            forced = sent["tool_choice"]["type"] in ("any", "tool")
        assert "web_search" in names, (model, sent)
        assert forced, (model, sent["tool_choice"])


async def test_slow_search_times_out_as_a_failed_call(
    gateway_url: str, upstream: FakeUpstream
) -> None:
    upstream.search_replies.append(SearchReply(delay=3))
    upstream.queue(Script(text="", tool_calls=(search_call("c", "q"),)), Script(text="ok"))
    body = (await create(gateway_url, {"model": "groq@m", "input": "x",
                                       "tools": [SEARCH]})).json()
    assert body["output"][0]["status"] == "failed"
    assert "timed out" in upstream.last().body["messages"][-1]["content"]


async def test_server_and_client_calls_in_one_turn(
    gateway_url: str, upstream: FakeUpstream
) -> None:
    upstream.queue(Script(text="", tool_calls=(search_call("s", "q"),
                                               ToolCall("c", "get_time", "{}"))))
    body = (await create(gateway_url, {"model": "groq@m", "input": "x",
                                       "tools": [SEARCH, CLIENT_TOOL]})).json()
    assert body["status"] == "completed"
    kinds = sorted(i["type"] for i in body["output"])
    assert kinds == ["function_call", "web_search_call"]
    assert len(upstream.received) == 1  # the client's call is answered by the client
    assert len(upstream.searches) == 1


async def test_loop_bound_stops_with_incomplete(gateway_url: str, upstream: FakeUpstream) -> None:
    upstream.queue(*[Script(text="", tool_calls=(search_call(f"c{n}", "again"),))
                     for n in range(3)])
    body = (await create(gateway_url, {"model": "groq@m", "input": "x",
                                       "tools": [SEARCH]})).json()
    assert body["status"] == "incomplete"
    assert body["incomplete_details"] == {"reason": "max_tool_iterations"}
    assert len(upstream.received) == 3


async def test_calls_past_max_tool_calls_are_ignored_and_the_model_answers(
    gateway_url: str, upstream: FakeUpstream
) -> None:
    """As OpenAI: further calls are ignored. The response used to end incomplete (a reason
    outside OpenAI's enum) with none of the calls run."""
    upstream.queue(Script(text="", tool_calls=(search_call("a", "1"), search_call("b", "2"))),
                   Script(text="from one search"))
    body = (await create(gateway_url, {"model": "groq@m", "input": "x",
                                       "tools": [SEARCH, CLIENT_TOOL],
                                       "max_tool_calls": 1})).json()
    check_response(body)
    assert (body["status"], body["output_text"]) == ("completed", "from one search")
    assert [i["type"] for i in body["output"]] == ["web_search_call", "message"]
    assert [s.body["q"] for s in upstream.searches] == ["1"]
    last = upstream.last().body
    assert [t["function"]["name"] for t in last["tools"]] == ["get_time"]  # spent: not offered
    assert "max_tool_calls" in last["messages"][-1]["content"]  # the model is told


async def test_think_tool_becomes_a_reasoning_item(
    gateway_url: str, upstream: FakeUpstream
) -> None:
    upstream.queue(Script(text="", tool_calls=(ToolCall("t", "think", '{"thought": "hmm"}'),)),
                   Script(text="answer"))
    body = (await create(gateway_url, {"model": "groq@m", "input": "x",
                                       "tools": [{"type": "think"}]})).json()
    check_response(body)
    assert body["output"][0]["type"] == "reasoning"
    assert body["output"][0]["content"] == [{"type": "reasoning_text", "text": "hmm"}]
    assert body["output"][0]["status"] == "completed"  # it was left in_progress


async def test_custom_and_namespace_tools_map_back(
    gateway_url: str, upstream: FakeUpstream
) -> None:
    upstream.queue(Script(text="", tool_calls=(
        ToolCall("c1", "apply_patch", '{"input": "*** Begin Patch"}'),
        ToolCall("c2", "fs__read", '{"path": "a"}'))))
    tools = [{"type": "custom", "name": "apply_patch", "description": "patch"},
             {"type": "namespace", "name": "fs", "description": "files", "tools": [
                 {"type": "function", "name": "read", "parameters": {"type": "object"}}]}]
    body = (await create(gateway_url, {"model": "groq@m", "input": "x", "tools": tools})).json()
    custom, namespaced = body["output"]
    assert (custom["type"], custom["name"], custom["input"]) == (
        "custom_tool_call", "apply_patch", "*** Begin Patch")
    assert (namespaced["name"], namespaced["namespace"]) == ("read", "fs")
    sent = [t["function"]["name"] for t in upstream.last().body["tools"]]
    assert sent == ["apply_patch", "fs__read"]
    upstream.queue(Script(text="patched"))
    follow = await create(gateway_url, {"model": "groq@m", "tools": tools,
                                        "previous_response_id": body["id"], "input": [
        {"type": "custom_tool_call_output", "call_id": "c1", "output": "applied"},
        {"type": "function_call_output", "call_id": "c2", "output": "contents"}]})
    assert follow.json()["output_text"] == "patched"
    messages = upstream.last().body["messages"]
    assert [c["function"]["name"] for c in messages[1]["tool_calls"]] == ["apply_patch",
                                                                          "fs__read"]


async def test_openai_provider_gets_hosted_web_search_as_is(
    gateway_url: str, upstream: FakeUpstream
) -> None:
    await create(gateway_url, {"model": "openai@gpt-4o", "input": "x", "tools": [SEARCH]})
    assert upstream.last().body["tools"] == [SEARCH]
    assert upstream.searches == []


async def test_disconnect_mid_loop_cancels_the_search_and_stores_nothing(
    gateway_url: str, upstream: FakeUpstream
) -> None:
    upstream.search_replies.append(SearchReply(delay=30))
    upstream.queue(Script(text="", tool_calls=(search_call("c", "q"),)))
    body = {"model": "groq@m", "input": "x", "tools": [SEARCH], "stream": True}
    seen = b""
    async with httpx2.AsyncClient(timeout=5) as http:
        async with http.stream("POST", f"{gateway_url}/responses", json=body,
                               headers=AUTH) as response:
            async with aclosing(response.aiter_bytes()) as chunks:
                async for chunk in chunks:
                    seen += chunk
                    if b"web_search_call.searching" in seen:
                        with trio.fail_after(2):
                            await upstream.search_started.wait()  # then the client leaves
                        break
        with trio.fail_after(0.5):  # well before the 1 s tool timeout: it is the disconnect
            await upstream.search_cancelled.wait()  # the gateway dropped the search request
        created = json.loads(seen.split(b"data: ", 1)[1].split(b"\n", 1)[0])
        stored = await http.get(f"{gateway_url}/responses/{created['response']['id']}",
                                headers=AUTH)
        assert stored.status_code == 404
