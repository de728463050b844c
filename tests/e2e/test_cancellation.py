"""A client that disconnects mid-stream cancels the upstream call; nothing is stored."""

from __future__ import annotations

import json
from contextlib import aclosing

import httpx2
import trio

from tests.e2e.conftest import CLIENT_KEY
from tests.fakes.script import Script
from tests.fakes.upstream import FakeUpstream

AUTH = {"authorization": f"Bearer {CLIENT_KEY}"}


async def test_disconnect_mid_stream_closes_the_upstream_request(
    gateway_url: str, upstream: FakeUpstream
) -> None:
    upstream.hold = trio.Event()  # the fake model stalls after its first chunk
    upstream.queue(Script(text="a long answer that never finishes", chunks=8))
    body = {"model": "groq@m", "input": "talk", "stream": True}
    async with httpx2.AsyncClient(timeout=5) as http:
        async with http.stream("POST", f"{gateway_url}/responses", json=body,
                               headers=AUTH) as response:
            assert response.status_code == 200
            first = b""
            async with aclosing(response.aiter_bytes()) as chunks:
                async for chunk in chunks:
                    first += chunk
                    if b"response.created" in first:
                        break
        closed_at = trio.current_time()
        with trio.fail_after(2):
            await upstream.disconnected.wait()
        elapsed = trio.current_time() - closed_at
        assert elapsed < 0.1, f"upstream still open {elapsed * 1000:.0f} ms after disconnect"
        created = json.loads(first.split(b"data: ", 1)[1].split(b"\n", 1)[0])
        response_id = created["response"]["id"]
        retrieved = await http.get(f"{gateway_url}/responses/{response_id}", headers=AUTH)
        assert retrieved.status_code == 404  # nothing half-written was stored
