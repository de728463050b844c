"""Read a gateway SSE stream raw (bytes → event dicts), to validate exactly what was sent."""

from __future__ import annotations

import json
from typing import Any

import httpx2

from tests.e2e.conftest import CLIENT_KEY

AUTH = {"authorization": f"Bearer {CLIENT_KEY}"}


def parse_sse(raw: bytes) -> list[dict[str, Any]]:
    """Every ``data:`` payload of an SSE body, checking ``event:`` matches ``data.type``."""
    events = []
    for frame in raw.decode().split("\n\n"):
        if not frame.strip():
            continue
        lines = dict(line.split(": ", 1) for line in frame.split("\n"))
        event = json.loads(lines["data"])
        assert lines["event"] == event["type"]
        events.append(event)
    return events


async def stream_events(gateway_url: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    """POST a streaming /responses request and return its events."""
    async with httpx2.AsyncClient(timeout=10) as http:
        response = await http.post(f"{gateway_url}/responses", json={**body, "stream": True},
                                   headers=AUTH)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    return parse_sse(response.content)
