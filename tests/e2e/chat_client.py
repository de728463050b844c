"""Raw ``/chat/completions`` calls (bytes → JSON), to check exactly what the gateway sent."""

from __future__ import annotations

import json
from typing import Any

import httpx2

from tests.e2e.conftest import CLIENT_KEY

AUTH = {"authorization": f"Bearer {CLIENT_KEY}"}


def loopback_client(timeout: float = 10) -> httpx2.AsyncClient:
    """A client for the gateway on loopback (plain HTTP: no CA bundle to load, ~100 ms each)."""
    return httpx2.AsyncClient(timeout=timeout, verify=False)


def parse_chat_sse(raw: bytes) -> tuple[list[dict[str, Any]], bool]:
    """The ``data:`` payloads of a chat SSE body (no ``event:`` lines allowed), and whether it
    ended with ``data: [DONE]``."""
    chunks: list[dict[str, Any]] = []
    done = False
    for frame in raw.decode().split("\n\n"):
        if not frame.strip():
            continue
        assert not done, "data after [DONE]"
        assert frame.startswith("data: "), frame
        assert "\n" not in frame, frame
        payload = frame.removeprefix("data: ")
        if payload == "[DONE]":
            done = True
        else:
            chunks.append(json.loads(payload))
    return chunks, done


async def post_chat(gateway_url: str, body: dict[str, Any],
                    headers: dict[str, str] | None = None) -> tuple[int, Any]:
    """POST a non-stream request; (status, decoded body)."""
    async with loopback_client() as http:
        response = await http.post(f"{gateway_url}/chat/completions", json=body,
                                   headers=AUTH if headers is None else headers)
    return response.status_code, response.json()


async def stream_chat(gateway_url: str, body: dict[str, Any]
                      ) -> tuple[list[dict[str, Any]], bool]:
    """POST a streaming request that must be accepted; (chunks, ended with [DONE])."""
    async with loopback_client() as http:
        response = await http.post(f"{gateway_url}/chat/completions", json=body, headers=AUTH)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    return parse_chat_sse(response.content)
