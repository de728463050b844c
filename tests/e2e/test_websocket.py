"""WebSocket mode on /v1/responses, driven with trio-websocket: the SSE events over a socket,
continuation from connection memory, one response at a time, errors and the time limit."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx2
import pytest
import trio
from trio_websocket import ConnectionClosed, WebSocketConnection
from trio_websocket import open_websocket_url as connect

from tests.e2e.conftest import CLIENT_KEY
from tests.fakes.script import Script
from tests.fakes.upstream import ErrorReply, FakeUpstream
from tests.spec import check, check_stream

AUTH = [(b"authorization", f"Bearer {CLIENT_KEY}".encode())]
TERMINAL = ("response.completed", "response.incomplete", "response.failed")


def ws_url(gateway_url: str) -> str:
    return gateway_url.replace("http://", "ws://", 1) + "/responses"


async def create(ws: WebSocketConnection, **body: Any) -> None:
    message = {"type": "response.create", "model": "groq@m", **body}
    check("openresponses", "WebSocketResponseCreateEvent", message)  # what clients send
    await ws.send_message(json.dumps(message))


async def next_event(ws: WebSocketConnection) -> dict[str, Any]:
    with trio.fail_after(10):
        event: dict[str, Any] = json.loads(await ws.get_message())
    return event


async def until_done(ws: WebSocketConnection) -> list[dict[str, Any]]:
    """Events up to a terminal event or a WebSocket error event (which has a ``status``)."""
    events = [await next_event(ws)]
    while events[-1]["type"] not in TERMINAL and "status" not in events[-1]:
        events.append(await next_event(ws))
    return events


def check_ws_error(event: dict[str, Any], code: str) -> None:
    check("openresponses", "WebSocketErrorEvent", event)
    check("openai", "ResponseWsError", event)
    assert event["error"]["code"] == code, event


async def test_a_response_over_a_websocket_sends_the_sse_events(
    gateway_url: str, upstream: FakeUpstream
) -> None:
    upstream.queue(Script(text="one two three", chunks=3), Script(text="again"))
    async with connect(ws_url(gateway_url), extra_headers=AUTH) as ws:
        await create(ws, input="count")
        events = await until_done(ws)
        check_stream(events)
        assert events[-1]["response"]["output_text"] == "one two three"
        await create(ws, input="more")  # the socket waits for the next response.create
        second = await until_done(ws)
        check_stream(second)
        assert second[-1]["response"]["id"] != events[-1]["response"]["id"]


async def test_continuation_comes_from_connection_memory_even_unstored(
    gateway_url: str, upstream: FakeUpstream
) -> None:
    upstream.queue(Script(text="Paris."), Script(text="About 2 million."))
    async with connect(ws_url(gateway_url), extra_headers=AUTH) as ws:
        await create(ws, input="Capital of France?", store=False)
        first = (await until_done(ws))[-1]["response"]
        await create(ws, input="Population?", store=False, previous_response_id=first["id"])
        second = (await until_done(ws))[-1]["response"]
    assert second["previous_response_id"] == first["id"]
    assert second["output_text"] == "About 2 million."
    messages = upstream.last().body["messages"]
    assert [(m["role"], m["content"]) for m in messages] == [
        ("user", "Capital of France?"), ("assistant", "Paris."), ("user", "Population?")]


async def test_a_stored_response_deleted_over_http_cannot_be_continued_on_the_socket(
    gateway_url: str
) -> None:
    """The socket remembered it and went on from it, deleted or not."""
    async with connect(ws_url(gateway_url), extra_headers=AUTH) as ws:
        await create(ws, input="Capital of France?")
        first = (await until_done(ws))[-1]["response"]
        async with httpx2.AsyncClient(timeout=10) as http:
            deleted = await http.delete(f"{gateway_url}/responses/{first['id']}",
                                        headers=dict((k.decode(), v.decode()) for k, v in AUTH))
        assert deleted.status_code == 200
        await create(ws, input="Population?", previous_response_id=first["id"])
        check_ws_error((await until_done(ws))[-1], "previous_response_not_found")


async def test_an_unknown_previous_response_is_an_error_event_on_a_usable_socket(
    gateway_url: str
) -> None:
    async with connect(ws_url(gateway_url), extra_headers=AUTH) as ws:
        await create(ws, input="hi", previous_response_id="resp_unknown")
        error = await next_event(ws)
        check_ws_error(error, "previous_response_not_found")
        assert (error["status"], error["error"]["param"]) == (400, "previous_response_id")
        await create(ws, input="hi")
        assert (await until_done(ws))[-1]["type"] == "response.completed"


async def test_a_second_create_while_one_runs_is_refused(
    gateway_url: str, upstream: FakeUpstream
) -> None:
    upstream.hold = trio.Event()
    async with connect(ws_url(gateway_url), extra_headers=AUTH) as ws:
        await create(ws, input="slow")
        with trio.fail_after(5):
            await upstream.stream_opened.wait()
        await create(ws, input="impatient")
        seen = [await next_event(ws)]
        while "status" not in seen[-1]:
            seen.append(await next_event(ws))
        check_ws_error(seen[-1], "response_in_progress")
        upstream.hold.set()
        rest = await until_done(ws)
    check_stream([e for e in seen + rest if "status" not in e])


async def test_a_failed_continuation_forgets_the_remembered_response(
    gateway_url: str, upstream: FakeUpstream
) -> None:
    upstream.queue(Script(text="first"),
                   ErrorReply(500, {"error": {"message": "boom", "type": "server_error"}}))
    async with connect(ws_url(gateway_url), extra_headers=AUTH) as ws:
        await create(ws, input="one", store=False)
        first = (await until_done(ws))[-1]["response"]
        await create(ws, input="two", store=False, previous_response_id=first["id"])
        failed = await next_event(ws)
        check("openresponses", "WebSocketErrorEvent", failed)
        assert failed["status"] >= 500
        await create(ws, input="three", store=False, previous_response_id=first["id"])
        check_ws_error(await next_event(ws), "previous_response_not_found")


async def test_an_upgrade_without_a_key_is_refused(gateway_url: str) -> None:
    # A raw upgrade request: trio-websocket leaves its socket open after a rejection.
    upgrade = {"connection": "Upgrade", "upgrade": "websocket", "sec-websocket-version": "13",
               "sec-websocket-key": base64.b64encode(b"0123456789abcdef").decode()}
    async with httpx2.AsyncClient(timeout=10) as http:
        refused = await http.get(f"{gateway_url}/responses", headers=upgrade)
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "missing_api_key"


async def test_a_message_that_is_not_response_create_gets_an_error(gateway_url: str) -> None:
    async with connect(ws_url(gateway_url), extra_headers=AUTH) as ws:
        await ws.send_message(json.dumps({"type": "response.cancel"}))
        check_ws_error(await next_event(ws), "invalid_event_type")
        await ws.send_message("not json")
        check_ws_error(await next_event(ws), "invalid_json")


async def test_a_message_as_big_as_an_http_body_is_read(gateway_url: str) -> None:
    """Hypercorn's own limit (16 MiB) closed the socket (1009) below the gateway's 32 MiB."""
    async with connect(ws_url(gateway_url), extra_headers=AUTH,
                       max_message_size=64 * 2**20) as ws:
        await ws.send_message("x" * (20 * 2**20))  # not JSON: answered, not cut off
        check_ws_error(await next_event(ws), "invalid_json")


@pytest.mark.parametrize("gateway_extra_env", [{"OPENRESPONSES_WEBSOCKET_MAX_SECONDS": "0.3"}])
async def test_a_connection_is_closed_at_its_time_limit(gateway_url: str) -> None:
    async with connect(ws_url(gateway_url), extra_headers=AUTH) as ws:
        check_ws_error(await next_event(ws), "websocket_connection_limit_reached")
        with pytest.raises(ConnectionClosed), trio.fail_after(5):
            await ws.get_message()
        await ws._stream.aclose()  # trio-websocket leaves it open when the server closes first
