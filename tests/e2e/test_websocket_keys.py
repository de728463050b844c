"""A WebSocket holds its key for up to an hour: a change to the key (revoked, narrowed, lower
limits) applies from the socket's next ``response.create``, as it does from the next HTTP
request. The upgrade's caller used to serve the whole session."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from trio_websocket import open_websocket_url as connect

from tests.e2e.keys_helpers import ADMIN_KEY, KEYS_MODE, call, create_key
from tests.e2e.test_websocket import TERMINAL, until_done, ws_url


@pytest.fixture
def gateway_extra_env() -> dict[str, str]:
    return KEYS_MODE


async def _create(ws: Any, model: str = "groq@m") -> dict[str, Any]:
    await ws.send_message(json.dumps({"type": "response.create", "model": model,
                                      "input": "hi"}))
    return (await until_done(ws))[-1]


async def _change(gateway_url: str, key_id: str, path: str = "", **body: Any) -> None:
    answer = await call("POST", f"{gateway_url}/admin/keys/{key_id}{path}", ADMIN_KEY, body)
    assert answer.status_code == 200, answer.text


def _auth(key: str) -> list[tuple[bytes, bytes]]:
    return [(b"authorization", f"Bearer {key}".encode())]


@asynccontextmanager
async def _served_session(gateway_url: str) -> AsyncIterator[tuple[Any, str]]:
    """A socket of a fresh key that has served one response; the socket and the key's id."""
    created = await create_key(gateway_url)
    async with connect(ws_url(gateway_url), extra_headers=_auth(created["key"])) as ws:
        assert (await _create(ws))["type"] in TERMINAL
        yield ws, created["id"]


async def test_a_key_revoked_during_a_session_is_refused_from_the_next_message(
    gateway_url: str
) -> None:
    async with _served_session(gateway_url) as (ws, key_id):
        await _change(gateway_url, key_id, "/revoke")
        refused = await _create(ws)
        assert (refused["status"], refused["error"]["code"]) == (401, "revoked_api_key")


async def test_narrowed_models_and_lower_limits_apply_from_the_next_message(
    gateway_url: str
) -> None:
    async with _served_session(gateway_url) as (ws, key_id):
        await _change(gateway_url, key_id, allowed=["claude@*"])
        refused = await _create(ws)
        assert (refused["status"], refused["error"]["type"]) == (403, "permission_error")
        await _change(gateway_url, key_id, allowed=[],
                      limits={"requests_per_day": 2})  # one used by the first response
        assert (await _create(ws))["type"] in TERMINAL
        limited = await _create(ws)
        assert (limited["status"], limited["error"]["type"]) == (429, "rate_limit_exceeded")
