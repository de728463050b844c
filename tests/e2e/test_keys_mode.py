"""``OPENRESPONSES_AUTH=keys`` against a real gateway: the admin API, 401 for unknown, revoked
and expired keys, 403 for a model outside the key's globs, server credentials upstream."""

from __future__ import annotations

import openai
import pytest
import trio

from tests.e2e.keys_helpers import (
    ADMIN_KEY,
    KEYS_MODE,
    SERVER_KEYS,
    bearer,
    call,
    create_key,
    create_response,
    error_of,
)
from tests.fakes.upstream import FakeUpstream


@pytest.fixture
def gateway_extra_env() -> dict[str, str]:
    return KEYS_MODE


async def test_a_created_key_works_and_is_shown_only_once(
    gateway_url: str, upstream: FakeUpstream
) -> None:
    created = await create_key(gateway_url, name="alice", allowed=["groq@*"],
                               limits={"requests_per_day": 50})
    key = created["key"]
    assert key.startswith("or-")
    assert created["object"] == "gateway.key"
    response = await create_response(gateway_url, key)
    assert response.status_code == 200, response.text
    assert upstream.last().headers["authorization"] == f"Bearer {SERVER_KEYS['GROQ_API_KEY']}"
    listed = await call("GET", f"{gateway_url}/admin/keys", ADMIN_KEY)
    assert listed.status_code == 200
    [shown] = listed.json()["data"]
    assert shown["id"] == created["id"]
    assert shown["limits"]["requests_per_day"] == 50
    assert key not in listed.text
    assert "hash" not in shown


async def test_the_official_sdk_works_with_a_gateway_key(
    gateway_url: str, upstream: FakeUpstream
) -> None:
    key = (await create_key(gateway_url))["key"]

    def create() -> str:
        with openai.OpenAI(base_url=gateway_url, api_key=key, max_retries=0) as sdk:
            return sdk.responses.create(model="groq@llama", input="hi").output_text

    assert await trio.to_thread.run_sync(create) == "Hello from the fake model."


async def test_unknown_or_missing_keys_are_401(gateway_url: str) -> None:
    for token in ("or-not-a-real-key", "sk-provider-key"):
        response = await create_response(gateway_url, token)
        assert response.status_code == 401
        assert error_of(response)["code"] == "invalid_api_key"
        assert token not in response.text
    missing = await call("POST", f"{gateway_url}/responses", None, {"model": "groq@m",
                                                                     "input": "x"})
    assert missing.status_code == 401
    assert error_of(missing)["code"] == "missing_api_key"


async def test_a_revoked_key_is_401_at_once(gateway_url: str) -> None:
    created = await create_key(gateway_url)
    assert (await create_response(gateway_url, created["key"])).status_code == 200
    revoked = await call("POST", f"{gateway_url}/admin/keys/{created['id']}/revoke", ADMIN_KEY)
    assert revoked.status_code == 200
    assert revoked.json()["revoked"] is True
    response = await call("GET", f"{gateway_url}/responses/resp_x", created["key"])
    assert response.status_code == 401
    assert (error_of(response)["code"], error_of(response)["message"]) == (
        "revoked_api_key", "This API key has been revoked.")


async def test_an_expired_key_is_401(gateway_url: str) -> None:
    created = await create_key(gateway_url, expires_at=1)
    response = await create_response(gateway_url, created["key"])
    assert response.status_code == 401
    assert (error_of(response)["code"], error_of(response)["message"]) == (
        "expired_api_key", "This API key has expired.")


async def test_a_model_outside_the_keys_globs_is_403(
    gateway_url: str, upstream: FakeUpstream
) -> None:
    key = (await create_key(gateway_url, allowed=["groq@*", "anthropic"]))["key"]
    for stream in (False, True):
        refused = await create_response(gateway_url, key, model="openai@gpt-4o", stream=stream)
        assert refused.status_code == 403
        error = error_of(refused)
        assert (error["type"], error["param"]) == ("permission_error", "model")
    assert upstream.received == []
    allowed = await create_response(gateway_url, key, model="claude@claude-sonnet-4-5")
    assert allowed.status_code == 200, allowed.text


async def test_a_glob_naming_a_provider_by_its_alias_covers_both_names(
    gateway_url: str
) -> None:
    """``claude@*`` used to allow ``claude@x`` only: ``anthropic@x`` was a 403, and the model
    list (whose ids use the provider's name) was empty."""
    key = (await create_key(gateway_url, allowed=["claude@*"]))["key"]
    answer = await create_response(gateway_url, key, model="anthropic@claude-sonnet-4-5")
    assert answer.status_code == 200, answer.text
    listed = await call("GET", f"{gateway_url}/models", key)
    assert "anthropic@fake-model-a" in [m["id"] for m in listed.json()["data"]]
    assert all(m["id"].startswith("anthropic@") for m in listed.json()["data"])
    one = await call("GET", f"{gateway_url}/models/claude@fake-model-a", key)
    assert one.status_code == 200, one.text


async def test_the_admin_api_wants_the_admin_key(gateway_url: str) -> None:
    for token in (None, "wrong-admin-key"):
        response = await call("GET", f"{gateway_url}/admin/keys", token)
        assert response.status_code == 401
        assert error_of(response)["type"] == "authentication_error"
    key = (await create_key(gateway_url))["key"]
    assert (await call("GET", f"{gateway_url}/admin/keys", key)).status_code == 401


BAD_BODIES = [
    ({}, "name"), ({"name": ""}, "name"), ({"name": "x", "allowed": "groq@*"}, "allowed"),
    ({"name": "x", "limits": {"requests_per_day": -1}}, "limits.requests_per_day"),
    ({"name": "x", "expires_in": 0}, "expires_in"),
    ({"name": "x", "limits": {"requests_per_hour": 1}}, "limits.requests_per_hour"),
    ({"name": "x", "expires": 60}, "expires"),
    ({"name": "a\x00b"}, "name"), ({"name": "ops\r\nX-Injected: 1"}, "name"),
    ({"name": "\u202eevil"}, "name"),  # a control (format) character: shown reversed
]


async def test_bad_create_bodies_are_400_naming_the_param(gateway_url: str) -> None:
    for body, param in BAD_BODIES:
        response = await call("POST", f"{gateway_url}/admin/keys", ADMIN_KEY, body)
        assert response.status_code == 400, (body, response.text)
        assert error_of(response)["param"] == param, body
    assert (await call("GET", f"{gateway_url}/admin/keys", ADMIN_KEY)).json()["data"] == []
    unknown = await call("POST", f"{gateway_url}/admin/keys/key_nope/revoke", ADMIN_KEY)
    assert unknown.status_code == 404


async def test_an_updated_key_is_judged_by_its_new_rights_at_once(
    gateway_url: str, upstream: FakeUpstream
) -> None:
    created = await create_key(gateway_url, name="ci", allowed=["groq@*"],
                               limits={"requests_per_day": 50})
    key, url = created["key"], f"{gateway_url}/admin/keys/{created['id']}"
    assert (await create_response(gateway_url, key)).status_code == 200  # now in the cache
    updated = await call("POST", url, ADMIN_KEY, {"name": "ci-nightly", "allowed": ["claude@*"],
                                                  "limits": {"requests_per_minute": 1}})
    assert updated.status_code == 200, updated.text
    shown = updated.json()
    assert (shown["id"], shown["name"], shown["allowed"]) == (created["id"], "ci-nightly",
                                                              ["claude@*"])
    assert shown["limits"] == {"requests_per_minute": 1, "requests_per_day": 50,
                               "tokens_per_minute": None}
    assert key not in updated.text
    claude = "claude@claude-sonnet-4-5"
    assert (await create_response(gateway_url, key, model=claude)).status_code == 200
    limited = await create_response(gateway_url, key, model=claude)  # 1 a minute
    assert limited.status_code == 429, limited.text
    lifted = await call("POST", url, ADMIN_KEY, {"limits": {"requests_per_minute": None}})
    assert lifted.json()["limits"]["requests_per_minute"] is None
    assert (await create_response(gateway_url, key, model=claude)).status_code == 200
    refused = await create_response(gateway_url, key)  # groq: no longer allowed
    assert refused.status_code == 403
    assert error_of(refused)["code"] == "model_not_allowed"
    [listed] = (await call("GET", f"{gateway_url}/admin/keys", ADMIN_KEY)).json()["data"]
    assert listed == lifted.json()


BAD_UPDATES = [
    ({}, None), ([], None), ({"name": ""}, "name"), ({"name": 7}, "name"),
    ({"allowed": "groq@*"}, "allowed"), ({"allowed": [""]}, "allowed"),
    ({"limits": []}, "limits"), ({"limits": {"requests_per_hour": 1}}, "limits.requests_per_hour"),
    ({"limits": {"tokens_per_minute": -1}}, "limits.tokens_per_minute"),
    ({"limits": {"requests_per_day": 1.5}}, "limits.requests_per_day"),
    ({"expires_at": 1}, "expires_at"), ({"revoked": False}, "revoked"),
    ({"name": None, "allowed": []}, "name"), ({"name": "tab\there"}, "name"),
]


async def test_bad_updates_are_400_naming_the_param_and_unknown_ids_404(
    gateway_url: str,
) -> None:
    created = await create_key(gateway_url, name="kept", limits={"requests_per_day": 5})
    url = f"{gateway_url}/admin/keys/{created['id']}"
    for body, param in BAD_UPDATES:
        response = await call("POST", url, ADMIN_KEY, body)
        assert response.status_code == 400, (body, response.text)
        assert error_of(response)["param"] == param, body
    unknown = await call("POST", f"{gateway_url}/admin/keys/key_nope", ADMIN_KEY,
                         {"name": "x"})
    assert unknown.status_code == 404
    assert error_of(unknown)["type"] == "invalid_request_error"
    for token in (None, created["key"]):
        assert (await call("POST", url, token, {"name": "x"})).status_code == 401
    [listed] = (await call("GET", f"{gateway_url}/admin/keys", ADMIN_KEY)).json()["data"]
    assert (listed["name"], listed["limits"]["requests_per_day"]) == ("kept", 5)


async def test_the_admin_key_is_not_a_gateway_key(gateway_url: str) -> None:
    response = await call("GET", f"{gateway_url}/responses/resp_x", ADMIN_KEY)
    assert response.status_code == 401
    assert bearer(ADMIN_KEY)["authorization"] not in response.text


@pytest.mark.parametrize("gateway_extra_env", [{}])
async def test_without_an_admin_key_the_admin_api_is_disabled(gateway_url: str) -> None:
    response = await call("GET", f"{gateway_url}/admin/keys", "anything")
    assert response.status_code == 403
    assert error_of(response)["type"] == "permission_error"
