"""The provider pool's retries, key rotation and breaker, against a scripted MockTransport on
the autojump clock: failures before the upstream accepted are retried, never after."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import attrs
import httpx2
import pytest
import trio
import trio.testing

from actors import ActorRef
from actors.testing import started
from openresponses.config import ProviderConfig
from openresponses.errors import GatewayError
from openresponses.gateway.pool_messages import READY, PoolMessage, StreamTurn, TurnEvent
from openresponses.gateway.provider_pool import ProviderPool
from openresponses.gateway.resilience import CircuitBreaker, RetryPolicy
from openresponses.gateway.turn_source import turn_events
from openresponses.observability.metrics import BREAKER_CLOSED, BREAKER_OPEN, Metrics
from openresponses.providers.registry import protocol_for_provider
from openresponses.schema.model_call import ModelCall
from openresponses.schema.model_events import TextDelta
from tests.fakes.script import Script, chat_body, chat_stream

ERROR = {"error": {"message": "nope", "type": "server_error", "param": None, "code": None}}


@attrs.frozen
class Fail:
    status: int
    headers: dict[str, str] = attrs.field(factory=dict)


@attrs.frozen
class Broken:
    """A 200 stream whose connection breaks after its first chunk."""


Reply = Fail | Broken | Exception | None  # None: a good answer


@attrs.define
class Upstream:
    """Answers queued replies in order (then good answers); records when and with which key."""

    replies: list[Reply] = attrs.Factory(list)
    seen: list[tuple[float, str]] = attrs.Factory(list)

    async def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.seen.append((trio.current_time(), request.headers.get("authorization", "")))
        reply = self.replies.pop(0) if self.replies else None
        if isinstance(reply, Exception):
            raise reply
        if isinstance(reply, Fail):
            return httpx2.Response(reply.status, json=ERROR, headers=reply.headers)
        stream = json.loads(request.content).get("stream")
        if isinstance(reply, Broken):
            return httpx2.Response(200, content=_broken(chat_stream(Script(), "m")))
        if stream:
            return httpx2.Response(200, content=b"".join(chat_stream(Script(text="ok"), "m")))
        return httpx2.Response(200, json=chat_body(Script(text="ok"), "m"))

    @property
    def keys(self) -> list[str]:
        return [key.removeprefix("Bearer ") for _, key in self.seen]


async def _broken(chunks: list[bytes]) -> AsyncIterator[bytes]:
    yield chunks[0] + chunks[1]
    raise httpx2.ReadError("connection reset")


def pool(upstream: Upstream, *, keys: tuple[str, ...] = ("k1",), retries: int = 2,
         breaker: CircuitBreaker | None = None, metrics: Metrics | None = None) -> Any:
    config = ProviderConfig("groq", "chat", "http://upstream.test/v1", keys)
    policy = RetryPolicy(retries=retries)
    return started(lambda: ProviderPool(
        config, protocol_for_provider("groq", "chat"), httpx2.MockTransport(upstream),
        retry=policy, breaker=breaker, metrics=metrics,
    ))


def sample(metrics: Metrics, name: str) -> float:
    value = metrics.registry.get_sample_value(name, {"provider": "groq"})
    return 0.0 if value is None else value


async def turn(ref: ActorRef[PoolMessage], *, stream: bool = True) -> list[TurnEvent]:
    call = ModelCall(provider="groq", model="m", stream=stream,
                     input=[{"type": "message", "role": "user", "content": "hi"}])
    async with turn_events(ref, StreamTurn(call, client_key="client"), nowait=False) as events:
        return [event async for event in events]  # non-stream: a CallTurn, one reply


def text(events: list[TurnEvent]) -> str:
    return "".join(e.delta for e in events if isinstance(e, TextDelta))


@pytest.mark.parametrize("stream", [True, False])
async def test_a_429_is_retried_after_its_retry_after(
    autojump_clock: trio.testing.MockClock, stream: bool
) -> None:
    upstream = Upstream([Fail(429, {"retry-after": "3"})])
    async with pool(upstream) as ref:
        events = await turn(ref, stream=stream)
    assert events[0] is READY
    assert text(events) == "ok"
    [(first, _), (second, _)] = upstream.seen
    assert second - first == pytest.approx(3.0)


@pytest.mark.parametrize("status", [500, 502, 503, 529])
async def test_server_errors_are_retried_with_backoff(
    autojump_clock: trio.testing.MockClock, status: int
) -> None:
    upstream = Upstream([Fail(status), Fail(status)])
    async with pool(upstream) as ref:
        assert text(await turn(ref)) == "ok"
    times = [t for t, _ in upstream.seen]
    assert len(times) == 3
    assert 0.25 <= times[1] - times[0] <= 0.5  # base 0.5 s, equal jitter
    assert 0.5 <= times[2] - times[1] <= 1.0  # doubled


async def test_connect_errors_are_retried(autojump_clock: trio.testing.MockClock) -> None:
    upstream = Upstream([httpx2.ConnectError("refused")])
    async with pool(upstream) as ref:
        assert text(await turn(ref)) == "ok"
    assert len(upstream.seen) == 2


async def test_retries_are_bounded_and_the_last_error_is_raised(
    autojump_clock: trio.testing.MockClock,
) -> None:
    upstream = Upstream([Fail(503)] * 5)
    async with pool(upstream, retries=2) as ref:
        with pytest.raises(GatewayError) as caught:
            await turn(ref)
    assert caught.value.status == 503
    assert len(upstream.seen) == 3


@pytest.mark.parametrize("status", [400, 404, 413, 422])
async def test_client_errors_are_not_retried(
    autojump_clock: trio.testing.MockClock, status: int
) -> None:
    upstream = Upstream([Fail(status)])
    async with pool(upstream) as ref:
        with pytest.raises(GatewayError):
            await turn(ref)
    assert len(upstream.seen) == 1


async def test_a_retry_after_beyond_the_cap_is_passed_to_the_client(
    autojump_clock: trio.testing.MockClock,
) -> None:
    upstream = Upstream([Fail(429, {"retry-after": "120"})])
    async with pool(upstream) as ref:
        with pytest.raises(GatewayError) as caught:
            await turn(ref)
    assert (caught.value.status, caught.value.retry_after) == (429, 120.0)
    assert len(upstream.seen) == 1


async def test_nothing_is_retried_once_the_stream_has_started(
    autojump_clock: trio.testing.MockClock,
) -> None:
    upstream = Upstream([Broken()])
    async with pool(upstream) as ref:
        call = ModelCall(provider="groq", model="m", stream=True,
                         input=[{"type": "message", "role": "user", "content": "hi"}])
        received: list[TurnEvent] = []

        async def consume() -> None:
            async with ref.stream(StreamTurn(call)) as events:
                async for event in events:
                    received.append(event)

        with pytest.raises(GatewayError) as caught:
            await consume()
    assert received[0] is READY
    assert caught.value.status == 502
    assert len(upstream.seen) == 1


async def test_server_keys_rotate_and_a_401_key_is_benched(
    autojump_clock: trio.testing.MockClock,
) -> None:
    upstream = Upstream([None, Fail(401)])
    async with pool(upstream, keys=("k1", "k2", "k3")) as ref:
        for _ in range(4):
            assert text(await turn(ref)) == "ok"
    # k2 refused: retried at once with k3; then k2 sits out while k1 and k3 take turns
    assert upstream.keys == ["k1", "k2", "k3", "k1", "k3"]
    assert upstream.seen[2][0] == upstream.seen[1][0]
    assert "client" not in upstream.keys  # server keys only


async def test_a_429_on_one_key_moves_to_the_next_without_waiting(
    autojump_clock: trio.testing.MockClock,
) -> None:
    upstream = Upstream([Fail(429, {"retry-after": "8"})])
    async with pool(upstream, keys=("k1", "k2")) as ref:
        assert text(await turn(ref)) == "ok"
        assert text(await turn(ref)) == "ok"
    assert upstream.keys == ["k1", "k2", "k2"]  # k1 benched for its 8 s
    assert upstream.seen[1][0] == upstream.seen[0][0]


async def test_a_single_key_refused_with_401_is_not_retried(
    autojump_clock: trio.testing.MockClock,
) -> None:
    upstream = Upstream([Fail(401)])
    async with pool(upstream, keys=("k1",)) as ref:
        with pytest.raises(GatewayError) as caught:
            await turn(ref)
    assert caught.value.status == 401
    assert len(upstream.seen) == 1


async def test_the_breaker_opens_fails_fast_and_closes_after_the_cool_down(
    autojump_clock: trio.testing.MockClock,
) -> None:
    breaker = CircuitBreaker(threshold=3, cooldown=30.0)
    metrics = Metrics()
    upstream = Upstream([Fail(503)] * 3)
    async with pool(upstream, retries=0, breaker=breaker, metrics=metrics) as ref:
        for _ in range(3):
            with pytest.raises(GatewayError):
                await turn(ref)
        with pytest.raises(GatewayError) as caught:
            await turn(ref)
        assert (caught.value.status, caught.value.code) == (503, "circuit_open")
        assert caught.value.retry_after == pytest.approx(30.0)
        assert len(upstream.seen) == 3  # failed fast: the upstream was not called
        assert sample(metrics, "openresponses_breaker_state") == BREAKER_OPEN
        assert sample(metrics, "openresponses_breaker_trips_total") == 1
        await trio.sleep(30)
        assert text(await turn(ref)) == "ok"
        assert breaker.state == "closed"
        assert sample(metrics, "openresponses_breaker_state") == BREAKER_CLOSED


async def test_retries_are_counted_in_the_metrics(
    autojump_clock: trio.testing.MockClock,
) -> None:
    metrics = Metrics()
    async with pool(Upstream([Fail(502), Fail(502)]), metrics=metrics) as ref:
        await turn(ref)
    assert sample(metrics, "openresponses_upstream_retries_total") == 2
