"""WebSocket access log: one JSON line per session and one per ``response.create`` (ids, key
hash prefix, model, status, latency, tokens), the bearer never in any of them."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import httpx2
import trio
from trio_websocket import open_websocket_url as connect

from tests.e2e.conftest import CLIENT_KEY
from tests.e2e.live import until
from tests.e2e.test_websocket import AUTH, create, next_event, until_done, ws_url
from tests.fakes.script import Script
from tests.fakes.upstream import FakeUpstream
from tests.log_capture import CAPTURE

KEY_PREFIX = hashlib.sha256(CLIENT_KEY.encode()).hexdigest()[:12]


def access_lines(**match: Any) -> list[dict[str, Any]]:
    """The access lines whose fields include ``match``."""
    lines = []
    for line in CAPTURE.lines:
        record: dict[str, Any] = json.loads(line)
        if record.get("logger") == "openresponses.access" and all(
            record.get(name) == value for name, value in match.items()
        ):
            lines.append(record)
    return lines


async def wait_for_lines(count: int, **match: Any) -> list[dict[str, Any]]:
    with trio.fail_after(3):
        await until(lambda: len(access_lines(**match)) >= count)
    return access_lines(**match)


async def test_a_session_and_each_response_get_an_access_line(
    gateway_url: str, upstream: FakeUpstream
) -> None:
    upstream.queue(Script(text="hello there", input_tokens=13, output_tokens=5))
    headers = [*AUTH, (b"x-request-id", b"ws-session-logs-1")]
    async with connect(ws_url(gateway_url), extra_headers=headers) as ws:
        await create(ws, input="hi")
        final = (await until_done(ws))[-1]["response"]
        await create(ws, input="hi", model="nope@nothing")  # refused: an error event
        error = await next_event(ws)
    assert error["type"] == "error"
    (session,) = await wait_for_lines(1, request_id="ws-session-logs-1")
    assert session["websocket"] is True
    assert (session["status"], session["method"], session["route"]) == (101, "GET",
                                                                        "/v1/responses")
    assert (session["responses"], session["ended"]) == (2, "client")
    assert session["key"] == KEY_PREFIX
    assert session["latency_ms"] > 0
    served, refused = await wait_for_lines(2, session_id="ws-session-logs-1")
    assert served["response_id"] == final["id"]
    assert (served["status"], served["response_status"]) == (200, "completed")
    assert (served["provider"], served["model"]) == ("groq", "m")
    assert (served["input_tokens"], served["output_tokens"]) == (13, 5)
    assert served["request_id"].startswith("req_")
    assert served["key"] == KEY_PREFIX
    assert refused["status"] == error["status"] >= 400
    assert refused["error_code"] == error["error"]["code"]
    assert refused["model"] == "nope@nothing"
    for line in (session, served, refused):
        assert CLIENT_KEY not in json.dumps(line)


async def test_a_refused_upgrade_is_logged_with_its_status(gateway_url: str) -> None:
    """No bearer: 401 (a plain upgrade request, to see the refusal's headers)."""
    async with httpx2.AsyncClient(timeout=10) as http:
        response = await http.get(f"{gateway_url}/responses", headers={
            "connection": "upgrade", "upgrade": "websocket", "sec-websocket-version": "13",
            "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==", "x-request-id": "ws-refused-1"})
    assert response.status_code == 401
    assert response.headers["x-request-id"] == "ws-refused-1"
    (line,) = await wait_for_lines(1, request_id="ws-refused-1")
    assert (line["status"], line["websocket"], line["key"]) == (401, True, None)


async def test_a_client_leaving_mid_response_is_logged_as_499(
    gateway_url: str, upstream: FakeUpstream
) -> None:
    upstream.queue(Script(text="one two three four five six", chunks=6, delay=0.3))
    headers = [*AUTH, (b"x-request-id", b"ws-session-logs-2")]
    async with connect(ws_url(gateway_url), extra_headers=headers) as ws:
        await create(ws, input="count slowly")
        while (await next_event(ws))["type"] != "response.output_text.delta":
            pass
    (line,) = await wait_for_lines(1, session_id="ws-session-logs-2")
    assert (line["status"], line["client_closed"]) == (499, True)
    assert line["response_id"].startswith("resp_")
    (session,) = await wait_for_lines(1, request_id="ws-session-logs-2")
    assert session["responses"] == 1
