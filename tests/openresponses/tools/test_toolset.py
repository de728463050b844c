"""Which tools each provider is offered, and how custom / namespace calls are reshaped."""

from __future__ import annotations

import json
from typing import Any

import pytest

from openresponses.errors import InvalidRequest
from openresponses.tools.settings import ToolSettings
from openresponses.tools.toolset import adapt_input, build_toolset

WITH_KEY = ToolSettings(brave_api_key="k")
NO_KEY = ToolSettings()
FUNCTION = {"type": "function", "name": "f", "parameters": {"type": "object"}}


def test_function_tools_pass_through_everywhere() -> None:
    for api in ("chat", "anthropic", "responses"):
        assert build_toolset([FUNCTION], api=api, settings=NO_KEY).model_tools == [FUNCTION]


@pytest.mark.parametrize("kind", ["web_search", "web_search_preview", "brave_web_search"])
def test_web_search_becomes_a_brave_function_for_chat_providers(kind: str) -> None:
    toolset = build_toolset([{"type": kind}], api="chat", settings=WITH_KEY)
    assert [t["name"] for t in toolset.model_tools] == ["web_search"]
    assert toolset.server["web_search"].kind == "brave_search"
    assert toolset.warnings == []


def test_openai_keeps_its_hosted_web_search_but_not_ours() -> None:
    toolset = build_toolset([{"type": "web_search"}, {"type": "think"}], api="responses",
                            settings=WITH_KEY)
    assert toolset.model_tools[0] == {"type": "web_search"}
    assert toolset.model_tools[1]["name"] == "think"
    assert set(toolset.server) == {"think"}


def test_brave_web_search_without_a_key_is_a_400_naming_the_tool() -> None:
    with pytest.raises(InvalidRequest) as info:
        build_toolset([FUNCTION, {"type": "brave_web_search"}], api="chat", settings=NO_KEY)
    assert info.value.param == "tools[1]"


def test_unservable_hosted_tools_are_dropped_with_a_warning() -> None:
    toolset = build_toolset([{"type": "web_search"}, {"type": "file_search"}], api="anthropic",
                            settings=NO_KEY)
    assert toolset.model_tools == []
    assert len(toolset.warnings) == 2
    assert "file_search" in toolset.warnings[1]


def test_strict_tools_turn_the_warning_into_a_400() -> None:
    with pytest.raises(InvalidRequest) as info:
        build_toolset([{"type": "code_interpreter"}], api="chat",
                      settings=ToolSettings(strict=True))
    assert info.value.param == "tools[0]"


def test_custom_tool_is_a_one_string_function() -> None:
    toolset = build_toolset([{"type": "custom", "name": "patch"}], api="chat", settings=NO_KEY)
    params = toolset.model_tools[0]["parameters"]
    assert params["required"] == ["input"]
    assert toolset.renamed["patch"].kind == "custom"


def test_namespace_is_flattened() -> None:
    tool = {"type": "namespace", "name": "fs", "tools": [FUNCTION]}
    toolset = build_toolset([tool], api="chat", settings=NO_KEY)
    assert [t["name"] for t in toolset.model_tools] == ["fs__f"]
    assert toolset.renamed["fs__f"].namespace == "fs"


def test_adapt_input_reshapes_custom_and_namespaced_calls_for_chat() -> None:
    items: list[dict[str, Any]] = [
        {"type": "custom_tool_call", "call_id": "c", "name": "patch", "input": "diff"},
        {"type": "custom_tool_call_output", "call_id": "c", "output": "ok"},
        {"type": "function_call", "call_id": "d", "name": "f", "namespace": "fs",
         "arguments": "{}"},
        {"type": "mcp_list_tools", "server_label": "s", "tools": []},
    ]
    out = adapt_input(items, "chat")
    assert out[0]["type"] == "function_call"
    assert json.loads(out[0]["arguments"]) == {"input": "diff"}
    assert out[1] == {"type": "function_call_output", "call_id": "c", "output": "ok"}
    assert out[2]["name"] == "fs__f"
    assert len(out) == 3
    assert adapt_input(items, "responses") == items[:3]
