"""How the provider pool reads an upstream body and sends its own: a plain stream is read from
the connection's chunks (no decode layers), a content-encoded one is still decoded, and the
request body sent is the JSON the protocol built."""

from __future__ import annotations

import gzip
import json
from typing import Any

import attrs
import httpx2
import pytest

from actors import ActorRef
from actors.testing import started
from openresponses.config import ProviderConfig
from openresponses.gateway.pool_messages import (
    READY,
    PoolMessage,
    RawRequest,
    StreamTurn,
    TurnEvent,
)
from openresponses.gateway.provider_pool import ProviderPool
from openresponses.gateway.turn_source import turn_events
from openresponses.providers.registry import protocol_for_provider
from openresponses.schema.model_call import ModelCall
from openresponses.schema.model_events import TextDelta
from tests.fakes.script import Script, chat_stream

SSE = b"".join(chat_stream(Script(text="hello there"), "m"))


@attrs.define
class Upstream:
    """Answers every request with ``SSE``, gzipped when ``encoding`` is "gzip"."""

    encoding: str | None = None
    seen: list[httpx2.Request] = attrs.Factory(list)

    async def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.seen.append(request)
        headers = {"content-type": "text/event-stream"}
        if self.encoding is None:
            return httpx2.Response(200, content=SSE, headers=headers)
        headers["content-encoding"] = self.encoding
        body = gzip.compress(SSE) if self.encoding == "gzip" else SSE
        return httpx2.Response(200, content=body, headers=headers)


def pool(upstream: Upstream) -> Any:
    config = ProviderConfig("groq", "chat", "http://upstream.test/v1", ("k1",))
    return started(lambda: ProviderPool(config, protocol_for_provider("groq", "chat"),
                                        httpx2.MockTransport(upstream)))


async def turn(ref: ActorRef[PoolMessage]) -> list[TurnEvent]:
    call = ModelCall(provider="groq", model="m", stream=True,
                     input=[{"type": "message", "role": "user", "content": "hi"}])
    async with turn_events(ref, StreamTurn(call), nowait=False) as events:
        return [event async for event in events]


@pytest.mark.parametrize("encoding", [None, "identity", "gzip"])
async def test_a_stream_is_read_whole_whatever_its_content_encoding(
    encoding: str | None,
) -> None:
    upstream = Upstream(encoding)
    async with pool(upstream) as ref:
        events = await turn(ref)
    assert events[0] is READY
    assert "".join(e.delta for e in events if isinstance(e, TextDelta)) == "hello there"


@pytest.mark.parametrize("encoding", [None, "gzip"])
async def test_a_raw_stream_is_relayed_decoded(encoding: str | None) -> None:
    upstream = Upstream(encoding)
    async with pool(upstream) as ref, ref.stream(
        RawRequest(method="POST", path="/chat/completions", body={"stream": True},
                   stream=True)
    ) as items:
        found = [item async for item in items]
    assert found[0] is READY
    assert b"".join(item for item in found[1:] if isinstance(item, bytes)) == SSE


async def test_the_request_body_is_the_protocols_json() -> None:
    upstream = Upstream()
    async with pool(upstream) as ref:
        await turn(ref)
    [request] = upstream.seen
    body = json.loads(request.content)
    assert body["model"] == "m"
    assert body["stream"] is True
    assert body["messages"][-1]["content"] == "hi"
