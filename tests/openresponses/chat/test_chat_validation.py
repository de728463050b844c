"""Every way a ``POST /v1/chat/completions`` body can be refused before any I/O: a 400 naming
the ``param``, through the same code the route runs (parse, resolve the provider, translate)."""

from __future__ import annotations

from typing import Any, cast

import pytest

from openresponses.auth import Caller
from openresponses.chat.request import parse_chat_request
from openresponses.chat.run import ChatRun
from openresponses.config import load_config
from openresponses.errors import InvalidRequest
from openresponses.gateway.run import Gateway

HI = [{"role": "user", "content": "hi"}]
CONFIG = load_config(env={}, path=None)
# Routing only reads which providers exist; nothing is sent in these tests.
GATEWAY = Gateway(config=CONFIG, providers=dict.fromkeys(CONFIG.providers, cast(Any, None)),
                  storage=cast(Any, None))


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ([], None),
        ({"messages": HI}, "model"),
        ({"model": "nope", "messages": HI}, "model"),
        ({"model": "unknown@m", "messages": HI}, "model"),
        ({"model": "groq@m"}, "messages"),
        ({"model": "groq@m", "messages": []}, "messages"),
        ({"model": "groq@m", "messages": [{"role": "wizard", "content": "x"}]},
         "messages[0].role"),
        ({"model": "groq@m", "messages": [{"role": "user"}]}, "messages[0].content"),
        ({"model": "groq@m", "messages": [{"role": "user", "content": [{"type": "video"}]}]},
         "messages[0].content[0].type"),
        ({"model": "groq@m", "messages": [{"role": "tool", "content": "x"}]},
         "messages[0].tool_call_id"),
        ({"model": "groq@m", "messages": [{"role": "assistant", "tool_calls": [
            {"id": "c", "type": "function", "function": {"name": "f"}}]}]},
         "messages[0].tool_calls[0].function.arguments"),
        ({"model": "groq@m", "messages": HI, "tools": [{"type": "function"}]},
         "tools[0].function.name"),
        ({"model": "groq@m", "messages": HI, "tools": [{"type": "magic"}]}, "tools[0].type"),
        ({"model": "groq@m", "messages": HI, "tool_choice": "sometimes"}, "tool_choice"),
        ({"model": "groq@m", "messages": HI, "temperature": 3}, "temperature"),
        ({"model": "groq@m", "messages": HI, "n": 0}, "n"),
        ({"model": "groq@m", "messages": HI, "stop": ["a", "b", "c", "d", "e"]}, "stop"),
        ({"model": "groq@m", "messages": HI, "stream_options": {"include_usage": True}},
         "stream_options"),
        ({"model": "groq@m", "messages": HI, "response_format": {"type": "xml"}},
         "response_format.type"),
        ({"model": "groq@m", "messages": HI, "response_format": {"type": "json_schema",
                                                                 "json_schema": {}}},
         "response_format.json_schema.name"),
        ({"model": "groq@m", "messages": HI, "metadata": {"k": 1}}, "metadata.k"),
        ({"model": "claude@c", "messages": HI, "n": 2}, "n"),
        ({"model": "claude@c", "messages": HI, "seed": 1}, "seed"),
        ({"model": "claude@c", "messages": HI, "logprobs": True}, "logprobs"),
        ({"model": "openai@gpt-4o", "messages": HI, "stop": "END"}, "stop"),
        ({"model": "openai@gpt-4o", "messages": HI, "seed": 3}, "seed"),
        ({"model": "claude@c", "messages": HI, "presence_penalty": 1}, "presence_penalty"),
        ({"model": "openai@gpt-4o", "messages": [{"role": "user", "content": [
            {"type": "input_audio", "input_audio": {"data": "", "format": "wav"}}]}]},
         "messages[0].content[0].type"),
    ],
)
def test_bad_requests_are_400_naming_the_param(body: dict[str, Any], param: str) -> None:
    with pytest.raises(InvalidRequest) as raised:
        ChatRun(GATEWAY, Caller(owner="o", bearer="b"), parse_chat_request(body))
    assert (raised.value.status, raised.value.param) == (400, param)
    assert raised.value.message


@pytest.mark.parametrize("body", [
    {"model": "groq@m", "messages": HI, "n": 3, "seed": 1, "logprobs": True, "stop": "x",
     "frequency_penalty": 1, "tools": [{"type": "custom", "custom": {"name": "c"}}]},
    {"model": "claude@c", "messages": [
        {"role": "system", "content": [{"type": "text", "text": "s"}]},
        {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://x"}}]},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "r"}], "stop": ["a", "b"]},
    {"model": "openai@gpt-4o", "messages": HI, "n": 1, "seed": None, "logprobs": False,
     "response_format": {"type": "json_object"}, "reasoning_effort": "high"},
])
def test_valid_requests_pass(body: dict[str, Any]) -> None:
    ChatRun(GATEWAY, Caller(owner="o", bearer="b"), parse_chat_request(body))


