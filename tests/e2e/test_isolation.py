"""Tenant isolation on every endpoint: what one key stored (responses, their input items and
chains, stored chat completions, conversations and their items), another key cannot read, list,
change, delete or chain from (404, or 400 ``previous_response_not_found``), in both modes."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.keys_helpers import KEYS_MODE, call, create_key, create_response, error_of
from tests.fakes.upstream import FakeUpstream


@pytest.fixture(params=["keys", "passthrough"])
def gateway_extra_env(request: pytest.FixtureRequest) -> dict[str, str]:
    return KEYS_MODE if request.param == "keys" else {}


async def two_keys(gateway_url: str, env: dict[str, str]) -> tuple[str, str]:
    if env.get("OPENRESPONSES_AUTH") == "keys":
        return (await create_key(gateway_url, name="a"))["key"], (
            await create_key(gateway_url, name="b"))["key"]
    return "sk-tenant-a-000001", "sk-tenant-b-000002"


async def stored(gateway_url: str, key: str, **body: Any) -> str:
    response = await create_response(gateway_url, key, **body)
    assert response.status_code == 200, response.text
    response_id: str = response.json()["id"]
    return response_id


async def test_another_key_sees_nothing_on_any_endpoint(
    gateway_url: str, upstream: FakeUpstream, gateway_extra_env: dict[str, str]
) -> None:
    alice, mallory = await two_keys(gateway_url, gateway_extra_env)
    first = await stored(gateway_url, alice)
    second = await stored(gateway_url, alice, previous_response_id=first)
    base = f"{gateway_url}/responses"
    for response_id in (first, second):
        for method, url in [("GET", f"{base}/{response_id}"),
                            ("GET", f"{base}/{response_id}/input_items"),
                            ("GET", f"{base}/{response_id}/input_items?order=asc&limit=1"),
                            ("POST", f"{base}/{response_id}/cancel"),
                            ("DELETE", f"{base}/{response_id}")]:
            refused = await call(method, url, mallory)
            assert refused.status_code == 404, (method, url, refused.text)
            assert response_id in error_of(refused)["message"]
    for stream in (False, True):
        chained = await create_response(gateway_url, mallory, previous_response_id=second,
                                        stream=stream)
        assert chained.status_code == 400
        error = error_of(chained)
        assert (error["code"], error["param"]) == ("previous_response_not_found",
                                                    "previous_response_id")
    assert len(upstream.received) == 2  # the refused chains never reached the provider
    # the owner still has everything: mallory's deletes deleted nothing
    for response_id in (first, second):
        assert (await call("GET", f"{base}/{response_id}", alice)).status_code == 200
        items = await call("GET", f"{base}/{response_id}/input_items", alice)
        assert items.status_code == 200
        assert len(items.json()["data"]) == 1
    assert (await call("DELETE", f"{base}/{second}", alice)).status_code == 200
    assert (await call("GET", f"{base}/{second}", alice)).status_code == 404


async def test_each_key_sees_its_own_responses_only(
    gateway_url: str, gateway_extra_env: dict[str, str]
) -> None:
    alice, bob = await two_keys(gateway_url, gateway_extra_env)
    alices = await stored(gateway_url, alice)
    bobs = await stored(gateway_url, bob, previous_response_id=None)
    base = f"{gateway_url}/responses"
    assert (await call("GET", f"{base}/{alices}", alice)).status_code == 200
    assert (await call("GET", f"{base}/{bobs}", bob)).status_code == 200
    assert (await call("GET", f"{base}/{alices}", bob)).status_code == 404
    assert (await call("GET", f"{base}/{bobs}", alice)).status_code == 404
    chained = await create_response(gateway_url, bob, previous_response_id=bobs)
    assert chained.status_code == 200, chained.text


async def test_stored_chat_completions_belong_to_their_key(
    gateway_url: str, gateway_extra_env: dict[str, str]
) -> None:
    alice, mallory = await two_keys(gateway_url, gateway_extra_env)
    created = await call("POST", f"{gateway_url}/chat/completions", alice, {
        "model": "groq@llama", "store": True, "metadata": {"k": "v"},
        "messages": [{"role": "user", "content": "hi"}]})
    assert created.status_code == 200, created.text
    base = f"{gateway_url}/chat/completions/{created.json()['id']}"
    for method, url, body in [("GET", base, None), ("GET", f"{base}/messages", None),
                              ("POST", base, {"metadata": {"k": "stolen"}}),
                              ("DELETE", base, None)]:
        refused = await call(method, url, mallory, body)
        assert refused.status_code == 404, (method, url, refused.text)
    listed = await call("GET", f"{gateway_url}/chat/completions", mallory)
    assert listed.status_code == 200
    assert listed.json()["data"] == []
    mine = await call("GET", base, alice)
    assert mine.status_code == 200
    assert mine.json()["metadata"] == {"k": "v"}


async def test_conversations_belong_to_their_key(
    gateway_url: str, gateway_extra_env: dict[str, str]
) -> None:
    alice, mallory = await two_keys(gateway_url, gateway_extra_env)
    created = await call("POST", f"{gateway_url}/conversations", alice, {
        "items": [{"type": "message", "role": "user", "content": "remember 42"}]})
    assert created.status_code == 200, created.text
    base = f"{gateway_url}/conversations/{created.json()['id']}"
    items = await call("GET", f"{base}/items", alice)
    item_id = items.json()["data"][0]["id"]
    for method, url, body in [
        ("GET", base, None), ("POST", base, {"metadata": {"k": "x"}}),
        ("GET", f"{base}/items", None), ("GET", f"{base}/items/{item_id}", None),
        ("POST", f"{base}/items", {"items": [{"type": "message", "role": "user",
                                              "content": "injected"}]}),
        ("DELETE", f"{base}/items/{item_id}", None), ("DELETE", base, None),
    ]:
        refused = await call(method, url, mallory, body)
        assert refused.status_code == 404, (method, url, refused.text)
    used = await create_response(gateway_url, mallory, conversation=created.json()["id"])
    assert used.status_code in (400, 404), used.text
    assert len((await call("GET", f"{base}/items", alice)).json()["data"]) == 1
