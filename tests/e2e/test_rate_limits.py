"""Rate limits against a real gateway, with small limits injected through the environment:
429 ``rate_limit_exceeded`` with ``Retry-After``, and ``x-ratelimit-*`` on every /v1 answer."""

from __future__ import annotations

import re

import httpx2
import pytest

from tests.e2e.keys_helpers import KEYS_MODE, call, create_key, create_response, error_of

KEY = "sk-client-000001"
IP_LIMIT_3 = {"OPENRESPONSES_RATE_LIMIT_IP_PER_MINUTE": "3"}
KEY_LIMIT_2 = {"OPENRESPONSES_RATE_LIMIT_KEY_PER_DAY": "2"}
BEHIND_PROXY = {"OPENRESPONSES_RATE_LIMIT_IP_PER_MINUTE": "1",
                "OPENRESPONSES_TRUSTED_PROXIES": "127.0.0.1"}


def limits_of(response: httpx2.Response) -> tuple[str, str, str]:
    h = response.headers
    return (h["x-ratelimit-limit-requests"], h["x-ratelimit-remaining-requests"],
            h["x-ratelimit-reset-requests"])


def assert_refused(response: httpx2.Response) -> None:
    assert response.status_code == 429, response.text
    error = error_of(response)
    assert (error["type"], error["code"]) == ("rate_limit_exceeded", "rate_limit")
    assert int(response.headers["retry-after"]) >= 1


@pytest.mark.parametrize("gateway_extra_env", [IP_LIMIT_3])
async def test_the_fourth_request_in_a_minute_is_429_with_headers(gateway_url: str) -> None:
    answers = [await create_response(gateway_url, KEY) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert [limits_of(a)[:2] for a in answers] == [("3", "2"), ("3", "1"), ("3", "0")]
    assert re.fullmatch(r"1m0s|59(\.\d)?s", limits_of(answers[-1])[2])  # full again in a minute
    refused = await create_response(gateway_url, KEY)
    assert_refused(refused)
    assert limits_of(refused)[:2] == ("3", "0")
    assert refused.headers["retry-after"] == "20"  # one request's share of the minute
    other_key = await create_response(gateway_url, "sk-other-000002")
    assert_refused(other_key)  # the same address: the limit is per client IP
    metrics = await call("GET", gateway_url.removesuffix("/v1") + "/metrics", None)
    assert 'openresponses_rate_limited_total{scope="ip"} 2.0' in metrics.text


@pytest.mark.parametrize("gateway_extra_env", [IP_LIMIT_3])
async def test_every_v1_answer_carries_the_headers(gateway_url: str) -> None:
    missing = await call("GET", f"{gateway_url}/responses/resp_nope", KEY)
    assert missing.status_code == 404
    assert limits_of(missing)[:2] == ("3", "2")
    unauthenticated = await call("GET", f"{gateway_url}/responses/resp_nope", None)
    assert unauthenticated.status_code == 401
    assert limits_of(unauthenticated)[:2] == ("3", "1")  # counted before authentication
    health = await call("GET", gateway_url.removesuffix("/v1") + "/health", None)
    assert "x-ratelimit-limit-requests" not in health.headers


@pytest.mark.parametrize("gateway_extra_env", [KEY_LIMIT_2])
async def test_the_daily_limit_is_per_key(gateway_url: str) -> None:
    for _ in range(2):
        assert (await create_response(gateway_url, KEY)).status_code == 200
    refused = await create_response(gateway_url, KEY)
    assert_refused(refused)
    assert limits_of(refused)[:2] == ("2", "0")
    assert "per day" in error_of(refused)["message"]
    assert (await create_response(gateway_url, "sk-other-000002")).status_code == 200


@pytest.mark.parametrize("gateway_extra_env", [KEYS_MODE])
async def test_a_keys_own_limits_override_the_defaults(gateway_url: str) -> None:
    tight = (await create_key(gateway_url, limits={"requests_per_day": 1}))["key"]
    loose = (await create_key(gateway_url))["key"]
    assert (await create_response(gateway_url, tight)).status_code == 200
    assert_refused(await create_response(gateway_url, tight))
    answer = await create_response(gateway_url, loose)
    assert answer.status_code == 200
    # the address's bucket binds: 5 requests so far (admin calls and refusals count too)
    assert limits_of(answer)[:2] == ("100", "95")


@pytest.mark.parametrize("gateway_extra_env", [KEYS_MODE])
async def test_tokens_per_minute_are_counted_from_usage(gateway_url: str) -> None:
    key = (await create_key(gateway_url, limits={"tokens_per_minute": 10}))["key"]
    first = await create_response(gateway_url, key)
    assert first.json()["usage"]["total_tokens"] == 18  # overdraws the 10 tokens per minute
    refused = await create_response(gateway_url, key)
    assert_refused(refused)
    assert refused.headers["x-ratelimit-limit-tokens"] == "10"
    assert "tokens per minute" in error_of(refused)["message"]


@pytest.mark.parametrize("gateway_extra_env", [KEYS_MODE])
async def test_a_compaction_call_counts_against_tokens_per_minute(gateway_url: str) -> None:
    key = (await create_key(gateway_url, limits={"tokens_per_minute": 10}))["key"]
    compacted = await call("POST", f"{gateway_url}/responses/compact", key,
                           {"model": "groq@llama", "input": "please compact this"})
    assert compacted.status_code == 200, compacted.text
    assert compacted.json()["usage"]["total_tokens"] == 18  # overdraws the 10 a minute
    refused = await create_response(gateway_url, key)
    assert_refused(refused)
    assert "tokens per minute" in error_of(refused)["message"]


@pytest.mark.parametrize("gateway_extra_env", [BEHIND_PROXY])
async def test_forwarded_for_names_the_client_behind_a_trusted_proxy(gateway_url: str) -> None:
    url = f"{gateway_url}/responses/resp_x"
    first = await call("GET", url, KEY, headers={"x-forwarded-for": "198.51.100.1"})
    second = await call("GET", url, KEY, headers={"x-forwarded-for": "198.51.100.2"})
    assert (first.status_code, second.status_code) == (404, 404)
    assert_refused(await call("GET", url, KEY, headers={"x-forwarded-for": "198.51.100.1"}))


@pytest.mark.parametrize("gateway_extra_env", [{"OPENRESPONSES_RATE_LIMIT_IP_PER_MINUTE": "1"}])
async def test_forwarded_for_from_an_untrusted_peer_is_ignored(gateway_url: str) -> None:
    url = f"{gateway_url}/responses/resp_x"
    assert (await call("GET", url, KEY, headers={"x-forwarded-for": "1.1.1.1"})).status_code \
        == 404
    assert_refused(await call("GET", url, KEY, headers={"x-forwarded-for": "2.2.2.2"}))


@pytest.mark.parametrize("gateway_extra_env", [{"OPENRESPONSES_RATE_LIMIT_IP_PER_MINUTE": "0",
                                               "OPENRESPONSES_RATE_LIMIT_KEY_PER_DAY": "0"}])
async def test_zero_turns_the_limits_off(gateway_url: str) -> None:
    answer = await call("GET", f"{gateway_url}/responses/resp_x", KEY)
    assert answer.status_code == 404
    assert "x-ratelimit-limit-requests" not in answer.headers
