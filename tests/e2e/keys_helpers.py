"""Helpers for the end-to-end tests of gateway keys, rate limits and isolation."""

from __future__ import annotations

import ssl
from typing import Any

import httpx2

ADMIN_KEY = "admin-key-for-tests-0001"
SERVER_KEYS = {  # in keys mode provider credentials come from the server only
    "GROQ_API_KEY": "gsk_serverkey0001",
    "OPENAI_API_KEY": "sk-serverkey0001",
    "ANTHROPIC_API_KEY": "sk-ant-serverkey0001",
}
KEYS_MODE = {"OPENRESPONSES_AUTH": "keys", "OPENRESPONSES_ADMIN_KEY": ADMIN_KEY, **SERVER_KEYS}
_TLS = ssl.create_default_context()  # built once: a client per request stays cheap


def client() -> httpx2.AsyncClient:
    return httpx2.AsyncClient(timeout=10, verify=_TLS)


def bearer(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


async def create_key(gateway_url: str, **body: Any) -> dict[str, Any]:
    """Create a gateway key through the admin API; the answer holds ``key`` (shown once)."""
    async with client() as http:
        response = await http.post(f"{gateway_url}/admin/keys", json={"name": "test", **body},
                                   headers=bearer(ADMIN_KEY))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def call(
    method: str, url: str, key: str | None, body: Any = None,
    headers: dict[str, str] | None = None,
) -> httpx2.Response:
    """One request with ``key`` as the bearer (none when None)."""
    sent = {**(bearer(key) if key is not None else {}), **(headers or {})}
    async with client() as http:
        return await http.request(method, url, json=body, headers=sent)


async def create_response(gateway_url: str, key: str, **body: Any) -> httpx2.Response:
    payload = {"model": "groq@llama", "input": "hello", **body}
    return await call("POST", f"{gateway_url}/responses", key, payload)


def error_of(response: httpx2.Response) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}, body
    error: dict[str, Any] = body["error"]
    assert set(error) == {"message", "type", "param", "code"}
    return error
