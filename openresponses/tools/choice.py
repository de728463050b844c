"""A request's ``tool_choice`` in the names the model sees.

The toolset offers the gateway's tools to a model as functions under names of their own:
``web_search`` for a web search tool, ``<server_label>__<tool>`` for an MCP server's tools,
``<namespace>__<name>`` for a namespace's functions, and a custom tool as a function of its
name (``tools.toolset``). A ``tool_choice`` (or an ``allowed_tools`` entry) naming one of
those tools the Responses way is rewritten to name that function, so every provider forces or
allows the tool the client meant: a choice naming a tool by a shape the provider cannot know
used to be dropped (Chat Completions) or refused (Anthropic), and ``allowed_tools`` naming
them left the model no tools at all.

What names no tool the model sees is kept as it is: a hosted tool relayed to OpenAI, or a
client's mistake, which the provider then refuses or ignores as before.
"""

from __future__ import annotations

from typing import Any

from openresponses.tools.base import ServerToolSpec
from openresponses.tools.toolset import Toolset

Choice = str | dict[str, Any]
_WEB_SEARCH = ("web_search", "web_search_preview", "brave_web_search")


def model_tool_choice(choice: Choice, toolset: Toolset) -> Choice:
    """``choice`` naming the functions the toolset offers (see the module docstring)."""
    if not isinstance(choice, dict):
        return choice
    if choice.get("type") == "allowed_tools":
        entries = choice.get("tools")
        if not isinstance(entries, list):
            return choice
        mapped = [ref for entry in entries for ref in _refs(entry, toolset)]
        return {**choice, "tools": mapped}
    refs = _refs(choice, toolset)
    if len(refs) == 1:
        only: Choice = refs[0]  # a dict: a dict entry maps to dicts
        return only
    # An MCP server without a tool name: any of its tools.
    return {"type": "allowed_tools", "mode": "required", "tools": refs}


def _refs(entry: Any, toolset: Toolset) -> list[Any]:
    """The function references ``entry`` stands for (itself when it names none of ours)."""
    if not isinstance(entry, dict):
        return [entry]
    kind, name = entry.get("type"), entry.get("name")
    offered = {tool.get("name") for tool in toolset.model_tools}
    if kind in _WEB_SEARCH and "web_search" in toolset.server:
        return [_function("web_search")]
    if kind == "mcp" and isinstance(entry.get("server_label"), str):
        names = _mcp_functions(toolset.server, entry["server_label"], name)
        return [_function(n) for n in names] or [entry]
    renamed = toolset.renamed.get(name) if isinstance(name, str) else None
    if kind == "custom" and renamed is not None and renamed.kind == "custom":
        return [_function(renamed.name)]
    if kind == "function" and isinstance(name, str) and name not in offered:
        flat = _namespaced(toolset, name, entry.get("namespace"))
        return [_function(flat)] if flat is not None else [entry]
    return [entry]


def _function(name: str) -> dict[str, Any]:
    return {"type": "function", "name": name}


def _mcp_functions(server: dict[str, ServerToolSpec], label: str, tool: Any) -> list[str]:
    """The functions of MCP server ``label`` (only ``tool``'s, when named)."""
    return [name for name, spec in server.items()
            if spec.kind == "mcp" and spec.options["server"].label == label
            and (tool is None or spec.options["tool"] == tool)]


def _namespaced(toolset: Toolset, name: str, namespace: Any) -> str | None:
    """The flat name of a namespace's function ``name`` (of ``namespace``, when given), if
    exactly one namespace has it."""
    found = [flat for flat, renamed in toolset.renamed.items()
             if renamed.kind == "namespace" and renamed.name == name
             and (namespace is None or renamed.namespace == namespace)]
    return found[0] if len(found) == 1 else None
