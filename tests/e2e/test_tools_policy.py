"""A gateway without a search key: hosted web_search is not offered (a warning says so),
brave_web_search is a 400 at request time."""

from __future__ import annotations

import httpx2
import pytest

from tests.e2e.sse_client import AUTH
from tests.fakes.upstream import FakeUpstream


@pytest.fixture
def gateway_extra_env() -> dict[str, str]:
    return {}  # no BRAVE_API_KEY


async def test_hosted_web_search_is_dropped_with_a_warning_header(
    gateway_url: str, upstream: FakeUpstream
) -> None:
    body = {"model": "groq@m", "input": "x", "tools": [{"type": "web_search"}]}
    async with httpx2.AsyncClient() as http:
        response = await http.post(f"{gateway_url}/responses", json=body, headers=AUTH)
    assert response.status_code == 200
    assert "web_search" in response.headers["x-openresponses-warning"]
    assert "tools" not in upstream.last().body
    assert response.json()["tools"] == [{"type": "web_search"}]  # the echo is what was asked


async def test_brave_web_search_without_key_is_a_400(gateway_url: str) -> None:
    body = {"model": "groq@m", "input": "x", "tools": [{"type": "brave_web_search"}]}
    async with httpx2.AsyncClient() as http:
        response = await http.post(f"{gateway_url}/responses", json=body, headers=AUTH)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "tools[0]"
