"""A failure no code turned into events of its own (a bug, here a store whose save raises
something unexpected once the model has answered) still reaches the client cleanly: a stream
ends with an ``error`` event and a whole HTTP body, a WebSocket hears a 500 error event and
stays open, a plain request gets the 500 envelope. Each is logged with its traceback."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest
from trio_websocket import open_websocket_url as connect

from openresponses.gateway import run
from tests.e2e.sse_client import AUTH, stream_events
from tests.e2e.test_websocket import AUTH as WS_AUTH
from tests.e2e.test_websocket import create, until_done, ws_url
from tests.spec import check


class Bug(Exception):
    """The unexpected failure."""


@pytest.fixture
def failing_saves(monkeypatch: pytest.MonkeyPatch) -> None:
    async def save(*_: Any) -> None:
        raise Bug("the store broke in an unexpected way")

    monkeypatch.setattr(run, "save_response", save)


@pytest.mark.usefixtures("failing_saves")
async def test_a_stream_ends_with_an_error_event(
    gateway_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    events = await stream_events(gateway_url, {"model": "groq@m", "input": "hi"})
    error = events[-1]
    check("openai", "ResponseStreamEvent", error)
    assert (error["type"], error["code"]) == ("error", "internal")
    assert error["sequence_number"] == events[-2]["sequence_number"] + 1
    assert "Bug: the store broke" in caplog.text


@pytest.mark.usefixtures("failing_saves")
async def test_a_websocket_hears_a_500_and_stays_open(gateway_url: str) -> None:
    async with connect(ws_url(gateway_url), extra_headers=WS_AUTH) as ws:
        for _ in range(2):
            await create(ws, input="hi")
            events = await until_done(ws)
            assert (events[-1]["status"], events[-1]["error"]["code"]) == (500, "internal")


@pytest.mark.usefixtures("failing_saves")
async def test_a_plain_request_gets_the_500_envelope(gateway_url: str) -> None:
    async with httpx2.AsyncClient(timeout=10) as http:
        response = await http.post(f"{gateway_url}/responses", headers=AUTH,
                                   json={"model": "groq@m", "input": "hi"})
    assert response.status_code == 500
    assert json.loads(response.text)["error"]["code"] == "internal"
