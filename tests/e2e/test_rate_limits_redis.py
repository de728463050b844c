"""Rate limits in Redis through real gateways: one limit counted across two gateways, and the
answers when Redis cannot be reached (``OPENRESPONSES_RATE_LIMIT_ON_ERROR``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trio

from openresponses.config import load_config
from tests.e2e.conftest import gateway_env
from tests.e2e.keys_helpers import ADMIN_KEY, KEYS_MODE, call, create_response, error_of
from tests.e2e.live import closed_port, live_gateway
from tests.fakes.upstream import FakeUpstream
from tests.openresponses.gateway.limiter_backends import delete_keys, fresh_prefix
from tests.services import redis_url

KEY = "sk-client-000001"
PASSWORD = "redis-" + "secret-0001"


@pytest.fixture
async def shared_limits() -> AsyncIterator[dict[str, str]]:
    """Settings for gateways that share the test Redis under a prefix of this test's own."""
    url, prefix = redis_url(), fresh_prefix()
    yield {"OPENRESPONSES_REDIS_URL": url, "OPENRESPONSES_REDIS_PREFIX": prefix,
           "OPENRESPONSES_RATE_LIMIT_IP_PER_MINUTE": "3"}
    await trio.to_thread.run_sync(delete_keys, url, prefix)


async def test_a_limit_is_counted_across_two_gateways(
    upstream: FakeUpstream, tmp_path: Path, shared_limits: dict[str, str]
) -> None:
    one = load_config(env={**gateway_env(upstream, tmp_path / "one"), **shared_limits}, path=None)
    two = load_config(env={**gateway_env(upstream, tmp_path / "two"), **shared_limits}, path=None)
    async with live_gateway(one) as first, live_gateway(two) as second:
        answers = [await create_response(f"{root}/v1", KEY) for root in (first, second, first)]
        assert [a.status_code for a in answers] == [200, 200, 200]
        assert [a.headers["x-ratelimit-remaining-requests"] for a in answers] == ["2", "1", "0"]
        refused = await create_response(f"{second}/v1", KEY)
        assert refused.status_code == 429
        assert error_of(refused)["code"] == "rate_limit"
        assert refused.headers["retry-after"] == "20"


def unreachable(on_error: str) -> dict[str, str]:
    return {"OPENRESPONSES_REDIS_URL": f"redis://:{PASSWORD}@127.0.0.1:{closed_port()}/0",
            "OPENRESPONSES_RATE_LIMIT_ON_ERROR": on_error}


async def test_without_redis_deny_answers_503_rate_limiter_unavailable(
    upstream: FakeUpstream, tmp_path: Path
) -> None:
    config = load_config(env={**gateway_env(upstream, tmp_path), **unreachable("deny"),
                              **KEYS_MODE}, path=None)
    async with live_gateway(config) as root:
        refused = await create_response(f"{root}/v1", KEY)
        assert refused.status_code == 503
        error = error_of(refused)
        assert (error["type"], error["code"]) == ("server_error", "rate_limiter_unavailable")
        assert PASSWORD not in refused.text
        assert len(upstream.received) == 0  # refused before any upstream call
        metrics = await call("GET", f"{root}/metrics", None)
        assert 'openresponses_rate_limiter_errors_total{outcome="denied"} 1.0' in metrics.text
        listed = await call("GET", f"{root}/v1/admin/keys", ADMIN_KEY)
        assert listed.status_code == 200, listed.text  # keys are managed during the outage


async def test_without_redis_allow_serves_unlimited_and_counts_it(
    upstream: FakeUpstream, tmp_path: Path
) -> None:
    config = load_config(env={**gateway_env(upstream, tmp_path), **unreachable("allow"),
                              "OPENRESPONSES_RATE_LIMIT_IP_PER_MINUTE": "1"}, path=None)
    async with live_gateway(config) as root:
        answers = [await create_response(f"{root}/v1", KEY) for _ in range(3)]
        assert [a.status_code for a in answers] == [200, 200, 200]  # the limit of 1: unchecked
        assert "x-ratelimit-limit-requests" not in answers[0].headers
        metrics = await call("GET", f"{root}/metrics", None)
        # one check per request (the address and the key together)
        assert 'openresponses_rate_limiter_errors_total{outcome="allowed"} 3.0' in metrics.text
