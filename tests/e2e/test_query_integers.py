"""Integer query parameters (``limit``, ``starting_after``) on every route that takes one:
only ASCII digits in range, else a 400 naming the parameter. ``int()`` alone took "1_0",
" 5" and "٣", and a ``starting_after`` past 64 bits reached SQLite and broke the stream."""

from __future__ import annotations

import httpx2
import pytest

from tests.e2e.sse_client import AUTH

BAD_LIMITS = ["0", "101", "ten", "1_0", " 5", "+5", "٣", "5.0", "", "9" * 30]


async def _ids(http: httpx2.AsyncClient, base: str) -> dict[str, str]:
    """A stored response (background, so it has recorded events), a conversation and a
    stored chat completion to page through."""
    response = await http.post(f"{base}/responses", headers=AUTH, json={
        "model": "groq@m", "input": "hi", "background": True})
    conversation = await http.post(f"{base}/conversations", headers=AUTH, json={})
    completion = await http.post(f"{base}/chat/completions", headers=AUTH, json={
        "model": "groq@m", "store": True, "messages": [{"role": "user", "content": "hi"}]})
    return {"resp": response.json()["id"], "conv": conversation.json()["id"],
            "chat": completion.json()["id"]}


@pytest.mark.parametrize("raw", BAD_LIMITS)
async def test_a_limit_that_is_not_an_integer_in_range_is_400_on_every_listing(
    gateway_url: str, raw: str
) -> None:
    async with httpx2.AsyncClient(timeout=10) as http:
        ids = await _ids(http, gateway_url)
        paths = ["/responses", f"/responses/{ids['resp']}/input_items",
                 f"/conversations/{ids['conv']}/items", "/chat/completions",
                 f"/chat/completions/{ids['chat']}/messages"]
        for path in paths:
            answer = await http.get(f"{gateway_url}{path}", headers=AUTH,
                                    params={"limit": raw})
            assert answer.status_code == 400, (path, answer.text)
            error = answer.json()["error"]
            assert (error["param"], error["type"]) == ("limit", "invalid_request_error")
        good = await http.get(f"{gateway_url}/conversations/{ids['conv']}/items",
                              headers=AUTH, params={"limit": "100"})
        assert good.status_code == 200


@pytest.mark.parametrize("raw", [str(2**63), str(-2**63 - 1), "-2", "1e3", "٣", "1_0"])
async def test_a_starting_after_past_64_bits_or_malformed_is_400_before_the_stream(
    gateway_url: str, raw: str
) -> None:
    async with httpx2.AsyncClient(timeout=10) as http:
        ids = await _ids(http, gateway_url)
        answer = await http.get(f"{gateway_url}/responses/{ids['resp']}", headers=AUTH,
                                params={"stream": "true", "starting_after": raw})
        assert answer.status_code == 400, answer.text
        assert answer.json()["error"]["param"] == "starting_after"
        largest = await http.get(f"{gateway_url}/responses/{ids['resp']}", headers=AUTH,
                                 params={"stream": "true", "starting_after": str(2**63 - 1)})
        assert largest.status_code == 200
        assert "event: error" not in largest.text  # no events after it: an empty stream
