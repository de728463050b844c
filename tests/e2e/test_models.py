"""``/v1/models``: every provider's own list as ``provider@model`` ids, plus the models and
aliases named in the config file; a provider that never answers does not hold the list up."""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path
from typing import Any

import httpx2
import openai
import pytest
import trio

from tests.e2e.chat_client import loopback_client, post_chat, stream_chat
from tests.e2e.conftest import CLIENT_KEY
from tests.fakes.script import Script
from tests.fakes.upstream import ErrorReply, FakeUpstream
from tests.spec import check

AUTH = {"authorization": f"Bearer {CLIENT_KEY}"}
TIMEOUT = 1.0  # a live provider must answer its list within it, even on a busy machine


@pytest.fixture
async def dead_url() -> AsyncIterator[str]:
    """A server that accepts connections and never answers."""
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")

    async def hold(stream: trio.SocketStream) -> None:
        await trio.sleep_forever()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(partial(trio.serve_listeners, hold, listeners))
        port = listeners[0].socket.getsockname()[1]
        yield f"http://127.0.0.1:{port}/v1"
        nursery.cancel_scope.cancel()


@pytest.fixture
def gateway_extra_env(upstream: FakeUpstream, dead_url: str, tmp_path: Path) -> dict[str, str]:
    config = tmp_path / "openresponses.toml"
    config.write_text(f"""
[providers.dead]
api = "chat"
base_url = "{dead_url}"
models = ["ghost-1"]

[providers.groq]
models = ["from-config"]

[models.fast]
targets = ["groq@from-config"]

[models.sturdy]
targets = ["openai@gpt-4o", "claude@claude-sonnet-4-5"]
""")
    return {"OPENRESPONSES_CONFIG": str(config), "OPENRESPONSES_MODELS_TIMEOUT": str(TIMEOUT),
            "OLLAMA_BASE_URL": f"{upstream.url}/ollama/v1"}


async def get(gateway_url: str, path: str) -> tuple[float, httpx2.Response]:
    async with loopback_client() as http:
        started = trio.current_time()
        response = await http.get(f"{gateway_url}{path}", headers=AUTH)
        return trio.current_time() - started, response


async def test_list_merges_providers_and_config_despite_a_dead_provider(
    gateway_url: str, upstream: FakeUpstream
) -> None:
    elapsed, response = await get(gateway_url, "/models")
    assert response.status_code == 200
    assert elapsed < TIMEOUT + 1.0, f"the dead provider held the list for {elapsed:.2f}s"
    body = response.json()
    check("openai", "ListModelsResponse", body)
    ids = [m["id"] for m in body["data"]]
    assert len(ids) == len(set(ids))
    for provider in ("openai", "groq", "anthropic", "ollama"):
        assert f"{provider}@fake-model-a" in ids
    assert {"dead@ghost-1", "groq@from-config", "fast"} <= set(ids)
    assert not any(i.startswith(("gemini@", "mistral@")) for i in ids)  # nobody configured them
    anthropic = next(m for m in body["data"] if m["id"] == "anthropic@fake-model-b")
    assert anthropic["created"] > 1_700_000_000  # from Anthropic's created_at
    sent = {r.path: r.headers for r in upstream.model_lists}
    assert sent["/openai/v1/models"]["authorization"] == f"Bearer {CLIENT_KEY}"
    assert sent["/v1/models"].get("x-api-key") in (CLIENT_KEY, None)


async def test_lists_are_cached_and_the_dead_provider_is_not_retried_at_once(
    gateway_url: str, upstream: FakeUpstream
) -> None:
    await get(gateway_url, "/models")
    asked = len(upstream.model_lists)
    elapsed, response = await get(gateway_url, "/models")
    assert response.status_code == 200
    assert len(upstream.model_lists) == asked
    assert elapsed < TIMEOUT


async def test_sdk_list_and_retrieve(client: openai.OpenAI) -> None:
    models = await trio.to_thread.run_sync(lambda: list(client.models.list()))
    assert "groq@fake-model-b" in [m.id for m in models]
    model = await trio.to_thread.run_sync(lambda: client.models.retrieve("groq@fake-model-b"))
    assert (model.id, model.object, model.owned_by) == ("groq@fake-model-b", "model", "fake")


@pytest.mark.parametrize(("model_id", "expected"), [
    ("groq@fake-model-a", "groq@fake-model-a"),
    ("claude@fake-model-a", "anthropic@fake-model-a"),
    ("groq@from-config", "groq@from-config"),
    ("dead@ghost-1", "dead@ghost-1"),
    ("fast", "fast"),
])
async def test_retrieve_one(gateway_url: str, model_id: str, expected: str) -> None:
    _, response = await get(gateway_url, f"/models/{model_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    check("openai", "Model", body)
    assert body["id"] == expected


@pytest.mark.parametrize("model_id", ["groq@nope", "unknown@x", "nothing"])
async def test_unknown_model_is_a_404_envelope(gateway_url: str, model_id: str) -> None:
    _, response = await get(gateway_url, f"/models/{model_id}")
    assert response.status_code == 404
    error = response.json()["error"]
    assert (error["type"], error["code"]) == ("invalid_request_error", "model_not_found")


@pytest.mark.parametrize("stream", [False, True])
async def test_chat_on_a_model_alias_falls_back_to_the_next_target(
    gateway_url: str, upstream: FakeUpstream, stream: bool
) -> None:
    """The aliases listed here are usable with /chat/completions, with the same fallback as
    /responses: the first target fails before answering, the next (another family) answers."""
    upstream.queue(ErrorReply(503, {"error": {"message": "busy", "type": "server_error"}}),
                   Script(text="from the second target"))
    body = {"model": "sturdy", "messages": [{"role": "user", "content": "hi"}]}
    if stream:
        chunks, done = await stream_chat(gateway_url, {**body, "stream": True})
        assert done
        text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)
        assert {c["model"] for c in chunks} == {"sturdy"}
    else:
        status, answer = await post_chat(gateway_url, body)
        assert status == 200, answer
        text = answer["choices"][0]["message"]["content"]
        assert answer["model"] == "sturdy"
    assert text == "from the second target"
    assert [r.path for r in upstream.received] == ["/v1/responses", "/v1/messages"]
