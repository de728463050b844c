"""Resilient upstream calls through a real gateway: retries honour Retry-After, nothing is
retried once output was streamed, model aliases fall back in order, the breaker fails fast."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio

from tests.e2e.keys_helpers import create_response, error_of
from tests.e2e.sse_client import stream_events
from tests.fakes.script import Script
from tests.fakes.upstream import ErrorReply, FakeUpstream

KEY = "sk-client-000001"
FAILED = {"error": {"message": "down", "type": "server_error", "param": None, "code": None}}
SLOW_DOWN = {"error": {"message": "slow down", "type": "rate_limit", "param": None,
                       "code": None}}
CONFIG = """
[models.fast]
targets = ["groq@llama-fast", "openai@gpt-backup"]
"""


@pytest.fixture
def gateway_extra_env(tmp_path: Path) -> dict[str, str]:
    config = tmp_path / "openresponses.toml"
    config.write_text(CONFIG)
    return {"OPENRESPONSES_UPSTREAM_RETRIES": "2", "OPENRESPONSES_CONFIG": str(config)}


async def test_a_429_is_retried_after_its_retry_after(
    gateway_url: str, upstream: FakeUpstream
) -> None:
    upstream.queue(ErrorReply(429, SLOW_DOWN, {"retry-after": "1"}))
    started = trio.current_time()
    response = await create_response(gateway_url, KEY)
    assert response.status_code == 200, response.text
    assert trio.current_time() - started >= 1.0
    assert len(upstream.received) == 2


async def test_retries_end_with_the_upstream_error(
    gateway_url: str, upstream: FakeUpstream
) -> None:
    upstream.queue(*[ErrorReply(500, FAILED)] * 3)
    response = await create_response(gateway_url, KEY)
    assert response.status_code == 502
    assert error_of(response)["type"] == "server_error"
    assert len(upstream.received) == 3  # the first try and two retries


async def test_nothing_is_retried_once_output_was_streamed(
    gateway_url: str, upstream: FakeUpstream
) -> None:
    upstream.queue(Script(text="partial answer here", chunks=3, error_after=1))
    events = await stream_events(gateway_url, {"model": "groq@m", "input": "x"})
    assert events[-1]["type"] == "response.failed"
    assert any(e["type"] == "response.output_text.delta" for e in events)
    assert len(upstream.received) == 1


async def test_an_alias_falls_back_to_its_next_target(
    gateway_url: str, upstream: FakeUpstream
) -> None:
    upstream.queue(*[ErrorReply(503, FAILED)] * 3, Script(text="from the backup"))
    response = await create_response(gateway_url, KEY, model="fast")
    assert response.status_code == 200, response.text
    assert response.json()["output_text"] == "from the backup"
    paths = [(r.path, r.body["model"]) for r in upstream.received]
    assert paths == [("/openai/v1/chat/completions", "llama-fast")] * 3 + [
        ("/v1/responses", "gpt-backup")]


async def test_an_alias_uses_its_first_target_when_it_answers(
    gateway_url: str, upstream: FakeUpstream
) -> None:
    events = await stream_events(gateway_url, {"model": "fast", "input": "x"})
    assert events[-1]["type"] == "response.completed"
    assert [r.body["model"] for r in upstream.received] == ["llama-fast"]


async def test_an_alias_does_not_fall_back_on_a_bad_request(
    gateway_url: str, upstream: FakeUpstream
) -> None:
    bad = {"error": {"message": "bad input", "type": "invalid_request_error", "param": "input",
                     "code": None}}
    upstream.queue(ErrorReply(400, bad))
    response = await create_response(gateway_url, KEY, model="fast")
    assert response.status_code == 400
    assert len(upstream.received) == 1


@pytest.mark.parametrize("gateway_extra_env", [{"OPENRESPONSES_UPSTREAM_RETRIES": "0"}])
async def test_the_breaker_fails_fast_after_repeated_failures(
    gateway_url: str, upstream: FakeUpstream
) -> None:
    upstream.queue(*[ErrorReply(503, FAILED)] * 5)
    for _ in range(5):
        assert (await create_response(gateway_url, KEY)).status_code == 503
    response = await create_response(gateway_url, KEY)
    assert response.status_code == 503
    assert error_of(response)["code"] == "circuit_open"
    assert int(response.headers["retry-after"]) > 0
    assert len(upstream.received) == 5  # the sixth never reached the provider
    other = await create_response(gateway_url, KEY, model="openai@gpt-4o")
    assert other.status_code == 200  # the breaker is per provider
