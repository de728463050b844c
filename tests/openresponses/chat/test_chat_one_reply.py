"""A non-stream chat completion is one reply from the provider pool (``CallRaw`` relayed as
is, ``CallTurn`` translated), never a stream of one item; a streamed one is still a stream.
MockTransport providers; the pool records each message it serves."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import httpx2
import pytest

from actors import ActorRef
from actors.testing import started
from openresponses.auth import Caller
from openresponses.chat.request import parse_chat_request
from openresponses.chat.run import ChatRun
from openresponses.config import Config, ProviderConfig
from openresponses.errors import GatewayError
from openresponses.gateway.pool_messages import (
    READY,
    CallRaw,
    CallTurn,
    PoolMessage,
    RawRequest,
    StreamTurn,
)
from openresponses.gateway.provider_pool import ProviderPool
from openresponses.gateway.resilience import RetryPolicy
from openresponses.gateway.run import Gateway
from openresponses.gateway.turn_source import answered
from openresponses.providers.registry import protocol_for_provider
from tests.openresponses.chat.test_chat_raw_request import CLAUDE, GROQ, Recorder
from tests.transcripts import load

CALLER = Caller(owner="o", bearer="caller-key")
HI = [{"role": "user", "content": "hi"}]


def recorded_upstream(name: str, content_type: str = "application/json") -> Recorder:
    """An upstream answering every request with a recorded exchange's status and body."""
    recorded = load(name)
    return Recorder(recorded.body, recorded.status, content_type)


@asynccontextmanager
async def recording_pool(config: ProviderConfig, upstream: Recorder, messages: list[object]
                         ) -> AsyncIterator[ActorRef[PoolMessage]]:
    class Recording(ProviderPool):
        async def receive(self, message: Any) -> Any:
            messages.append(message)
            return await super().receive(message)

    async with started(lambda: Recording(config, protocol_for_provider(config.name, config.api),
                                         httpx2.MockTransport(upstream),
                                         retry=RetryPolicy(retries=0))) as ref:
        yield ref


@asynccontextmanager
async def gateway_of(config: ProviderConfig, upstream: Recorder, messages: list[object]
                     ) -> AsyncIterator[Gateway]:
    async with AsyncExitStack() as stack:
        ref = await stack.enter_async_context(recording_pool(config, upstream, messages))
        yield Gateway(config=Config(providers={config.name: config}),
                      providers={config.name: ref}, storage=None)  # type: ignore[arg-type]


async def test_a_passthrough_completion_is_one_call_raw_reply() -> None:
    messages: list[object] = []
    upstream = recorded_upstream("D01")
    async with gateway_of(GROQ, upstream, messages) as gateway:
        run = ChatRun(gateway, CALLER, parse_chat_request({"model": "groq@m", "messages": HI}))
        body = await run.completion()
    [message] = messages
    assert isinstance(message, CallRaw)
    assert body["object"] == "chat.completion"
    sent = load("D01").json()["choices"][0]["message"]["content"]
    assert body["choices"][0]["message"]["content"] == sent  # relayed from the upstream
    assert upstream.seen[0].headers["authorization"] == "Bearer caller-key"


async def test_a_translated_completion_is_one_call_turn_reply() -> None:
    messages: list[object] = []
    async with gateway_of(CLAUDE, recorded_upstream("C08"), messages) as gateway:
        run = ChatRun(gateway, CALLER, parse_chat_request({"model": "anthropic@claude",
                                                           "messages": HI}))
        body = await run.completion()
    [message] = messages
    assert isinstance(message, CallTurn)
    assert body["object"] == "chat.completion"
    assert body["choices"][0]["message"]["role"] == "assistant"


@pytest.mark.parametrize(("config", "name", "expected"), [
    (GROQ, "D02", RawRequest), (CLAUDE, "C09", StreamTurn)])
async def test_a_streamed_completion_is_still_streamed(
    config: ProviderConfig, name: str, expected: type
) -> None:
    messages: list[object] = []
    upstream = recorded_upstream(name, content_type="text/event-stream")
    async with gateway_of(config, upstream, messages) as gateway:
        run = ChatRun(gateway, CALLER, parse_chat_request(
            {"model": f"{config.name}@m", "messages": HI, "stream": True}))
        frames = [frame async for frame in run.frames()]
    [message] = messages
    assert isinstance(message, expected)
    assert frames[-1] == b"data: [DONE]\n\n"


async def test_call_raw_answers_ready_then_the_body_in_one_reply() -> None:
    messages: list[object] = []
    async with recording_pool(GROQ, recorded_upstream("D01"), messages) as ref:
        call = CallRaw(method="POST", path="/chat/completions", body={"model": "m"})
        assert await ref.ask(call) == [READY, load("D01").json()]
        async with answered(ref, call, nowait=True) as items:
            assert [item async for item in items] == [READY, load("D01").json()]


@pytest.mark.parametrize(("config", "name", "status"), [(GROQ, "E15", 404), (CLAUDE, "E09", 401)])
async def test_a_call_raw_error_is_mapped_by_the_protocol(
    config: ProviderConfig, name: str, status: int
) -> None:
    async with recording_pool(config, recorded_upstream(name), []) as ref:
        with pytest.raises(GatewayError) as raised:
            await ref.ask(CallRaw(method="POST", path="/x", body={}))
    assert raised.value.status == status
