"""What operators see: /metrics, /health, /ready, request ids, JSON access lines, and no key
in any log line of the whole test run."""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any

import httpx2
import pytest
import trio

from tests.e2e.conftest import CLIENT_KEY
from tests.e2e.live import AUTH, scrape, until, value
from tests.e2e.sse_client import stream_events
from tests.fakes.keys import FUZZ_CLIENT_KEY, GROQ_PROVIDER_KEY, OPENAI_PROVIDER_KEY, PROVIDER_KEYS
from tests.fakes.upstream import ErrorReply, FakeUpstream
from tests.log_capture import CAPTURE

KEY_PREFIX = hashlib.sha256(CLIENT_KEY.encode()).hexdigest()[:12]


@pytest.fixture
def gateway_extra_env() -> dict[str, str]:
    """Server-side provider keys, so the log grep has provider keys to look for."""
    return {"GROQ_API_KEY": GROQ_PROVIDER_KEY, "OPENAI_API_KEY": OPENAI_PROVIDER_KEY}


def root_of(gateway_url: str) -> str:
    return gateway_url.removesuffix("/v1")


def find_access_line(request_id: str) -> dict[str, Any] | None:
    for line in reversed(CAPTURE.lines):
        record: dict[str, Any] = json.loads(line)
        if record.get("logger") == "openresponses.access" and (
            record.get("request_id") == request_id
        ):
            return record
    return None


async def access_line(request_id: str) -> dict[str, Any]:
    """The access log line of one request (written just after its last byte was sent)."""
    with trio.fail_after(2):
        await until(lambda: find_access_line(request_id) is not None)
    record = find_access_line(request_id)
    assert record is not None
    return record


async def test_metrics_count_requests_latency_tokens_and_actors(gateway_url: str) -> None:
    root = root_of(gateway_url)
    await stream_events(gateway_url, {"model": "groq@m", "input": "hi"})
    async with httpx2.AsyncClient(timeout=10) as http:
        response = await http.post(f"{gateway_url}/responses", headers=AUTH,
                                   json={"model": "groq@m", "input": "hi"})
        assert response.status_code == 200
        exposition = await http.get(f"{root}/metrics")
        samples = await scrape(http, root)
    assert exposition.headers["content-type"].startswith("text/plain")
    groq = {"provider": "groq", "model": "m"}
    assert value(samples, "openresponses_http_requests_total", route="/v1/responses",
                 method="POST", provider="groq", status="200") == 2
    assert value(samples, "openresponses_http_request_duration_seconds_count",
                 route="/v1/responses") == 2
    assert value(samples, "openresponses_gateway_overhead_seconds_count",
                 route="/v1/responses") == 2
    assert value(samples, "openresponses_upstream_duration_seconds_count", **groq) == 2
    assert value(samples, "openresponses_time_to_first_token_seconds_count", **groq) == 2
    assert value(samples, "openresponses_model_calls_total", outcome="ok", **groq) == 2
    assert value(samples, "openresponses_tokens_total", direction="input", **groq) == 22
    assert value(samples, "openresponses_tokens_total", direction="output", **groq) == 14
    assert value(samples, "openresponses_active_streams", provider="groq") == 0
    assert value(samples, "openresponses_actor_mailbox_capacity", actor="storage") == 4096
    assert ("openresponses_actor_restarts_total", '{"actor": "provider:groq"}') in samples
    for name in ("openresponses_rate_limited", "openresponses_upstream_retries",
                 "openresponses_breaker_state", "openresponses_breaker_trips"):
        assert f"# TYPE {name}" in exposition.text


async def test_request_id_is_echoed_when_sane_and_minted_otherwise(gateway_url: str) -> None:
    root = root_of(gateway_url)
    async with httpx2.AsyncClient(timeout=10) as http:
        echoed = await http.get(f"{root}/health", headers={"x-request-id": "trace-42.a:b"})
        minted = await http.get(f"{root}/health", headers={"x-request-id": "bad id\t<x>"})
        absent = await http.get(f"{root}/health")
    assert echoed.headers["x-request-id"] == "trace-42.a:b"
    assert minted.headers["x-request-id"].startswith("req_")
    assert absent.headers["x-request-id"].startswith("req_")
    assert minted.headers["x-request-id"] != absent.headers["x-request-id"]


async def test_health_and_ready(gateway_url: str) -> None:
    root = root_of(gateway_url)
    async with httpx2.AsyncClient(timeout=10) as http:
        health = await http.get(f"{root}/health")
        ready = await http.get(f"{root}/ready")
    assert health.json() == {"status": "ok"}
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready",
                            "checks": {"actors": "ok", "store": "ok", "draining": False},
                            "pid": os.getpid()}  # the process that answered (--workers)


async def test_one_json_access_line_per_request(gateway_url: str) -> None:
    async with httpx2.AsyncClient(timeout=10) as http:
        await http.post(f"{gateway_url}/responses", json={"model": "groq@m", "input": "hi"},
                        headers={**AUTH, "x-request-id": "access-line-1"})
        await http.post(f"{gateway_url}/responses", json={"model": "groq@m", "input": "hi",
                                                          "stream": True},
                        headers={**AUTH, "x-request-id": "access-line-2"})
        await http.get(f"{gateway_url}/responses/resp_nope",
                       headers={**AUTH, "x-request-id": "access-line-3"})
    plain, streamed, missing = [await access_line(f"access-line-{n}") for n in (1, 2, 3)]
    for record in (plain, streamed):
        assert record["key"] == KEY_PREFIX
        assert (record["provider"], record["model"], record["status"]) == ("groq", "m", 200)
        assert (record["input_tokens"], record["output_tokens"]) == (11, 7)
        assert record["latency_ms"] >= record["upstream_ms"] > 0
        assert record["route"] == "/v1/responses"
    assert streamed["ttft_ms"] > 0
    assert (missing["status"], missing["route"]) == (404, "/v1/responses/<response_id>")
    assert "provider" not in missing


async def test_upstream_echoing_the_provider_key_is_masked(
    gateway_url: str, upstream: FakeUpstream
) -> None:
    message = f"Incorrect API key provided: {GROQ_PROVIDER_KEY}. Bearer {GROQ_PROVIDER_KEY}"
    upstream.queue(ErrorReply(401, {"error": {"message": message, "type": "invalid_key"}}))
    async with httpx2.AsyncClient(timeout=10) as http:
        response = await http.post(f"{gateway_url}/responses", headers=AUTH,
                                   json={"model": "groq@m", "input": "hi"})
    assert response.status_code == 401
    assert GROQ_PROVIDER_KEY not in response.text
    assert upstream.last().headers["authorization"] == f"Bearer {GROQ_PROVIDER_KEY}"


def test_no_key_appears_in_any_log_output() -> None:
    """Runs last (tests/conftest.py): every line logged by every test of the run."""
    lines = CAPTURE.lines
    if not any('"openresponses.access"' in line for line in lines):
        pytest.skip("no gateway ran in this session")
    text = "\n".join(lines)
    for secret in (CLIENT_KEY, FUZZ_CLIENT_KEY, *PROVIDER_KEYS):
        assert secret not in text, f"a key leaked into the logs: {secret[:6]}…"
