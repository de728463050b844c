"""``tool_choice`` in the names the model sees: gateway tools are offered as functions, so a
choice naming them the Responses way names those functions (it was dropped or refused, and
``allowed_tools`` naming them left the model no tools)."""

from __future__ import annotations

from typing import Any

import pytest

from openresponses.gateway.tool_loop import _mcp_spec
from openresponses.tools.choice import model_tool_choice
from openresponses.tools.mcp_config import McpServer
from openresponses.tools.settings import ToolSettings
from openresponses.tools.toolset import Toolset, build_toolset

SETTINGS = ToolSettings(brave_api_key="k")
TOOLS: list[dict[str, Any]] = [
    {"type": "function", "name": "f", "parameters": {"type": "object"}},
    {"type": "web_search"},
    {"type": "custom", "name": "grep"},
    {"type": "namespace", "name": "ns", "tools": [{"type": "function", "name": "g"}]},
]


def toolset(api: str = "chat") -> Toolset:
    built = build_toolset(TOOLS, api=api, settings=SETTINGS)
    server = McpServer(label="calc", url="http://127.0.0.1:1/mcp")
    if api == "responses":
        return built
    return built.with_mcp_tools([_mcp_spec(server, {"name": "add"}),
                                 _mcp_spec(server, {"name": "echo"})])


def fn(name: str) -> dict[str, Any]:
    return {"type": "function", "name": name}


@pytest.mark.parametrize(("choice", "expected"), [
    ("required", "required"),
    (fn("f"), fn("f")),
    ({"type": "web_search_preview"}, fn("web_search")),
    ({"type": "custom", "name": "grep"}, fn("grep")),
    (fn("g"), fn("ns__g")),
    ({"type": "function", "name": "g", "namespace": "ns"}, fn("ns__g")),
    ({"type": "mcp", "server_label": "calc", "name": "add"}, fn("calc__add")),
    ({"type": "mcp", "server_label": "calc"},
     {"type": "allowed_tools", "mode": "required", "tools": [fn("calc__add"), fn("calc__echo")]}),
    ({"type": "allowed_tools", "mode": "required", "tools": [{"type": "web_search"},
                                                             {"type": "mcp", "server_label": "calc",
                                                              "name": "echo"}]},
     {"type": "allowed_tools", "mode": "required",
      "tools": [fn("web_search"), fn("calc__echo")]}),
    (fn("nowhere"), fn("nowhere")),  # names no tool: the provider says so
    ({"type": "mcp", "server_label": "other"}, {"type": "mcp", "server_label": "other"}),
])
def test_a_choice_names_the_functions_the_model_sees(choice: Any, expected: Any) -> None:
    assert model_tool_choice(choice, toolset()) == expected


def test_openai_s_own_hosted_tools_keep_their_choice() -> None:
    for choice in ({"type": "web_search"}, {"type": "custom", "name": "grep"}):
        assert model_tool_choice(choice, toolset("responses")) == choice
