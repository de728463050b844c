"""Two gateway processes on different ports sharing PostgreSQL and Redis behave as one gateway:
a response created on one is retrieved, continued and deleted on the other; a rate limit is
counted across both; one killed with SIGKILL mid-stream leaves the other serving, and every
response a client saw completed can still be read.

Needs the test PostgreSQL and Redis (tests/services.py). The store lives in a schema of this
test's own (``?options=-c search_path=…``), dropped afterwards; the limits under a key prefix of
its own, deleted afterwards.
"""

from __future__ import annotations

import json
import signal
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import attrs
import httpx2
import psycopg
import pytest
import trio

from tests.e2e.conftest import CLIENT_KEY, gateway_env
from tests.e2e.live import AUTH, until
from tests.e2e.processes import GatewayProcess, gateway_process
from tests.fakes.script import Script
from tests.fakes.upstream import FakeUpstream
from tests.openresponses.gateway.limiter_backends import delete_keys, fresh_prefix
from tests.services import postgres_url, redis_url

BODY = {"model": "groq@llama", "input": "hello"}
KEY_PER_DAY = 100


def drop_schema(url: str, schema: str) -> None:
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture
async def shared(upstream: FakeUpstream, tmp_path: Path) -> AsyncIterator[dict[str, str]]:
    """The environment of gateways sharing a fresh PostgreSQL schema and Redis prefix."""
    pg, redis, prefix = postgres_url(), redis_url(), fresh_prefix()
    schema = f"multiprocess_{uuid.uuid4().hex[:12]}"
    yield {
        **gateway_env(upstream, tmp_path),
        "OPENRESPONSES_STORE": f"{pg}?options=-c%20search_path%3D{schema}",
        "OPENRESPONSES_REDIS_URL": redis,
        "OPENRESPONSES_REDIS_PREFIX": prefix,
        "OPENRESPONSES_RATE_LIMIT_IP_PER_MINUTE": "0",
        "OPENRESPONSES_RATE_LIMIT_KEY_PER_DAY": str(KEY_PER_DAY),
    }
    await trio.to_thread.run_sync(drop_schema, pg, schema)
    await trio.to_thread.run_sync(delete_keys, redis, prefix)


@attrs.define
class Streams:
    """What clients saw of streamed responses: ids created, final responses completed."""

    created: dict[str, str] = attrs.Factory(dict)  # id -> the gateway's root
    completed: dict[str, dict[str, Any]] = attrs.Factory(dict)

    async def one(self, http: httpx2.AsyncClient, root: str) -> None:
        """Stream one response from ``root`` to its end, or until the gateway dies."""
        try:
            async with http.stream("POST", f"{root}/v1/responses", headers=AUTH,
                                   json={**BODY, "stream": True}) as response:
                async for line in response.aiter_lines():
                    if not line.startswith("data: "):
                        continue
                    event = json.loads(line[6:])
                    if event["type"] == "response.created":
                        self.created[event["response"]["id"]] = root
                    elif event["type"] == "response.completed":
                        self.completed[event["response"]["id"]] = event["response"]
        except httpx2.HTTPError:
            pass  # the gateway was killed under us

    def completed_on(self, root: str) -> int:
        return sum(self.created[rid] == root for rid in self.completed)


async def post(http: httpx2.AsyncClient, root: str, **body: Any) -> dict[str, Any]:
    response = await http.post(f"{root}/v1/responses", json={**BODY, **body}, headers=AUTH)
    assert response.status_code == 200, response.text
    created: dict[str, Any] = response.json()
    return created


async def read(http: httpx2.AsyncClient, root: str, response_id: str) -> httpx2.Response:
    return await http.get(f"{root}/v1/responses/{response_id}", headers=AUTH)


async def create_retrieve_chain_delete(upstream: FakeUpstream, a: GatewayProcess,
                                       b: GatewayProcess, http: httpx2.AsyncClient) -> None:
    first = await post(http, a.root)
    assert (await read(http, b.root, first["id"])).json() == first
    second = await post(http, b.root, input="and again", previous_response_id=first["id"])
    sent = json.dumps(upstream.last().body["messages"])  # B loaded A's turn from the store
    assert "hello" in sent
    assert first["output"][0]["content"][0]["text"] in sent
    items = await http.get(f"{a.root}/v1/responses/{second['id']}/input_items", headers=AUTH)
    assert [item["content"][0]["text"] for item in items.json()["data"]] == ["and again"]
    deleted = await http.delete(f"{b.root}/v1/responses/{first['id']}", headers=AUTH)
    assert deleted.json()["deleted"] is True
    assert (await read(http, a.root, first["id"])).status_code == 404
    assert (await read(http, a.root, second["id"])).json() == second


async def a_limit_counted_across_both(a: GatewayProcess, b: GatewayProcess,
                                      http: httpx2.AsyncClient) -> None:
    """A fresh key's daily limit, spent alternately on A and B."""
    key = {"authorization": f"Bearer sk-limited-{uuid.uuid4().hex[:8]}"}
    remaining = []
    for i in range(KEY_PER_DAY):
        answer = await http.get(f"{(a, b)[i % 2].root}/v1/responses/resp_none", headers=key)
        assert answer.status_code == 404
        remaining.append(int(answer.headers["x-ratelimit-remaining-requests"]))
    assert remaining == list(range(KEY_PER_DAY - 1, -1, -1))
    for gateway in (a, b):
        refused = await http.get(f"{gateway.root}/v1/responses/resp_none", headers=key)
        assert refused.status_code == 429
        assert refused.json()["error"]["code"] == "rate_limit"


async def kill_a_mid_stream(upstream: FakeUpstream, a: GatewayProcess, b: GatewayProcess,
                            http: httpx2.AsyncClient) -> Streams:
    """Streams on both; SIGKILL A once some of its streams completed and others are open."""
    upstream.queue(*[Script(chunks=8, delay=0.1) for _ in range(40)])
    streams = Streams()
    async with trio.open_nursery() as nursery:
        for i in range(24):
            nursery.start_soon(streams.one, http, (a, a, b)[i % 3].root)
            await trio.sleep(0.05)
        with trio.fail_after(20):
            await until(lambda: streams.completed_on(a.root) >= 3)
        a.process.kill()
        await a.process.wait()
        after = await post(http, b.root)  # B serves on while A is gone
        assert (await read(http, b.root, after["id"])).json() == after
    assert a.process.returncode == -signal.SIGKILL
    return streams


async def test_two_gateways_sharing_postgres_and_redis_behave_as_one(
    upstream: FakeUpstream, tmp_path: Path, shared: dict[str, str]
) -> None:
    async with gateway_process(shared, tmp_path) as a, gateway_process(shared, tmp_path) as b:
        assert a.root != b.root
        async with httpx2.AsyncClient(timeout=20) as http:
            await create_retrieve_chain_delete(upstream, a, b, http)
            await a_limit_counted_across_both(a, b, http)
            streams = await kill_a_mid_stream(upstream, a, b, http)
            unfinished = set(streams.created) - set(streams.completed)
            assert any(streams.created[rid] == a.root for rid in unfinished), \
                "the kill should land while A has streams open"
            assert streams.completed_on(b.root) == sum(r == b.root
                                                        for r in streams.created.values())
            for response_id, final in streams.completed.items():  # acknowledged: all readable
                assert (await read(http, b.root, response_id)).json() == final
            for response_id in unfinished:  # never half-written
                got = await read(http, b.root, response_id)
                assert got.status_code == 404 or got.json()["status"] in ("completed", "failed")
        b.process.send_signal(signal.SIGTERM)
        with trio.fail_after(20):
            assert await b.process.wait() == 0
    text = "\n".join(a.lines + b.lines)
    assert CLIENT_KEY not in text
    assert shared["OPENRESPONSES_STORE"] not in text
