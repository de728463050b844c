"""A real gateway on a PostgreSQL store (``OPENRESPONSES_STORE=postgresql://…``), driven by the
official SDK: create, retrieve, chains, input items, delete; and a store that goes away mid-run
answers 503 in the OpenAI envelope, then serves again when it is back."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import openai
import psycopg
import pytest
import trio

from tests.fakes.script import Script
from tests.fakes.upstream import FakeUpstream
from tests.openresponses.store.backends import postgres_schema
from tests.openresponses.store.proxy import CuttableProxy, cuttable_proxy
from tests.services import postgres_url


@pytest.fixture
def schema_url() -> Iterator[str]:
    with postgres_schema() as url:
        yield url


@pytest.fixture
def proxy() -> Iterator[CuttableProxy]:
    """A proxy in front of PostgreSQL that the test can cut."""
    target = urlsplit(postgres_url())
    with cuttable_proxy((target.hostname or "127.0.0.1", target.port or 5432)) as running:
        yield running


@pytest.fixture
def gateway_extra_env(schema_url: str, proxy: CuttableProxy) -> dict[str, str]:
    """The gateway stores in a fresh schema, reached through the proxy."""
    parts = urlsplit(schema_url)
    user = parts.username or "postgres"
    through_proxy = urlunsplit(parts._replace(netloc=f"{user}@127.0.0.1:{proxy.port}"))
    return {"OPENRESPONSES_STORE": through_proxy}


async def in_thread(fn: Any, *args: Any, **kwargs: Any) -> Any:
    return await trio.to_thread.run_sync(lambda: fn(*args, **kwargs))


def stored_ids(schema_url: str) -> list[str]:
    """The ids of the responses in the schema, read directly."""
    with psycopg.connect(schema_url, autocommit=True) as conn:
        return [row_id for (row_id,) in conn.execute("SELECT id FROM responses ORDER BY id")]


async def test_responses_live_in_postgresql(
    client: openai.OpenAI, upstream: FakeUpstream, schema_url: str
) -> None:
    upstream.queue(Script(text="Paris."), Script(text="About 2 million."))
    first = await in_thread(client.responses.create, model="groq@m", input=[
        {"role": "user", "content": "Hello"}, {"role": "user", "content": "Capital of France?"}])
    assert first.output_text == "Paris."
    fetched = await in_thread(client.responses.retrieve, first.id)
    assert (fetched.id, fetched.output_text, fetched.status) == (first.id, "Paris.", "completed")

    second = await in_thread(client.responses.create, model="groq@m", input="Population?",
                             previous_response_id=first.id)
    assert second.previous_response_id == first.id
    messages = upstream.last().body["messages"]
    assert [m["content"] for m in messages] == [
        "Hello", "Capital of France?", "Paris.", "Population?"]

    items = await in_thread(client.responses.input_items.list, first.id, order="asc", limit=1)
    assert [i.content[0].text for i in items.data] == ["Hello"]
    assert items.has_more
    rest = await in_thread(client.responses.input_items.list, first.id, order="asc",
                           after=items.data[0].id)
    assert [i.content[0].text for i in rest.data] == ["Capital of France?"]
    assert await trio.to_thread.run_sync(stored_ids, schema_url) == sorted([first.id, second.id])

    await in_thread(client.responses.delete, first.id)
    with pytest.raises(openai.NotFoundError):
        await in_thread(client.responses.retrieve, first.id)
    assert await trio.to_thread.run_sync(stored_ids, schema_url) == [second.id]


async def test_a_lost_store_is_a_503_and_the_gateway_recovers(
    client: openai.OpenAI, upstream: FakeUpstream, proxy: CuttableProxy
) -> None:
    upstream.queue(Script(text="Hi."))
    created = await in_thread(client.responses.create, model="groq@m", input="Hi")
    proxy.cut()
    with pytest.raises(openai.InternalServerError) as caught:
        await in_thread(client.responses.retrieve, created.id)
    assert caught.value.status_code == 503
    error = caught.value.body
    assert isinstance(error, dict)
    assert (error["type"], error["code"]) == ("server_error", "store_unavailable")
    assert "postgresql://" not in error["message"]
    proxy.restore()
    for _ in range(20):  # the pool reconnects in the background
        try:
            fetched = await in_thread(client.responses.retrieve, created.id)
        except openai.InternalServerError:
            await trio.sleep(0.2)
            continue
        assert fetched.output_text == "Hi."
        return
    raise AssertionError("the gateway did not recover once the store was back")
