"""ResponsesProtocol.build_request: a stateless (store=false) Responses request."""

from __future__ import annotations

from typing import Any

import pytest

from openresponses.providers.openai_responses import ResponsesProtocol
from openresponses.schema.model_call import ModelCall
from tests.transcripts import load

USER = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}
TOOL = {"type": "function", "name": "f", "parameters": {"type": "object"}, "strict": True}


def build(model: str = "gpt-4o", **fields: Any) -> dict[str, Any]:
    fields.setdefault("input", [USER])
    request = ResponsesProtocol().build_request(ModelCall(provider="openai", model=model, **fields))
    assert request.path == "/responses"
    return request.body


def test_minimal_request_is_stateless() -> None:
    assert build(stream=False) == {
        "model": "gpt-4o",
        "input": [USER],
        "store": False,
        "stream": False,
    }


def test_all_modelled_fields_are_sent() -> None:
    body = build(
        instructions="Be brief.",
        tools=[TOOL, {"type": "web_search"}],
        tool_choice={"type": "function", "name": "f"},
        parallel_tool_calls=False,
        temperature=0.1,
        top_p=0.5,
        max_output_tokens=99,
        text_format={"type": "json_object"},
        user="u",
        metadata={"k": "v"},
    )
    assert body["instructions"] == "Be brief."
    assert body["tools"] == [TOOL, {"type": "web_search"}]
    assert body["tool_choice"] == {"type": "function", "name": "f"}
    assert (body["parallel_tool_calls"], body["temperature"], body["top_p"]) == (False, 0.1, 0.5)
    assert body["max_output_tokens"] == 99
    assert body["text"] == {"format": {"type": "json_object"}}
    assert (body["user"], body["metadata"]) == ("u", {"k": "v"})
    assert "include" not in body


def test_reasoning_items_without_encrypted_content_are_dropped() -> None:
    keep = {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "blob"}
    drop = {"type": "reasoning", "id": "rs_2", "summary": [{"type": "summary_text", "text": "x"}]}
    call = {"type": "function_call", "id": "fc_1", "call_id": "c", "name": "f", "arguments": "{}"}
    out = {"type": "function_call_output", "call_id": "c", "output": "1", "status": "completed"}
    foreign = {"type": "reasoning", "id": "rs_3", "summary": [],
               "encrypted_content": "anthropic:thinking:sig"}
    body = build(input=[USER, keep, drop, foreign, call, out])
    no_id = [{k: v for k, v in i.items() if k != "id"} for i in (USER, keep, call, out)]
    assert body["input"] == no_id


@pytest.mark.parametrize("model", ["o3-mini", "o4-mini", "gpt-5", "gpt-5.5", "o1"])
def test_reasoning_models_ask_for_encrypted_reasoning(model: str) -> None:
    assert build(model=model)["include"] == ["reasoning.encrypted_content"]


def test_a_reasoning_request_asks_for_encrypted_reasoning_merged_with_extra_include() -> None:
    extra = {"include": ["web_search_call.action.sources", "reasoning.encrypted_content"]}
    body = build(reasoning={"effort": "low"}, extra=extra)
    assert body["reasoning"] == {"effort": "low"}
    assert body["include"] == ["web_search_call.action.sources", "reasoning.encrypted_content"]


def test_extra_fields_pass_through_but_cannot_turn_storage_on() -> None:
    extra = {
        "service_tier": "flex",
        "store": True,
        "text": {"verbosity": "low"},
        "truncation": "auto",
    }
    body = build(extra=extra, text_format={"type": "text"})
    assert (body["service_tier"], body["truncation"], body["store"]) == ("flex", "auto", False)
    assert body["text"] == {"verbosity": "low", "format": {"type": "text"}}


def test_recorded_request_shape_is_reproduced() -> None:
    """B03's recorded request (simonw/llm), rebuilt from a ModelCall."""
    recorded = load("B03").request_json()
    call = ModelCall(
        provider="openai",
        model=recorded["model"],
        input=recorded["input"],
        tools=recorded["tools"],
        reasoning=recorded["reasoning"],
        stream=recorded["stream"],
    )
    assert ResponsesProtocol().build_request(call).body == recorded


def test_auth_header_is_bearer() -> None:
    assert ResponsesProtocol().auth_headers("k") == {"Authorization": "Bearer k"}
