"""The provider pool's ``RawRequest`` (Chat Completions passthrough, model lists) and
``StreamTurn.extra_body``, against MockTransport upstreams."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx2
import pytest

from actors import ActorRef
from actors.testing import started
from openresponses.config import ProviderConfig
from openresponses.errors import GatewayError
from openresponses.gateway.pool_messages import (
    READY,
    PoolMessage,
    RawItem,
    RawRequest,
    StreamTurn,
    UpstreamReady,
)
from openresponses.gateway.provider_pool import ProviderPool
from openresponses.gateway.resilience import RetryPolicy
from openresponses.providers.registry import protocol_for_provider
from openresponses.schema.model_call import ModelCall
from tests.transcripts import load

GROQ = ProviderConfig("groq", "chat", "http://groq.test/openai/v1")
CLAUDE = ProviderConfig("anthropic", "anthropic", "http://claude.test")


class Recorder:
    """Answers every request with ``status`` and ``body``; keeps what it was sent."""

    def __init__(self, body: bytes, status: int = 200, content_type: str = "text/plain"):
        self.body, self.status, self.content_type = body, status, content_type
        self.seen: list[httpx2.Request] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.seen.append(request)
        return httpx2.Response(self.status, content=self.body,
                               headers={"content-type": self.content_type})


@asynccontextmanager
async def pool(config: ProviderConfig, upstream: Recorder
               ) -> AsyncIterator[ActorRef[PoolMessage]]:
    def factory() -> ProviderPool:
        return ProviderPool(config, protocol_for_provider(config.name, config.api),
                            httpx2.MockTransport(upstream), retry=RetryPolicy(retries=0))

    async with started(factory) as ref:
        yield ref


async def collect(ref: ActorRef[PoolMessage], message: RawRequest) -> list[RawItem]:
    """The answer's items after ``READY`` (which must come first)."""
    async with ref.stream(message) as items:
        found = [item async for item in items]
    assert found[0] is READY
    return [item for item in found[1:] if not isinstance(item, UpstreamReady)]


async def test_a_json_answer_is_one_dict_and_the_callers_key_is_sent() -> None:
    upstream = Recorder(load("D01").body, content_type="application/json")
    async with pool(GROQ, upstream) as ref:
        items = await collect(ref, RawRequest(method="POST", path="/chat/completions",
                                              body={"model": "m", "messages": []},
                                              client_key="caller-key"))
    assert items == [load("D01").json()]
    sent = upstream.seen[0]
    assert str(sent.url) == "http://groq.test/openai/v1/chat/completions"
    assert sent.headers["authorization"] == "Bearer caller-key"
    assert json.loads(sent.content) == {"model": "m", "messages": []}


async def test_a_stream_is_relayed_as_raw_bytes() -> None:
    body = load("D02").body
    upstream = Recorder(body, content_type="text/event-stream")
    async with pool(GROQ, upstream) as ref:
        items = await collect(ref, RawRequest(method="POST", path="/chat/completions",
                                              body={"stream": True}, stream=True))
    assert all(isinstance(i, bytes) for i in items)
    assert b"".join(i for i in items if isinstance(i, bytes)) == body
    assert upstream.seen[0].headers["accept"] == "text/event-stream"


@pytest.mark.parametrize(("config", "name", "status"), [(GROQ, "E15", 404), (CLAUDE, "E12", 404),
                                                        (CLAUDE, "E09", 401)])
@pytest.mark.parametrize("stream", [False, True])
async def test_http_errors_are_mapped_by_the_protocol(
    config: ProviderConfig, name: str, status: int, stream: bool
) -> None:
    recorded = load(name)
    upstream = Recorder(recorded.body, recorded.status, "application/json")
    async with pool(config, upstream) as ref:
        with pytest.raises(GatewayError) as raised:
            await collect(ref, RawRequest(method="POST", path="/x", body={}, stream=stream))
    assert raised.value.status == status
    assert raised.value.message


async def test_a_get_sends_no_body() -> None:
    upstream = Recorder(b'{"data": []}', content_type="application/json")
    async with pool(CLAUDE, upstream) as ref:
        assert await collect(ref, RawRequest(method="GET", path="/v1/models",
                                             client_key="k")) == [{"data": []}]
    sent = upstream.seen[0]
    assert (sent.method, sent.content, sent.headers["x-api-key"]) == ("GET", b"", "k")


async def test_extra_body_is_merged_over_the_built_request() -> None:
    upstream = Recorder(load("C08").body, content_type="application/json")
    call = ModelCall(provider="anthropic", model="claude", stream=False,
                     input=[{"type": "message", "role": "user", "content": "hi"}])
    async with pool(CLAUDE, upstream) as ref:
        turn = StreamTurn(call, extra_body={"stop_sequences": ["END"]})
        async with ref.stream(turn) as events:
            found: list[Any] = [event async for event in events]
    assert found
    sent = json.loads(upstream.seen[0].content)
    assert (sent["model"], sent["stop_sequences"]) == ("claude", ["END"])
