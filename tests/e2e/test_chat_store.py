"""Stored chat completions (``store: true``) with the official SDK: list (model and metadata
filters, paging), retrieve, update metadata, delete, messages; another key sees none of it."""

from __future__ import annotations

from typing import Any

import httpx2
import openai
import pytest
import trio

from tests.e2e.chat_client import AUTH, loopback_client, stream_chat
from tests.fakes.script import Script
from tests.fakes.upstream import FakeUpstream
from tests.spec import check

MODELS = ["openai@gpt-4o", "groq@llama", "claude@claude-sonnet-4-5"]


async def in_thread(fn: Any, *args: Any, **kwargs: Any) -> Any:
    return await trio.to_thread.run_sync(lambda: fn(*args, **kwargs))


async def get(gateway_url: str, path: str, key: str | None = None) -> httpx2.Response:
    headers = AUTH if key is None else {"authorization": f"Bearer {key}"}
    async with loopback_client() as http:
        return await http.get(f"{gateway_url}{path}", headers=headers)


def check_message_list(body: dict[str, Any]) -> None:
    """``ChatCompletionMessageList``. Its items are typed as *response* messages, whose role
    is always ``assistant``, yet the list holds the request's messages (OpenAI's own example
    there has ``role: user``): the role is checked apart, the rest against the schema."""
    roles = {"system", "developer", "user", "assistant", "tool"}
    assert all(m["role"] in roles for m in body["data"])
    check("openai", "ChatCompletionMessageList", {
        **body, "data": [{**m, "role": "assistant"} for m in body["data"]]})


@pytest.mark.parametrize("model", MODELS)
async def test_store_then_retrieve_list_update_delete(
    client: openai.OpenAI, gateway_url: str, upstream: FakeUpstream, model: str
) -> None:
    upstream.queue(Script(text="Stored answer."))
    messages: Any = [{"role": "system", "content": "Be brief."},
                     {"role": "user", "content": [{"type": "text", "text": "Hi "},
                                                  {"type": "text", "text": "there"}]}]
    created = await in_thread(client.chat.completions.create, model=model, messages=messages,
                              store=True, metadata={"topic": "greeting"})
    fetched = await get(gateway_url, f"/chat/completions/{created.id}")
    assert fetched.status_code == 200
    body = fetched.json()
    check("openai", "CreateChatCompletionResponse", body)
    assert body["choices"][0]["message"]["content"] == "Stored answer."
    assert body["metadata"] == {"topic": "greeting"}

    listed = await get(gateway_url, f"/chat/completions?model={model}")
    check("openai", "ChatCompletionList", listed.json())
    assert [c["id"] for c in listed.json()["data"]] == [created.id]

    page = await get(gateway_url, f"/chat/completions/{created.id}/messages")
    check_message_list(page.json())
    data = page.json()["data"]
    assert [m["id"] for m in data] == [f"{created.id}-0", f"{created.id}-1"]
    assert data[1]["content"] == "Hi there"
    assert data[1]["content_parts"] == messages[1]["content"]

    updated = await in_thread(client.chat.completions.update, created.id,
                              metadata={"topic": "updated"})
    assert updated.metadata == {"topic": "updated"}
    deleted = await in_thread(client.chat.completions.delete, created.id)
    assert deleted.deleted
    assert (await get(gateway_url, f"/chat/completions/{created.id}")).status_code == 404


async def test_streamed_completion_is_stored_as_a_whole(
    gateway_url: str, upstream: FakeUpstream
) -> None:
    upstream.queue(Script(text="streamed and stored", chunks=4))
    chunks, done = await stream_chat(gateway_url, {
        "model": "groq@llama", "messages": [{"role": "user", "content": "go"}],
        "stream": True, "store": True})
    assert done
    stored = (await get(gateway_url, f"/chat/completions/{chunks[0]['id']}")).json()
    check("openai", "CreateChatCompletionResponse", stored)
    assert stored["choices"][0]["message"]["content"] == "streamed and stored"
    assert stored["usage"]["total_tokens"] == 18
    assert stored["model"] == "groq@llama"


async def test_list_filters_by_metadata_and_pages(client: openai.OpenAI) -> None:
    ids = []
    for n in range(5):
        created = await in_thread(
            client.chat.completions.create, model="groq@m", store=True,
            messages=[{"role": "user", "content": f"q{n}"}],
            metadata={"parity": "even" if n % 2 == 0 else "odd", "n": str(n)})
        ids.append(created.id)
    assert ids == sorted(ids)  # the gateway's ids sort by creation time, as the list does
    even = await in_thread(client.chat.completions.list, metadata={"parity": "even"})
    assert [c.id for c in even.data] == [ids[0], ids[2], ids[4]]
    both = await in_thread(client.chat.completions.list,
                           metadata={"parity": "odd", "n": "3"})
    assert [c.id for c in both.data] == [ids[3]]
    first = await in_thread(client.chat.completions.list, limit=2, order="desc")
    assert [c.id for c in first.data] == [ids[4], ids[3]]
    assert first.has_more
    every = [c.id for c in await in_thread(lambda: list(client.chat.completions.list(limit=2)))]
    assert every == ids  # the SDK's auto-paging follows ``after``


async def test_the_list_is_in_the_order_the_gateway_took_them(client: openai.OpenAI) -> None:
    """Passthrough bodies keep the upstream's ``created`` (the fake's is 1700000000); the list
    used to sort by it, putting every passthrough completion before the translated ones."""
    ids = []
    for model in ("claude@c", "groq@m", "claude@c", "groq@m"):
        created = await in_thread(client.chat.completions.create, model=model, store=True,
                                  messages=[{"role": "user", "content": "hi"}])
        ids.append(created.id)
    listed = await in_thread(lambda: list(client.chat.completions.list(order="asc")))
    assert [c.id for c in listed] == ids


async def test_messages_page_with_after_and_limit(client: openai.OpenAI) -> None:
    messages: Any = [{"role": "user", "content": f"m{n}"} for n in range(4)]
    created = await in_thread(client.chat.completions.create, model="claude@c",
                              messages=messages, store=True)
    page = await in_thread(client.chat.completions.messages.list, created.id, limit=2,
                           after=f"{created.id}-0")
    assert [m.content for m in page.data] == ["m1", "m2"]
    assert page.has_more


async def test_another_key_sees_nothing(client: openai.OpenAI, gateway_url: str) -> None:
    created = await in_thread(client.chat.completions.create, model="groq@m", store=True,
                              messages=[{"role": "user", "content": "private"}])
    other = "another-client-key-0002"
    for path in (f"/chat/completions/{created.id}", f"/chat/completions/{created.id}/messages"):
        response = await get(gateway_url, path, other)
        assert response.status_code == 404
        assert response.json()["error"]["type"] == "invalid_request_error"
    assert (await get(gateway_url, "/chat/completions", other)).json()["data"] == []
    async with loopback_client() as http:
        headers = {"authorization": f"Bearer {other}"}
        deleted = await http.delete(f"{gateway_url}/chat/completions/{created.id}",
                                    headers=headers)
        updated = await http.post(f"{gateway_url}/chat/completions/{created.id}",
                                  headers=headers, json={"metadata": {"a": "b"}})
    assert (deleted.status_code, updated.status_code) == (404, 404)
    assert (await get(gateway_url, f"/chat/completions/{created.id}")).status_code == 200


async def test_not_stored_by_default(client: openai.OpenAI, gateway_url: str) -> None:
    created = await in_thread(client.chat.completions.create, model="groq@m",
                              messages=[{"role": "user", "content": "ephemeral"}])
    assert (await get(gateway_url, f"/chat/completions/{created.id}")).status_code == 404


async def test_update_needs_metadata(gateway_url: str, client: openai.OpenAI) -> None:
    created = await in_thread(client.chat.completions.create, model="groq@m", store=True,
                              messages=[{"role": "user", "content": "x"}])
    async with loopback_client() as http:
        response = await http.post(f"{gateway_url}/chat/completions/{created.id}",
                                   headers=AUTH, json={"meta": {}})
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "metadata"
