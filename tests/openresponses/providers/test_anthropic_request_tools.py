"""ModelCall → Anthropic Messages request: tools, tool choice, structured output, thinking."""

from __future__ import annotations

from typing import Any

import pytest

from openresponses.errors import InvalidRequest
from openresponses.providers.anthropic import JSON_TOOL
from tests.openresponses.providers.anthropic_items import WEATHER, body, user


def test_function_tools_become_input_schemas() -> None:
    assert body([user("x")], tools=[WEATHER])["tools"] == [
        {
            "name": "weather",
            "description": "Weather for a city",
            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
        }
    ]


@pytest.mark.parametrize(
    ("choice", "parallel", "expected"),
    [
        ("auto", None, {"type": "auto"}),
        ("required", None, {"type": "any"}),
        ("none", False, {"type": "none"}),
        ({"type": "function", "name": "weather"}, None, {"type": "tool", "name": "weather"}),
        (None, False, {"type": "auto", "disable_parallel_tool_use": True}),
        ("required", False, {"type": "any", "disable_parallel_tool_use": True}),
        (
            {"type": "function", "name": "weather"},
            False,
            {"type": "tool", "name": "weather", "disable_parallel_tool_use": True},
        ),
        (None, None, None),
    ],
)
def test_tool_choice_forms(choice: Any, parallel: bool | None, expected: Any) -> None:
    got = body([user("x")], tools=[WEATHER], tool_choice=choice, parallel_tool_calls=parallel)
    assert got.get("tool_choice") == expected


def test_allowed_tools_filters_the_tools_and_sets_the_mode() -> None:
    other = {**WEATHER, "name": "time"}
    choice = {
        "type": "allowed_tools",
        "mode": "required",
        "tools": [{"type": "function", "name": "time"}],
    }
    got = body([user("x")], tools=[WEATHER, other], tool_choice=choice)
    assert [t["name"] for t in got["tools"]] == ["time"]
    assert got["tool_choice"] == {"type": "any"}


def test_unsupported_tools_and_choices_are_rejected_naming_the_param() -> None:
    with pytest.raises(InvalidRequest) as caught:
        body([user("x")], tools=[{"type": "file_search", "vector_store_ids": []}])
    assert caught.value.param == "tools"
    with pytest.raises(InvalidRequest) as caught:
        body([user("x")], tools=[WEATHER], tool_choice={"type": "mystery"})
    assert caught.value.param == "tool_choice"


def test_web_search_tool_maps_to_anthropics_server_tool() -> None:
    tool = {
        "type": "web_search",
        "user_location": {"type": "approximate", "city": "Paris"},
        "filters": {"allowed_domains": ["example.com"]},
    }
    assert body([user("x")], tools=[tool])["tools"] == [
        {
            "type": "web_search_20250305",
            "name": "web_search",
            "user_location": {"type": "approximate", "city": "Paris"},
            "allowed_domains": ["example.com"],
        }
    ]


SCHEMA = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
JSON_FORMAT = {"type": "json_schema", "name": "count", "schema": SCHEMA, "strict": True}


def test_json_schema_is_asked_for_with_a_forced_tool() -> None:
    got = body([user("count")], text_format=JSON_FORMAT)
    assert got["tools"] == [
        {
            "name": JSON_TOOL,
            "input_schema": SCHEMA,
            "description": "Give the final answer as a JSON object (count).",
        }
    ]
    assert got["tool_choice"] == {"type": "tool", "name": JSON_TOOL}
    assert "system" not in got


def test_json_schema_with_caller_tools_lets_the_model_call_either() -> None:
    got = body([user("count")], text_format=JSON_FORMAT, tools=[WEATHER])
    assert [t["name"] for t in got["tools"]] == ["weather", JSON_TOOL]
    assert got["tool_choice"] == {"type": "any"}
    assert JSON_TOOL in got["system"]


def test_json_schema_with_thinking_uses_auto_choice_and_a_system_note() -> None:
    got = body([user("count")], text_format=JSON_FORMAT, reasoning={"effort": "low"})
    assert got["tool_choice"] == {"type": "auto"}
    assert JSON_TOOL in got["system"]


@pytest.mark.parametrize("choice", ["required", {"type": "function", "name": "weather"}])
def test_a_forced_tool_with_thinking_is_a_400(choice: object) -> None:
    """Anthropic refuses forced tool use with extended thinking: that came back as an
    upstream error about a request the client did not write."""
    with pytest.raises(InvalidRequest) as caught:
        body([user("x")], tools=[WEATHER], tool_choice=choice, reasoning={"effort": "low"})
    assert (caught.value.param, caught.value.code) == ("tool_choice", "unsupported_parameter")
    body([user("x")], tools=[WEATHER], tool_choice="auto", reasoning={"effort": "low"})


def test_json_object_format_uses_an_open_object_schema() -> None:
    got = body([user("x")], text_format={"type": "json_object"})
    assert got["tools"][0]["input_schema"] == {"type": "object", "additionalProperties": True}


def test_json_schema_root_must_be_an_object() -> None:
    fmt = {**JSON_FORMAT, "schema": {"type": "array", "items": {}}}
    with pytest.raises(InvalidRequest) as caught:
        body([user("x")], text_format=fmt)
    assert caught.value.param == "text.format.schema"


@pytest.mark.parametrize(
    ("effort", "max_output", "budget", "max_tokens"),
    [
        ("minimal", None, 1024, 1024 + 8192),
        ("low", None, 2048, 2048 + 8192),
        ("medium", 20000, 8192, 20000),
        ("high", 4000, 16384, 16384 + 4000),
    ],
)
def test_reasoning_effort_sets_a_thinking_budget_below_max_tokens(
    effort: str, max_output: int | None, budget: int, max_tokens: int
) -> None:
    got = body(
        [user("x")],
        reasoning={"effort": effort},
        max_output_tokens=max_output,
        temperature=0.5,
        top_p=0.9,
    )
    assert got["thinking"] == {"type": "enabled", "budget_tokens": budget}
    assert got["max_tokens"] == max_tokens > budget
    assert "temperature" not in got
    assert "top_p" not in got


def test_no_effort_means_no_thinking_and_sampling_is_kept() -> None:
    got = body([user("x")], reasoning={"summary": "auto"}, temperature=0.5)
    assert "thinking" not in got
    assert got["temperature"] == 0.5
    assert body([user("x")], top_p=0.9)["top_p"] == 0.9


def test_unknown_effort_is_rejected_naming_the_param() -> None:
    with pytest.raises(InvalidRequest) as caught:
        body([user("x")], reasoning={"effort": "extreme"})
    assert caught.value.param == "reasoning.effort"
