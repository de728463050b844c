"""Tokens per minute where a stream does not simply run to its end. A client that hangs up
mid-stream is charged what the upstream read and wrote so far (estimated): it used to be
charged nothing, so leaving just before the end dodged the limit. A passthrough chat stream
asks its upstream for the usage whether or not the client did (hidden from a client that did
not ask): without it, OpenAI-compatible upstreams sent none and nothing was charged."""

from __future__ import annotations

import json
from contextlib import aclosing
from typing import Any

import httpx2
import pytest
import trio

from tests.e2e.keys_helpers import KEYS_MODE, bearer, call, create_key
from tests.fakes.script import Script
from tests.fakes.upstream import ErrorReply, FakeUpstream

pytestmark = pytest.mark.parametrize("gateway_extra_env", [KEYS_MODE])
SLOW = Script(text="one two three four five six", chunks=6, delay=0.2)
CHAT = {"model": "groq@m", "messages": [{"role": "user", "content": "count"}], "stream": True}


async def _limited_key(gateway_url: str) -> str:
    key: str = (await create_key(gateway_url, limits={"tokens_per_minute": 10}))["key"]
    return key


async def _hang_up_after_the_first_text(gateway_url: str, key: str, path: str,
                                        body: dict[str, Any]) -> None:
    async with httpx2.AsyncClient(timeout=10) as http, http.stream(
            "POST", f"{gateway_url}{path}", json=body, headers=bearer(key)) as answer:
        assert answer.status_code == 200
        async with aclosing(answer.aiter_bytes()) as pieces:
            async for piece in pieces:
                if b'"delta"' in piece and b"one" in piece:
                    return  # the client leaves mid-stream


async def _refused_soon(gateway_url: str, key: str) -> bool:
    """Whether the key's token bucket refuses within 3 s. The probe charges no tokens: a
    model call without a model, admitted (then a 400) or refused (429) before it is read."""
    with trio.move_on_after(3):
        while True:
            probe = await call("POST", f"{gateway_url}/responses", key, {"input": "x"})
            if probe.status_code == 429:
                return True
            assert probe.status_code == 400, probe.text
            await trio.sleep(0.05)
    return False


@pytest.mark.parametrize(("path", "body"), [
    ("/responses", {"model": "groq@m", "input": "count", "stream": True}),
    ("/responses", {"model": "claude@m", "input": "count", "stream": True}),
    ("/chat/completions", CHAT),
    ("/chat/completions", {**CHAT, "model": "claude@m"}),
])
async def test_a_client_that_hangs_up_mid_stream_is_charged_what_was_spent(
    gateway_url: str, upstream: FakeUpstream, path: str, body: dict[str, Any]
) -> None:
    upstream.queue(SLOW)
    key = await _limited_key(gateway_url)
    await _hang_up_after_the_first_text(gateway_url, key, path, body)
    assert await _refused_soon(gateway_url, key)


async def test_a_passthrough_stream_is_charged_its_usage_which_the_client_did_not_ask_for(
    gateway_url: str, upstream: FakeUpstream
) -> None:
    key = await _limited_key(gateway_url)
    async with httpx2.AsyncClient(timeout=10) as http:
        answer = await http.post(f"{gateway_url}/chat/completions", json=CHAT,
                                 headers=bearer(key))
    chunks = [json.loads(line[6:]) for line in answer.text.splitlines()
              if line.startswith("data: {")]
    assert all("usage" not in chunk for chunk in chunks)  # as OpenAI, unasked
    assert all(chunk["choices"] for chunk in chunks)
    assert upstream.last().body["stream_options"] == {"include_usage": True}
    assert await _refused_soon(gateway_url, key)  # its 18 tokens overdrew the 10


async def test_a_client_that_asks_for_the_usage_gets_it(
    gateway_url: str, upstream: FakeUpstream
) -> None:
    key = (await create_key(gateway_url))["key"]
    async with httpx2.AsyncClient(timeout=10) as http:
        answer = await http.post(f"{gateway_url}/chat/completions", headers=bearer(key),
                                 json={**CHAT, "stream_options": {"include_usage": True}})
    chunks = [json.loads(line[6:]) for line in answer.text.splitlines()
              if line.startswith("data: {")]
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["total_tokens"] == 18


async def test_a_spent_token_budget_refuses_model_calls_not_reads(
    gateway_url: str, upstream: FakeUpstream
) -> None:
    """Reads were refused too: a client could not fetch the result of the background
    response that had spent the budget."""
    key = await _limited_key(gateway_url)
    async with httpx2.AsyncClient(timeout=10) as http:
        first = await http.post(f"{gateway_url}/responses", headers=bearer(key),
                                json={"model": "groq@m", "input": "hi"})
        assert first.status_code == 200
        assert await _refused_soon(gateway_url, key)  # its 18 tokens overdrew the 10
        read = await http.get(f"{gateway_url}/responses/{first.json()['id']}",
                              headers=bearer(key))
        items = await http.get(f"{gateway_url}/responses/{first.json()['id']}/input_items",
                               headers=bearer(key))
    assert (read.status_code, items.status_code) == (200, 200)


@pytest.mark.parametrize("background", [False, True])
async def test_a_summarizing_call_is_charged_when_the_model_call_then_fails(
    gateway_url: str, upstream: FakeUpstream, background: bool
) -> None:
    """It was charged only with a response that went on: an upstream refusing the main call
    (a parameter it does not take) bought an unmetered summary of any input."""
    key = (await create_key(gateway_url, limits={"tokens_per_minute": 1000}))["key"]
    upstream.queue(Script(text="THE SUMMARY", input_tokens=1500, output_tokens=5),
                   ErrorReply(400, {"error": {"message": "no", "type": "invalid_request_error"}}))
    earlier = [{"role": "user", "content": "background " * 600},
               {"role": "assistant", "content": "Noted."}]
    async with httpx2.AsyncClient(timeout=10) as http:
        answer = await http.post(f"{gateway_url}/responses", headers=bearer(key), json={
            "model": "groq@m", "input": [*earlier, {"role": "user", "content": "Q?"}],
            "background": background,
            "context_management": [{"type": "compaction", "compact_threshold": 1000}]})
    assert answer.status_code == (200 if background else 400), answer.text
    assert await _refused_soon(gateway_url, key)
