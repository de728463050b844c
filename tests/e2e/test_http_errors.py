"""Errors over plain HTTP: the envelope, statuses, params; upstream errors mapped, never raw."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from tests.e2e.conftest import CLIENT_KEY
from tests.fakes.upstream import ErrorReply, FakeUpstream

AUTH = {"authorization": f"Bearer {CLIENT_KEY}"}


async def post(url: str, body: Any, headers: dict[str, str] | None = None,
               content: bytes | None = None) -> httpx2.Response:
    async with httpx2.AsyncClient() as http:
        if content is not None:
            return await http.post(url, content=content, headers=headers or AUTH)
        return await http.post(url, json=body, headers=AUTH if headers is None else headers)


def assert_envelope(response: httpx2.Response, status: int, type_: str,
                    param: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    error: dict[str, Any] = body["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == type_
    assert error["param"] == param
    return error


async def test_missing_bearer_is_401(gateway_url: str) -> None:
    response = await post(f"{gateway_url}/responses", {"model": "groq@m", "input": "x"},
                          headers={})
    assert_envelope(response, 401, "authentication_error")


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"input": "x"}, "model"),
        ({"model": "nope", "input": "x"}, "model"),
        ({"model": "unknown@m", "input": "x"}, "model"),
        ({"model": "groq@m", "input": 5}, "input"),
        ({"model": "groq@m", "input": "x", "temperature": "hot"}, "temperature"),
        ({"model": "groq@m", "input": "x", "temperature": 9}, "temperature"),
        ({"model": "groq@m", "input": "x", "max_output_tokens": 1.5}, "max_output_tokens"),
        ({"model": "groq@m", "input": "x", "store": "yes"}, "store"),
        ({"model": "groq@m", "input": [{"role": "wizard", "content": "x"}]}, "input[0].role"),
        ({"model": "groq@m", "input": "x", "tools": [{"type": "function"}]}, "tools[0].name"),
        ({"model": "groq@m", "input": "x", "metadata": {"k": 1}}, "metadata.k"),
    ],
)
async def test_bad_fields_are_400_naming_the_param(
    gateway_url: str, body: dict[str, Any], param: str
) -> None:
    response = await post(f"{gateway_url}/responses", body)
    assert_envelope(response, 400, "invalid_request_error", param)


async def test_malformed_json_is_400(gateway_url: str) -> None:
    response = await post(f"{gateway_url}/responses", None, content=b"{not json")
    assert_envelope(response, 400, "invalid_request_error")


async def test_unknown_fields_are_tolerated_and_relayed_to_openai(
    gateway_url: str, upstream: FakeUpstream
) -> None:
    body = {"model": "openai@gpt-4o", "input": "x", "client_metadata": {"a": "b"},
            "prompt_cache_key": "k1", "include": ["reasoning.encrypted_content"],
            "reasoning": {"summary": "auto"},
            "tools": [{"type": "web_search"},
                      {"type": "namespace", "name": "ns", "tools": []}]}
    response = await post(f"{gateway_url}/responses", body)
    assert response.status_code == 200, response.text
    sent = upstream.last().body
    assert sent["client_metadata"] == {"a": "b"}
    assert sent["store"] is False


@pytest.mark.parametrize(
    ("status", "upstream_body", "ours", "type_"),
    [
        (400, {"error": {"message": "bad", "type": "invalid_request_error", "param": "input",
                         "code": None}}, 400, "invalid_request_error"),
        (401, {"error": {"message": "Incorrect API key provided: sk-abc***xyz", "type":
                         "invalid_request_error", "param": None, "code": "invalid_api_key"}},
         401, "authentication_error"),
        (403, {"error": {"message": "no", "type": "x", "param": None, "code": None}},
         403, "permission_error"),
        (429, {"error": {"message": "slow down", "type": "rate_limit", "param": None,
                         "code": None}}, 429, "rate_limit_exceeded"),
        (500, {"error": {"message": "boom", "type": "server_error", "param": None,
                         "code": None}}, 502, "server_error"),
    ],
)
async def test_upstream_errors_are_mapped(
    gateway_url: str, upstream: FakeUpstream, status: int, upstream_body: dict[str, Any],
    ours: int, type_: str,
) -> None:
    upstream.queue(ErrorReply(status, upstream_body, {"retry-after": "7"}))
    response = await post(f"{gateway_url}/responses", {"model": "groq@m", "input": "x"})
    assert response.status_code == ours, response.text
    assert response.json()["error"]["type"] == type_
    if ours == 429:
        assert response.headers["retry-after"] == "7"


async def test_retrieve_unknown_is_404_envelope(gateway_url: str) -> None:
    async with httpx2.AsyncClient() as http:
        response = await http.get(f"{gateway_url}/responses/resp_nope", headers=AUTH)
    assert_envelope(response, 404, "invalid_request_error")


async def test_unknown_route_is_404_envelope(gateway_url: str) -> None:
    async with httpx2.AsyncClient() as http:
        response = await http.get(f"{gateway_url}/nothing-here", headers=AUTH)
    assert response.status_code == 404
    assert response.json()["error"]["type"] == "invalid_request_error"
