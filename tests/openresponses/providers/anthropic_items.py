"""Shared helpers for the Anthropic request tests: a ModelCall of a few items → the request body."""

from __future__ import annotations

from typing import Any

from openresponses.providers.anthropic import AnthropicProtocol
from openresponses.schema.model_call import Item, ModelCall

PROTOCOL = AnthropicProtocol()
WEATHER = {
    "type": "function",
    "name": "weather",
    "description": "Weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
}


def call(items: list[Item], **fields: Any) -> ModelCall:
    fields.setdefault("stream", False)
    fields.setdefault("model", "claude-sonnet-4-5")
    return ModelCall(provider="anthropic", input=items, **fields)


def body(items: list[Item], **fields: Any) -> dict[str, Any]:
    return PROTOCOL.build_request(call(items, **fields)).body


def user(text: str) -> Item:
    return {"type": "message", "role": "user", "content": text}


def assistant(text: str) -> Item:
    return {
        "type": "message",
        "role": "assistant",
        "content": [{"type": "output_text", "text": text, "annotations": []}],
    }


def fc(call_id: str, arguments: str = '{"city": "Paris"}', name: str = "weather") -> Item:
    return {"type": "function_call", "call_id": call_id, "name": name, "arguments": arguments}


def fco(call_id: str, output: Any = "sunny") -> Item:
    return {"type": "function_call_output", "call_id": call_id, "output": output}
