"""Chat requests → Responses items and ``ModelCall``s: messages, tools, formats, parameters
each family can or cannot take; then through the real provider modules."""

from __future__ import annotations

from typing import Any

import pytest

from openresponses.chat.request import parse_chat_request
from openresponses.chat.to_items import messages_to_items, translate
from openresponses.errors import InvalidRequest
from openresponses.providers.openai_responses import ResponsesProtocol
from openresponses.providers.registry import protocol_for

TOOL = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}


def request(**fields: Any) -> Any:
    body = {"model": "p@m", "messages": [{"role": "user", "content": "hi"}], **fields}
    return parse_chat_request(body)


def strip_ids(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in item.items() if k not in ("id", "status")} for item in items]


def test_a_conversation_becomes_items() -> None:
    items = messages_to_items([
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": [
            {"type": "text", "text": "look"},
            {"type": "image_url", "image_url": {"url": "https://x/y.png", "detail": "low"}},
            {"type": "file", "file": {"file_data": "data:application/pdf;base64,AA",
                                      "filename": "a.pdf"}}]},
        {"role": "assistant", "content": "Checking.", "tool_calls": [
            {"id": "call_1", "type": "function",
             "function": {"name": "f", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": [{"type": "text", "text": "ok"}]},
        {"role": "assistant", "content": None, "refusal": "No."},
    ])
    assert strip_ids(items) == [
        {"type": "message", "role": "system",
         "content": [{"type": "input_text", "text": "Be brief."}]},
        {"type": "message", "role": "user", "content": [
            {"type": "input_text", "text": "look"},
            {"type": "input_image", "image_url": "https://x/y.png", "detail": "low"},
            {"type": "input_file", "file_data": "data:application/pdf;base64,AA",
             "filename": "a.pdf"}]},
        {"type": "message", "role": "assistant",
         "content": [{"type": "output_text", "text": "Checking.", "annotations": []}]},
        {"type": "function_call", "call_id": "call_1", "name": "f", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "call_1", "output": "ok"},
        {"type": "message", "role": "assistant",
         "content": [{"type": "refusal", "refusal": "No."}]},
    ]
    assert all(item["id"] for item in items)


def test_call_fields_are_translated() -> None:
    translated = translate(request(
        tools=[TOOL], tool_choice={"type": "function", "function": {"name": "f"}},
        parallel_tool_calls=False, temperature=0.3, top_p=0.9, max_completion_tokens=50,
        max_tokens=10, reasoning_effort="low", user="u1", service_tier="flex",
        response_format={"type": "json_schema", "json_schema": {
            "name": "out", "schema": {"type": "object"}, "strict": True}},
    ), "responses", "openai", "gpt-4o")
    call = translated.call
    assert call.tools == [{"type": "function", "name": "f", "description": None,
                           "parameters": {"type": "object"}, "strict": False}]
    assert call.tool_choice == {"type": "function", "name": "f"}
    assert (call.parallel_tool_calls, call.temperature, call.top_p) == (False, 0.3, 0.9)
    assert call.max_output_tokens == 50  # max_completion_tokens wins over max_tokens
    assert call.reasoning == {"effort": "low"}
    assert call.text_format == {"type": "json_schema", "name": "out",
                                "schema": {"type": "object"}, "strict": True}
    assert translated.extra_body == {"service_tier": "flex"}
    body = protocol_for("responses").build_request(call).body
    assert body["text"]["format"]["name"] == "out"


def test_allowed_tools_choice_is_flattened() -> None:
    choice = {"type": "allowed_tools", "allowed_tools": {
        "mode": "required", "tools": [{"type": "function", "function": {"name": "f"}}]}}
    call = translate(request(tools=[TOOL], tool_choice=choice), "anthropic", "a", "c").call
    assert call.tool_choice == {"type": "allowed_tools", "mode": "required",
                                "tools": [{"type": "function", "name": "f"}]}


def test_anthropic_takes_stop_as_stop_sequences() -> None:
    translated = translate(request(stop="END"), "anthropic", "anthropic", "claude")
    assert translated.extra_body == {"stop_sequences": ["END"]}


@pytest.mark.parametrize("family", ["anthropic", "responses"])
@pytest.mark.parametrize(("fields", "param"), [
    ({"n": 3}, "n"), ({"seed": 1}, "seed"), ({"logprobs": True}, "logprobs"),
    ({"top_logprobs": 2, "logprobs": False}, "top_logprobs"),
    ({"logit_bias": {"50256": -100}}, "logit_bias"),
    ({"modalities": ["text", "audio"]}, "modalities"), ({"functions": [{"name": "f"}]},
                                                        "functions"),
    ({"tools": [{"type": "custom", "custom": {"name": "c"}}]}, "tools[0].type"),
])
def test_what_a_family_cannot_do_is_a_400(family: str, fields: dict[str, Any],
                                          param: str) -> None:
    with pytest.raises(InvalidRequest) as raised:
        translate(request(**fields), family, "p", "m")
    assert raised.value.param == param
    assert raised.value.code == "unsupported_parameter"


@pytest.mark.parametrize("fields", [{"n": 1}, {"seed": None}, {"logprobs": False},
                                    {"presence_penalty": 0}, {"modalities": ["text"]}])
def test_neutral_values_are_accepted(fields: dict[str, Any]) -> None:
    translate(request(**fields), "anthropic", "p", "m")


def test_anthropic_has_no_penalties() -> None:
    with pytest.raises(InvalidRequest, match="'frequency_penalty'"):
        translate(request(frequency_penalty=0.5), "anthropic", "p", "m")


def test_the_responses_api_gets_the_penalties_the_hints_and_verbosity() -> None:
    """They were refused (penalties) or dropped (verbosity), though the API takes them."""
    translated = translate(request(
        presence_penalty=0.5, frequency_penalty=-1, prompt_cache_key="k", verbosity="low",
        response_format={"type": "json_object"}), "responses", "p", "m")
    assert translated.extra_body == {"presence_penalty": 0.5, "frequency_penalty": -1,
                                     "prompt_cache_key": "k"}
    body = ResponsesProtocol().build_request(translated.call).body
    assert body["text"] == {"verbosity": "low", "format": {"type": "json_object"}}


def test_stop_is_refused_by_the_responses_api() -> None:
    with pytest.raises(InvalidRequest, match="'stop'"):
        translate(request(stop=["x"]), "responses", "p", "m")


def test_parse_keeps_stream_options_and_defaults() -> None:
    parsed = request(stream=True, stream_options={"include_usage": True})
    assert (parsed.stream, parsed.include_usage, parsed.store) == (True, True, False)
    assert request(stop="x").stop == ["x"]
    assert request().metadata == {}
