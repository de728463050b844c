"""What a conversation accepts as items. An item id appears once per conversation: adding
an item whose id the conversation (or the same request) already holds is a 400 naming it, and
nothing of the request is added; a response whose input repeats a conversation's item id is
refused before the model is called.
Before, the repeated item was silently dropped, so the conversation lost the user's turn. A
compaction item of this gateway's that was altered is refused as it is added: it used to be
stored, and then every later turn of the conversation failed blaming its own input."""

from __future__ import annotations

from functools import partial
from typing import Any

import openai
import pytest
import trio

from tests.fakes.script import Script
from tests.fakes.upstream import FakeUpstream


async def in_thread(fn: Any, *args: Any, **kwargs: Any) -> Any:
    return await trio.to_thread.run_sync(lambda: fn(*args, **kwargs))


def user(text: str, item_id: str | None = None) -> dict[str, Any]:
    item = {"type": "message", "role": "user", "content": text}
    return item if item_id is None else {**item, "id": item_id}


async def texts(client: openai.OpenAI, conversation_id: str) -> list[str]:
    page = await in_thread(client.conversations.items.list, conversation_id, order="asc")
    return [item.content[0].text for item in page.data]


def refusal(caught: pytest.ExceptionInfo[openai.BadRequestError]) -> tuple[Any, Any]:
    error = caught.value.body
    assert isinstance(error, dict)
    assert "Duplicate item found with id 'msg_x'" in error["message"]
    return error["param"], error["code"]


async def test_creating_a_conversation_with_one_id_twice_is_refused(
    client: openai.OpenAI
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await in_thread(client.conversations.create,
                        items=[user("first", "msg_x"), user("second", "msg_x")])
    assert refusal(caught) == ("items[1].id", "invalid_value")


async def test_adding_an_id_the_conversation_holds_adds_nothing_and_names_it(
    client: openai.OpenAI
) -> None:
    conversation = await in_thread(client.conversations.create, items=[user("old", "msg_x")])
    with pytest.raises(openai.BadRequestError) as caught:
        await in_thread(client.conversations.items.create, conversation.id,
                        items=[user("fresh"), user("new", "msg_x")])
    assert refusal(caught) == ("items[1].id", "invalid_value")
    with pytest.raises(openai.BadRequestError) as caught:
        await in_thread(client.conversations.items.create, conversation.id,
                        items=[user("a", "msg_x"), user("b", "msg_x")])
    assert refusal(caught)[0] == "items[1].id"  # the request repeats itself
    assert await texts(client, conversation.id) == ["old"]  # "fresh" was not added either


async def test_a_response_repeating_a_conversation_item_id_is_refused_before_the_model(
    client: openai.OpenAI, upstream: FakeUpstream
) -> None:
    conversation = await in_thread(client.conversations.create, items=[user("old", "msg_x")])
    with pytest.raises(openai.BadRequestError) as caught:
        await in_thread(client.responses.create, model="groq@m", conversation=conversation.id,
                        input=[user("new", "msg_x")])
    assert refusal(caught) == ("input[0].id", "invalid_value")
    assert upstream.received == []
    answered = await in_thread(client.responses.create, model="groq@m",
                               conversation=conversation.id, input=[user("new", "msg_y")])
    assert answered.status == "completed"
    assert (await texts(client, conversation.id))[:2] == ["old", "new"]


async def test_an_altered_compaction_item_is_refused_as_it_is_added(
    client: openai.OpenAI, upstream: FakeUpstream
) -> None:
    upstream.queue(Script(text="The user likes trio."))
    compacted = await in_thread(client.responses.compact, model="groq@m",
                                input=[user("I like trio.")])
    sealed = compacted.output[0].model_dump(exclude_none=True)
    payload, mac = sealed["encrypted_content"].removeprefix("orc1.").split(".")
    forged: Any = {**sealed, "id": "cmp_forged",
                   "encrypted_content": f"orc1.{payload[::-1]}.{mac}"}
    hello: Any = user("hi")
    conversation = await in_thread(client.conversations.create, items=[sealed])
    for add in (partial(client.conversations.create, items=[hello, forged]),
                partial(client.conversations.items.create, conversation.id, items=[forged])):
        with pytest.raises(openai.BadRequestError) as caught:
            await in_thread(add)
        error = caught.value.body
        assert isinstance(error, dict)
        assert error["code"] == "invalid_encrypted_content"
        assert error["param"].endswith("].encrypted_content")
    answered = await in_thread(client.responses.create, model="groq@m",
                               conversation=conversation.id, input="go on")
    assert answered.status == "completed"  # the genuine item was kept and reads fine


async def test_an_item_whose_id_holds_a_slash_can_be_fetched_and_deleted(
    client: openai.OpenAI
) -> None:
    conversation = await in_thread(client.conversations.create,
                                   items=[user("odd", "msg/with/slashes")])
    fetched = await in_thread(client.conversations.items.retrieve, "msg/with/slashes",
                              conversation_id=conversation.id)
    assert fetched.id == "msg/with/slashes"
    await in_thread(client.conversations.items.delete, "msg/with/slashes",
                    conversation_id=conversation.id)
    assert await texts(client, conversation.id) == []
