"""Remote MCP through the gateway: list + call, approvals, failures, headers kept secret."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx2
import pytest
import trio

from tests.e2e.sse_client import AUTH, stream_events
from tests.fakes.mcp_server import FakeMcpServer
from tests.fakes.script import Script, ToolCall
from tests.fakes.upstream import FakeUpstream
from tests.spec import check_response, check_stream


@pytest.fixture
async def mcp() -> AsyncIterator[FakeMcpServer]:
    server = FakeMcpServer()
    async with trio.open_nursery() as nursery:
        await nursery.start(server.serve)
        yield server
        nursery.cancel_scope.cancel()


def mcp_tool(server: FakeMcpServer, approval: Any = "never") -> dict[str, Any]:
    return {"type": "mcp", "server_label": "calc", "server_url": server.url,
            "require_approval": approval, "headers": {"x-secret": "mcp-secret-999"}}


async def post(gateway_url: str, body: dict[str, Any]) -> dict[str, Any]:
    async with httpx2.AsyncClient(timeout=10) as http:
        response = await http.post(f"{gateway_url}/responses", json=body, headers=AUTH)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def test_list_and_call(gateway_url: str, upstream: FakeUpstream,
                             mcp: FakeMcpServer) -> None:
    upstream.queue(Script(text="", tool_calls=(ToolCall("c1", "calc__add", '{"a": 1, "b": 2}'),)),
                   Script(text="1 + 2 = 3"))
    events = await stream_events(gateway_url, {"model": "groq@m", "input": "add 1 and 2",
                                               "tools": [mcp_tool(mcp)]})
    check_stream(events)
    types = [e["type"] for e in events]
    assert "response.mcp_call.completed" in types
    final = events[-1]["response"]
    check_response(final)
    kinds = [i["type"] for i in final["output"]]
    assert kinds == ["mcp_list_tools", "mcp_call", "message"]
    listed = {t["name"] for t in final["output"][0]["tools"]}
    assert {"add", "echo"} <= listed
    call = final["output"][1]
    assert (call["name"], call["server_label"], call["output"]) == ("add", "calc", "3")
    assert mcp.calls == [("add", {"a": 1, "b": 2})]
    assert mcp.saw_header("x-secret", "mcp-secret-999")
    offered = [t["function"]["name"] for t in upstream.received[0].body["tools"]]
    assert "calc__add" in offered
    assert upstream.last().body["messages"][-1]["content"] == "3"
    assert "mcp-secret-999" not in json.dumps(final)  # headers are never stored or echoed


async def test_listing_is_reused_within_a_chain(gateway_url: str, upstream: FakeUpstream,
                                                mcp: FakeMcpServer) -> None:
    first = await post(gateway_url, {"model": "groq@m", "input": "hi", "tools": [mcp_tool(mcp)]})
    await post(gateway_url, {"model": "groq@m", "input": "again", "tools": [mcp_tool(mcp)],
                             "previous_response_id": first["id"]})
    assert mcp.count("tools/list") == 1


async def test_failing_tool_is_reported_and_the_model_continues(
    gateway_url: str, upstream: FakeUpstream, mcp: FakeMcpServer
) -> None:
    upstream.queue(Script(text="", tool_calls=(ToolCall("c1", "calc__fail", "{}"),)),
                   Script(text="it failed"))
    final = await post(gateway_url, {"model": "groq@m", "input": "x", "tools": [mcp_tool(mcp)]})
    call = final["output"][1]
    assert call["status"] == "failed"
    assert call["error"] is not None
    assert final["output_text"] == "it failed"


async def test_approval_round_trip(gateway_url: str, upstream: FakeUpstream,
                                   mcp: FakeMcpServer) -> None:
    upstream.queue(Script(text="", tool_calls=(ToolCall("c1", "calc__echo", '{"text": "hi"}'),)),
                   Script(text="echoed"))
    tools = [mcp_tool(mcp, approval="always")]
    first = await post(gateway_url, {"model": "groq@m", "input": "echo hi", "tools": tools})
    request = first["output"][-1]
    assert request["type"] == "mcp_approval_request"
    assert (request["name"], json.loads(request["arguments"])) == ("echo", {"text": "hi"})
    assert mcp.calls == []  # nothing runs before approval
    second = await post(gateway_url, {"model": "groq@m", "tools": tools,
                                      "previous_response_id": first["id"], "input": [
        {"type": "mcp_approval_response", "approval_request_id": request["id"],
         "approve": True}]})
    assert mcp.calls == [("echo", {"text": "hi"})]
    assert [i["type"] for i in second["output"]] == ["mcp_call", "message"]
    assert second["output_text"] == "echoed"
    assert request["id"].startswith("mcpr_")  # it was item_
    assert second["output"][0]["approval_request_id"] == request["id"]  # it had none
    check_response(second)


@pytest.mark.parametrize("model", ["groq@m", "claude@m"])
async def test_calls_needing_no_approval_run_beside_one_that_waits(
    gateway_url: str, upstream: FakeUpstream, mcp: FakeMcpServer, model: str
) -> None:
    """The turn's other calls were dropped: never run, no item, missing from the context."""
    upstream.queue(Script(text="", tool_calls=(
        ToolCall("c1", "calc__add", '{"a": 1, "b": 2}'),
        ToolCall("c2", "calc__echo", '{"text": "hi"}'))), Script(text="3, and hi"))
    tools = [mcp_tool(mcp, approval={"never": {"tool_names": ["add"]}})]
    first = await post(gateway_url, {"model": model, "input": "add, echo", "tools": tools})
    check_response(first)
    assert [i["type"] for i in first["output"]] == [
        "mcp_list_tools", "mcp_call", "mcp_approval_request"]
    assert mcp.calls == [("add", {"a": 1, "b": 2})]
    second = await post(gateway_url, {"model": model, "tools": tools,
                                      "previous_response_id": first["id"], "input": [
        {"type": "mcp_approval_response", "approval_request_id": first["output"][-1]["id"],
         "approve": True}]})
    assert mcp.calls == [("add", {"a": 1, "b": 2}), ("echo", {"text": "hi"})]
    assert second["output_text"] == "3, and hi"
    sent = json.dumps(upstream.last().body)  # each name: offered, and its call replayed
    assert (sent.count("calc__add"), sent.count("calc__echo")) == (2, 2)


def fn(name: str) -> dict[str, Any]:
    return {"type": "function", "name": name, "parameters": {"type": "object"}}


@pytest.mark.parametrize("stream", [False, True])
async def test_two_tools_under_one_name_are_a_400(
    gateway_url: str, upstream: FakeUpstream, mcp: FakeMcpServer, stream: bool
) -> None:
    """They went upstream twice (providers refuse that), and a client's function named as a
    gateway tool had its calls run by the gateway."""
    for tools in ([fn("f"), fn("f")],  # (web_search: tests/e2e/test_tools.py)
                  [mcp_tool(mcp), fn("calc__add")], [mcp_tool(mcp), mcp_tool(mcp)],
                  [{"type": "think"}, {"type": "think"}]):
        async with httpx2.AsyncClient(timeout=10) as http:
            answer = await http.post(f"{gateway_url}/responses", headers=AUTH, json={
                "model": "groq@m", "input": "x", "tools": tools, "stream": stream})
        assert answer.status_code == 400, (tools, answer.text)
        error = answer.json()["error"]
        assert (error["param"], error["code"]) == ("tools", "invalid_value")
        assert "Duplicate tool name" in error["message"]
    assert upstream.received == []


async def test_declined_approval_tells_the_model(gateway_url: str, upstream: FakeUpstream,
                                                 mcp: FakeMcpServer) -> None:
    upstream.queue(Script(text="", tool_calls=(ToolCall("c1", "calc__echo", '{"text": "x"}'),)),
                   Script(text="ok, I won't"))
    tools = [mcp_tool(mcp, approval="always")]
    first = await post(gateway_url, {"model": "groq@m", "input": "x", "tools": tools})
    request_id = first["output"][-1]["id"]
    second = await post(gateway_url, {"model": "groq@m", "tools": tools,
                                      "previous_response_id": first["id"], "input": [
        {"type": "mcp_approval_response", "approval_request_id": request_id,
         "approve": False}]})
    assert mcp.calls == []
    assert second["output_text"] == "ok, I won't"
    assert "declined" in upstream.last().body["messages"][-1]["content"]
