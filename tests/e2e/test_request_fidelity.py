"""Request settings reach the upstream that can honour them, and a provider that cannot is a
400 naming the setting. A Responses upstream (``openai@``) used to get none of the settings the
gateway parsed (service_tier, prompt_cache_key, penalties, truncation, include, verbosity...),
though each was echoed as if applied; Chat and Anthropic upstreams dropped the penalties."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from tests.e2e.sse_client import AUTH
from tests.fakes.upstream import FakeUpstream

SETTINGS: dict[str, Any] = {
    "service_tier": "flex", "prompt_cache_key": "cache-1", "safety_identifier": "user-7",
    "top_logprobs": 3, "presence_penalty": 0.5, "frequency_penalty": -0.5,
    "truncation": "auto", "max_tool_calls": 4, "include": ["message.output_text.logprobs"],
    "text": {"verbosity": "low"},
}


async def create(gateway_url: str, **body: Any) -> httpx2.Response:
    async with httpx2.AsyncClient(timeout=10) as http:
        return await http.post(f"{gateway_url}/responses", headers=AUTH,
                               json={"input": "hi", **body})


async def test_a_responses_upstream_gets_every_setting_as_sent(
    gateway_url: str, upstream: FakeUpstream
) -> None:
    answer = await create(gateway_url, model="openai@gpt-4o", **SETTINGS)
    assert answer.status_code == 200, answer.text
    sent = upstream.last().body
    for name, value in SETTINGS.items():
        if name != "text":
            assert sent[name] == value, name
    assert sent["text"]["verbosity"] == "low"
    assert sent["store"] is False  # still the gateway's


async def test_a_reasoning_model_keeps_the_clients_includes_beside_its_own(
    gateway_url: str, upstream: FakeUpstream
) -> None:
    await create(gateway_url, model="openai@o4-mini", include=["message.output_text.logprobs"])
    assert upstream.last().body["include"] == ["message.output_text.logprobs",
                                               "reasoning.encrypted_content"]


async def test_a_chat_upstream_gets_the_penalties(gateway_url: str,
                                                  upstream: FakeUpstream) -> None:
    answer = await create(gateway_url, model="groq@m", presence_penalty=0.5,
                          frequency_penalty=0.25, prompt_cache_key="hint")
    assert answer.status_code == 200, answer.text
    sent = upstream.last().body
    assert (sent["presence_penalty"], sent["frequency_penalty"]) == (0.5, 0.25)
    assert "prompt_cache_key" not in sent  # a hint other servers may refuse: left out


@pytest.mark.parametrize(("model", "body", "param"), [
    ("claude@m", {"presence_penalty": 0.5}, "presence_penalty"),
    ("claude@m", {"frequency_penalty": 1}, "frequency_penalty"),
    ("claude@m", {"top_logprobs": 2}, "top_logprobs"),
    ("groq@m", {"top_logprobs": 2}, "top_logprobs"),
    ("claude@m", {"temperature": 1.5}, "temperature"),  # it was sent as 1.0, echoed as 1.5
])
async def test_a_setting_the_provider_cannot_honour_is_a_400_naming_it(
    gateway_url: str, upstream: FakeUpstream, model: str, body: dict[str, Any], param: str
) -> None:
    for stream in (False, True):
        answer = await create(gateway_url, model=model, stream=stream, **body)
        assert answer.status_code == 400, answer.text
        error = answer.json()["error"]
        assert error["param"] == param
        assert error["code"] in ("unsupported_parameter", "unsupported_value")
    assert upstream.received == []


async def test_neutral_values_are_fine_everywhere(gateway_url: str) -> None:
    for model in ("claude@m", "groq@m"):
        answer = await create(gateway_url, model=model, presence_penalty=0, top_logprobs=0)
        assert answer.status_code == 200, answer.text


@pytest.mark.parametrize("model", ["groq@m", "claude@m"])
async def test_a_reusable_prompt_is_a_400_where_it_cannot_be_read(
    gateway_url: str, upstream: FakeUpstream, model: str
) -> None:
    """The turn went upstream without it: with no input, an empty conversation."""
    async with httpx2.AsyncClient(timeout=10) as http:
        answer = await http.post(f"{gateway_url}/responses", headers=AUTH, json={
            "model": model, "prompt": {"id": "pmpt_1", "variables": {"x": "y"}}})
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["param"] == "prompt"
    assert upstream.received == []
    relayed = await create(gateway_url, model="openai@gpt-4o", prompt={"id": "pmpt_1"})
    assert relayed.status_code == 200, relayed.text
    assert upstream.last().body["prompt"] == {"id": "pmpt_1"}


@pytest.mark.parametrize(("body", "param"), [
    ({"reasoning": {"effort": "ultra"}}, "reasoning.effort"),
    ({"reasoning": {"effort": 5}}, "reasoning.effort"),
    ({"reasoning": {"summary": "bogus"}}, "reasoning.summary"),
    ({"text": {"verbosity": "loud"}}, "text.verbosity"),
])
async def test_values_outside_openai_s_enums_are_a_400(
    gateway_url: str, upstream: FakeUpstream, body: dict[str, Any], param: str
) -> None:
    """They were relayed to openai@ (or dropped by a translation) and echoed as sent."""
    answer = await create(gateway_url, model="openai@gpt-4o", **body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["param"] == param
    assert upstream.received == []


async def test_the_largest_effort_is_taken_everywhere(gateway_url: str) -> None:
    for model in ("openai@gpt-5", "groq@m", "claude@m"):
        answer = await create(gateway_url, model=model, reasoning={"effort": "max"})
        assert answer.status_code == 200, (model, answer.text)
