"""``item_reference`` and compaction items in a request's input. A reference naming an item of
the turn's context (the previous_response_id chain, a conversation, or earlier input) is
served: the model gets that item anyway, the gateway sending each turn whole. One naming any
other item is a 400: it was dropped silently, on every provider (openai@ got it without its
id, an item OpenAI refuses). A compaction item must carry its ``encrypted_content`` string."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from tests.e2e.sse_client import AUTH
from tests.fakes.upstream import FakeUpstream


async def create(gateway_url: str, **body: Any) -> httpx2.Response:
    async with httpx2.AsyncClient(timeout=10) as http:
        return await http.post(f"{gateway_url}/responses", headers=AUTH, json=body)


@pytest.mark.parametrize("model", ["groq@m", "claude@m", "openai@gpt-4o"])
async def test_a_reference_into_the_chain_is_served_and_not_sent(
    gateway_url: str, upstream: FakeUpstream, model: str
) -> None:
    first = (await create(gateway_url, model=model, input="Remember PINEAPPLE.")).json()
    async with httpx2.AsyncClient(timeout=10) as http:
        items = await http.get(f"{gateway_url}/responses/{first['id']}/input_items",
                               headers=AUTH)
    remembered = items.json()["data"][0]["id"]
    answer = await create(gateway_url, model=model, previous_response_id=first["id"], input=[
        {"type": "item_reference", "id": remembered}, {"role": "user", "content": "Word?"}])
    assert answer.status_code == 200, answer.text
    sent = str(upstream.last().body)
    assert "PINEAPPLE" in sent
    assert "item_reference" not in sent


@pytest.mark.parametrize("model", ["groq@m", "openai@gpt-4o"])
async def test_a_reference_to_an_item_outside_the_context_is_a_400(
    gateway_url: str, upstream: FakeUpstream, model: str
) -> None:
    answer = await create(gateway_url, model=model, input=[
        {"type": "item_reference", "id": "msg_elsewhere"}, {"role": "user", "content": "?"}])
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert (error["param"], error["code"]) == ("input[0].id", "invalid_value")
    assert upstream.received == []


@pytest.mark.parametrize("content", [None, 5, {}])
async def test_a_compaction_item_needs_its_encrypted_content(
    gateway_url: str, upstream: FakeUpstream, content: Any
) -> None:
    item: dict[str, Any] = {"type": "compaction"}
    if content is not None:
        item["encrypted_content"] = content
    for path in ("/responses", "/responses/input_tokens", "/responses/compact"):
        async with httpx2.AsyncClient(timeout=10) as http:
            answer = await http.post(f"{gateway_url}{path}", headers=AUTH, json={
                "model": "openai@gpt-4o", "input": [item, {"role": "user", "content": "?"}]})
        assert answer.status_code == 400, (path, answer.text)
        assert answer.json()["error"]["param"] == "input[0].encrypted_content"
    assert upstream.received == []
