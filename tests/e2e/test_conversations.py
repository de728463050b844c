"""Conversations through the OpenAI SDK: CRUD, items and paging, owner scoping, and the
``conversation`` parameter of responses (history in, input and output appended)."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest
import trio
from openai.types.conversations import ConversationItemList

from tests.e2e.conftest import CLIENT_KEY
from tests.fakes.script import Script
from tests.fakes.upstream import FakeUpstream
from tests.spec import check, check_response


async def in_thread(fn: Any, *args: Any, **kwargs: Any) -> Any:
    return await trio.to_thread.run_sync(lambda: fn(*args, **kwargs))


def user(text: str) -> dict[str, Any]:
    return {"type": "message", "role": "user", "content": text}


async def test_create_retrieve_update_and_delete_a_conversation(client: openai.OpenAI) -> None:
    raw = await in_thread(client.conversations.with_raw_response.create,
                          metadata={"topic": "trio"}, items=[user("hello"), user("again")])
    created = json.loads(raw.text)
    check("openai", "ConversationResource", created)
    assert created["id"].startswith("conv_")
    assert created["metadata"] == {"topic": "trio"}
    fetched = await in_thread(client.conversations.retrieve, created["id"])
    assert (fetched.id, fetched.created_at) == (created["id"], created["created_at"])
    updated = await in_thread(client.conversations.update, created["id"],
                              metadata={"topic": "anyio"})
    assert updated.metadata == {"topic": "anyio"}
    raw = await in_thread(client.conversations.with_raw_response.delete, created["id"])
    deleted = json.loads(raw.text)
    check("openai", "DeletedConversationResource", deleted)
    assert deleted == {"id": created["id"], "object": "conversation.deleted", "deleted": True}
    with pytest.raises(openai.NotFoundError):
        await in_thread(client.conversations.retrieve, created["id"])


async def test_items_are_added_listed_paged_fetched_and_deleted(client: openai.OpenAI) -> None:
    conversation = await in_thread(client.conversations.create, items=[user("one")])
    raw = await in_thread(client.conversations.items.with_raw_response.create,
                          conversation.id, items=[user("two"), user("three")])
    added = json.loads(raw.text)
    check("openai", "ConversationItemList", added)
    assert [i["content"][0]["text"] for i in added["data"]] == ["two", "three"]
    raw = await in_thread(client.conversations.items.with_raw_response.list, conversation.id,
                          limit=2)
    page = json.loads(raw.text)
    check("openai", "ConversationItemList", page)
    assert [i["content"][0]["text"] for i in page["data"]] == ["three", "two"]  # newest first
    assert page["has_more"]
    listed = await in_thread(client.conversations.items.list, conversation.id, order="asc")
    every = [item async for item in _pages(listed)]
    assert [i.content[0].text for i in every] == ["one", "two", "three"]
    first = every[0].id
    raw = await in_thread(client.conversations.items.with_raw_response.retrieve, first,
                          conversation_id=conversation.id)
    item = json.loads(raw.text)
    check("openai", "ConversationItem", item)
    assert item["id"] == first
    after = await in_thread(client.conversations.items.delete, first,
                            conversation_id=conversation.id)
    assert after.id == conversation.id
    with pytest.raises(openai.NotFoundError):
        await in_thread(client.conversations.items.retrieve, first,
                        conversation_id=conversation.id)


async def _pages(page: Any) -> Any:
    """Every item of an SDK cursor page, fetching the next pages in a thread."""
    while True:
        for item in page.data:
            yield item
        if not page.has_next_page():
            return
        page = await trio.to_thread.run_sync(page.get_next_page)


async def test_more_than_twenty_items_are_refused(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await in_thread(client.conversations.create, items=[user(str(n)) for n in range(21)])
    assert caught.value.body["param"] == "items"  # type: ignore[index]


async def test_another_key_cannot_see_a_conversation(
    client: openai.OpenAI, gateway_url: str
) -> None:
    conversation = await in_thread(client.conversations.create, items=[user("secret")])
    with openai.OpenAI(base_url=gateway_url, api_key=CLIENT_KEY + "-other",
                       max_retries=0) as other:
        with pytest.raises(openai.NotFoundError):
            await in_thread(other.conversations.retrieve, conversation.id)
        with pytest.raises(openai.NotFoundError):
            await in_thread(other.conversations.items.list, conversation.id)
        with pytest.raises(openai.NotFoundError):
            await in_thread(other.responses.create, model="groq@m", input="hi",
                            conversation=conversation.id)


async def test_responses_in_a_conversation_read_and_extend_it(
    client: openai.OpenAI, upstream: FakeUpstream
) -> None:
    conversation = await in_thread(client.conversations.create,
                                   items=[user("My name is Ada.")])
    upstream.queue(Script(text="Hello Ada."), Script(text="You are Ada."))
    first = await in_thread(client.responses.with_raw_response.create, model="groq@m",
                            input="Greet me.", conversation=conversation.id)
    body = json.loads(first.text)
    check_response(body)
    assert body["conversation"] == {"id": conversation.id}
    sent = upstream.last().body["messages"]
    assert [m["content"] for m in sent] == ["My name is Ada.", "Greet me."]
    second = await in_thread(client.responses.create, model="groq@m", input="Who am I?",
                             conversation={"id": conversation.id})
    assert second.output_text == "You are Ada."
    sent = upstream.last().body["messages"]
    assert [m["content"] for m in sent] == ["My name is Ada.", "Greet me.", "Hello Ada.",
                                            "Who am I?"]
    items = await in_thread(client.conversations.items.list, conversation.id, order="asc")
    assert [i.type for i in items.data] == ["message"] * 5
    assert items.data[4].id == second.output[0].id


async def test_conversation_and_previous_response_id_exclude_each_other(
    client: openai.OpenAI
) -> None:
    conversation = await in_thread(client.conversations.create)
    first = await in_thread(client.responses.create, model="groq@m", input="hi")
    with pytest.raises(openai.BadRequestError):
        await in_thread(client.responses.create, model="groq@m", input="again",
                        conversation=conversation.id, previous_response_id=first.id)
    with pytest.raises(openai.NotFoundError):
        await in_thread(client.responses.create, model="groq@m", input="x",
                        conversation="conv_unknown")


async def test_an_empty_item_list_has_string_first_and_last_ids(client: openai.OpenAI) -> None:
    conversation = await in_thread(client.conversations.create)
    raw = await in_thread(client.conversations.items.with_raw_response.list, conversation.id)
    page = json.loads(raw.text)
    check("openai", "ConversationItemList", page)  # first_id / last_id: required strings
    assert page == {"object": "list", "data": [], "first_id": "", "last_id": "",
                    "has_more": False}
    listed = await in_thread(client.conversations.items.list, conversation.id)
    assert listed.data == []
    assert not listed.has_next_page()
    added = await in_thread(client.conversations.items.create, conversation.id, items=[])
    assert isinstance(added, ConversationItemList)  # the SDK's strict model: no null ids
    assert (added.data, added.first_id, added.last_id) == ([], "", "")
    check("openai", "ConversationItemList", added.model_dump())
