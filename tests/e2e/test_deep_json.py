"""A body nesting arrays and objects past ``MAX_DEPTH`` is a 400 ``invalid_json`` on every
route and over the WebSocket. orjson reads 1,024 levels but writes 254: such a body used to
pass validation and then fail where the gateway encoded it (a 500 on chat and input_tokens,
a 502 "could not be translated" on responses). A body at the limit is served whole."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest
from trio_websocket import open_websocket_url as connect

from openresponses.routes.common import MAX_DEPTH
from tests.e2e.sse_client import AUTH
from tests.e2e.test_websocket import AUTH as WS_AUTH
from tests.e2e.test_websocket import next_event, ws_url
from tests.fakes.upstream import FakeUpstream


def nested(levels: int) -> Any:
    """An object ``levels`` deep (itself included)."""
    value: Any = 1
    for _ in range(levels):
        value = {"a": value}
    return value


def tool(parameters: Any) -> dict[str, Any]:
    return {"type": "function", "name": "f", "parameters": parameters}


CHAT = {"model": "groq@m", "messages": [{"role": "user", "content": "hi"}]}
BODIES = [
    ("/responses", {"model": "groq@m", "input": "hi", "metadata_x": nested(300)}),
    ("/responses", {"model": "claude@m", "input": "hi", "tools": [tool(nested(260))]}),
    ("/responses", {"model": "groq@m", "input": "hi", "stream": True,
                    "tools": [tool(nested(MAX_DEPTH))]}),
    ("/chat/completions", {**CHAT, "foo": nested(300)}),
    ("/chat/completions", {**CHAT, "stream": True, "foo": nested(300)}),
    ("/responses/input_tokens", {"model": "groq@m", "input": "hi",
                                 "tools": [tool(nested(300))]}),
    ("/conversations", {"items": [nested(300)]}),
]


@pytest.mark.parametrize(("path", "body"), BODIES)
async def test_a_body_nested_past_the_limit_is_400_invalid_json(
    gateway_url: str, upstream: FakeUpstream, path: str, body: dict[str, Any]
) -> None:
    async with httpx2.AsyncClient(timeout=10) as http:
        answer = await http.post(f"{gateway_url}{path}", headers=AUTH, json=body)
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert (error["type"], error["code"]) == ("invalid_request_error", "invalid_json")
    assert str(MAX_DEPTH) in error["message"]
    assert upstream.received == []


async def test_a_tool_at_the_limit_reaches_the_upstream_and_is_stored(
    gateway_url: str, upstream: FakeUpstream
) -> None:
    # body → tools → tool → parameters → properties: MAX_DEPTH levels in all
    parameters = {"type": "object", "properties": nested(MAX_DEPTH - 4)}
    async with httpx2.AsyncClient(timeout=10) as http:
        answer = await http.post(f"{gateway_url}/responses", headers=AUTH, json={
            "model": "claude@m", "input": "hi", "tools": [tool(parameters)]})
        assert answer.status_code == 200, answer.text
        stored = await http.get(f"{gateway_url}/responses/{answer.json()['id']}",
                                headers=AUTH)
    assert stored.json()["tools"][0]["parameters"] == parameters
    assert upstream.last().body["tools"][0]["input_schema"] == parameters


async def test_a_websocket_message_nested_past_the_limit_gets_an_error_event(
    gateway_url: str
) -> None:
    async with connect(ws_url(gateway_url), extra_headers=WS_AUTH) as ws:
        await ws.send_message(json.dumps({"type": "response.create", "model": "groq@m",
                                          "input": "hi", "tools": [tool(nested(300))]}))
        event = await next_event(ws)
    assert (event["type"], event["status"]) == ("error", 400)
    assert event["error"]["code"] == "invalid_json"
