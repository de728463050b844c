"""``parse_create_response``: absent fields take their defaults, present ones are validated in
one fixed order (of two bad fields, the first is reported)."""

from __future__ import annotations

from typing import Any

import attrs
import pytest

from openresponses.errors import InvalidRequest
from openresponses.schema.request import CreateResponse, parse_create_response

# Every optional body key with a value its reader refuses, in the order they are validated.
BAD: list[tuple[str, Any, str]] = [
    ("text", 5, "text"),
    ("truncation", "sometimes", "truncation"),
    ("model", 5, "model"),
    ("input", 5, "input"),
    ("instructions", 5, "instructions"),
    ("tools", 5, "tools"),
    ("tool_choice", "always", "tool_choice"),
    ("parallel_tool_calls", "yes", "parallel_tool_calls"),
    ("reasoning", 5, "reasoning"),
    ("metadata", {"k": 5}, "metadata.k"),
    ("user", 5, "user"),
    ("safety_identifier", 5, "safety_identifier"),
    ("prompt_cache_key", 5, "prompt_cache_key"),
    ("service_tier", 5, "service_tier"),
    ("store", "yes", "store"),
    ("stream", "yes", "stream"),
    ("background", "yes", "background"),
    ("previous_response_id", 5, "previous_response_id"),
    ("conversation", 5, "conversation"),
    ("context_management", [{"type": "other"}], "context_management[0].type"),
    ("include", [5], "include"),
    ("temperature", 3, "temperature"),
    ("top_p", 2, "top_p"),
    ("presence_penalty", 3, "presence_penalty"),
    ("frequency_penalty", 3, "frequency_penalty"),
    ("top_logprobs", 21, "top_logprobs"),
    ("max_output_tokens", 0, "max_output_tokens"),
    ("max_tool_calls", -1, "max_tool_calls"),
]
OPTIONAL = [key for key, _, _ in BAD if key not in ("model", "input")]


def _param(body: dict[str, Any]) -> str | None:
    with pytest.raises(InvalidRequest) as caught:
        parse_create_response(body)
    return caught.value.param


def test_a_null_field_is_parsed_as_an_absent_one() -> None:
    bare = parse_create_response({"model": "m"})
    nulls = parse_create_response({"model": "m", **dict.fromkeys(OPTIONAL)})
    assert bare == nulls == CreateResponse(model="m", input=[])


@pytest.mark.parametrize(("key", "value", "param"), BAD)
def test_each_bad_field_is_named(key: str, value: Any, param: str) -> None:
    assert _param({"model": "m", key: value}) == param


@pytest.mark.parametrize("index", range(len(BAD) - 1))
def test_of_two_bad_fields_the_first_in_order_is_reported(index: int) -> None:
    (first, bad_first, param), (second, bad_second, _) = BAD[index], BAD[index + 1]
    body = {"model": "m", second: bad_second, first: bad_first}  # body order does not matter
    assert _param(body) == param


def test_every_field_is_read() -> None:
    body = {
        "model": "m", "input": "hi", "instructions": "be brief", "tools": [
            {"type": "function", "name": "f"}], "tool_choice": "required",
        "parallel_tool_calls": False, "text": {"format": {"type": "json_object"},
                                                "verbosity": "low"},
        "reasoning": {"effort": "low"}, "metadata": {"a": "b"}, "user": "u",
        "safety_identifier": "s", "prompt_cache_key": "p", "service_tier": "flex",
        "truncation": "auto", "store": False, "stream": True, "background": True,
        "previous_response_id": "resp_1", "conversation": {"id": "conv_1"},
        "context_management": [{"type": "compaction", "compact_threshold": 5000}],
        "include": ["reasoning.encrypted_content"], "temperature": 0.5, "top_p": 0.9,
        "presence_penalty": 1, "frequency_penalty": -1, "top_logprobs": 3,
        "max_output_tokens": 100, "max_tool_calls": 2, "seed": 7,
    }
    parsed = parse_create_response(body)
    assert (parsed.instructions, parsed.tool_choice, parsed.parallel_tool_calls) == (
        "be brief", "required", False)
    assert [tool["name"] for tool in parsed.tools] == ["f"]
    assert (parsed.text_format, parsed.text_verbosity) == ({"type": "json_object"}, "low")
    assert (parsed.reasoning, parsed.metadata, parsed.user) == ({"effort": "low"}, {"a": "b"}, "u")
    assert (parsed.safety_identifier, parsed.prompt_cache_key, parsed.service_tier) == (
        "s", "p", "flex")
    assert (parsed.truncation, parsed.store, parsed.stream, parsed.background) == (
        "auto", False, True, True)
    assert (parsed.previous_response_id, parsed.conversation, parsed.compact_threshold) == (
        "resp_1", "conv_1", 5000)
    assert parsed.include == ["reasoning.encrypted_content"]
    assert (parsed.temperature, parsed.top_p, parsed.presence_penalty,
            parsed.frequency_penalty) == (0.5, 0.9, 1.0, -1.0)
    assert (parsed.top_logprobs, parsed.max_output_tokens, parsed.max_tool_calls) == (3, 100, 2)
    assert parsed.extra == {"seed": 7}
    assert parsed.input[0]["content"] == [{"type": "input_text", "text": "hi"}]


def test_a_parsed_request_is_immutable() -> None:
    parsed = parse_create_response({"model": "m"})
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        parsed.model = "other"  # type: ignore[misc]
    assert attrs.evolve(parsed, stream=True).stream


@pytest.mark.parametrize("entry", [None, "compaction", 5])
def test_a_context_management_entry_that_is_no_object_is_named_itself(entry: Any) -> None:
    """It was named as ``context_management[0].type``, a field it does not have."""
    assert _param({"model": "m", "input": "x", "context_management": [entry]}) == (
        "context_management[0]")
