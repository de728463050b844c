"""Responses ``tools`` / ``tool_choice`` / ``text.format`` → Anthropic ``tools`` / ``tool_choice``.

Structured output has no native Anthropic form, so a JSON schema becomes a tool named
``JSON_TOOL`` whose input schema is the schema; the translators read a ``tool_use`` of that name
as the answer's text. The name is reserved: the protocol instance keeps no per-request state.
"""

from __future__ import annotations

from typing import Any

import attrs

from openresponses.errors import InvalidRequest, shown
from openresponses.schema.model_call import ModelCall

JSON_TOOL = "__json_response"

Block = dict[str, Any]
_WEB_SEARCH_TYPES = frozenset({"web_search", "web_search_preview", "web_search_2025_08_26"})
_SIMPLE_CHOICES: dict[str, Block] = {
    "auto": {"type": "auto"},
    "required": {"type": "any"},
    "none": {"type": "none"},
}
_LOCATION_FIELDS = ("city", "region", "country", "timezone")


@attrs.frozen
class ToolConfig:
    """What goes into the request: tools, tool_choice, and a system note (structured output)."""

    tools: list[Block]
    choice: Block | None
    system_note: str | None = None


def tool_config(call: ModelCall, *, thinking: bool) -> ToolConfig:
    """Anthropic tools and tool_choice for ``call`` (``thinking``: extended thinking is on)."""
    tools = [_tool(tool) for tool in call.tools]
    choice: Any = call.tool_choice
    if isinstance(choice, dict) and choice.get("type") == "allowed_tools":
        tools = _allowed(tools, choice)
        choice = "required" if choice.get("mode") == "required" else "auto"
    mapped = _choice(choice)
    note = None
    json_tool = _json_tool(call.text_format)
    if json_tool is not None:
        tools, mapped = _with_json_tool(tools, mapped, json_tool, thinking)
        if mapped.get("name") != JSON_TOOL:
            note = (
                f"Give your final answer by calling the `{JSON_TOOL}` tool with it as the input;"
                " do not answer in plain text."
            )
    if not tools:
        return ToolConfig([], None)
    if thinking and mapped is not None and mapped["type"] in ("any", "tool"):
        raise InvalidRequest(  # (the answer tool of text.format is asked for by a note)
            "A tool_choice that forces a tool call cannot be combined with reasoning on "
            "Anthropic models (extended thinking takes only auto or none).",
            param="tool_choice", code="unsupported_parameter")
    if call.parallel_tool_calls is False and (mapped is None or mapped["type"] != "none"):
        mapped = {**(mapped or {"type": "auto"}), "disable_parallel_tool_use": True}
    return ToolConfig(tools, mapped, note)


def _with_json_tool(
    tools: list[Block], choice: Block | None, json_tool: Block, thinking: bool
) -> tuple[list[Block], Block]:
    """Add the structured-output tool and pick a tool_choice that gets it called."""
    if choice is not None and choice["type"] == "tool":  # the caller forces one of its tools
        return [*tools, json_tool], choice
    if choice is not None and choice["type"] == "none":
        tools = []
    if thinking:  # Anthropic refuses forced tool use with thinking on; the system note asks
        return [*tools, json_tool], {"type": "auto"}
    if tools:  # some tool must be called: one of the caller's, or the answer
        return [*tools, json_tool], {"type": "any"}
    return [json_tool], {"type": "tool", "name": JSON_TOOL}


def _tool(tool: dict[str, Any]) -> Block:
    kind = tool.get("type")
    if kind == "function":
        name = tool.get("name")
        if not isinstance(name, str) or not name or name == JSON_TOOL:
            raise InvalidRequest(f"Invalid function tool name {name!r}.", param="tools")
        schema = dict(tool.get("parameters") or {})
        schema.setdefault("type", "object")
        block: Block = {"name": name, "input_schema": schema}
        if isinstance(tool.get("description"), str):
            block["description"] = tool["description"]
        return block
    if kind in _WEB_SEARCH_TYPES:
        return _web_search(tool)
    raise InvalidRequest(f"Tools of type {kind!r} are not supported for Anthropic.", param="tools")


def _web_search(tool: dict[str, Any]) -> Block:
    block: Block = {"type": "web_search_20250305", "name": "web_search"}
    location = tool.get("user_location")
    if isinstance(location, dict):
        fields = {k: location[k] for k in _LOCATION_FIELDS if location.get(k)}
        if fields:
            block["user_location"] = {"type": "approximate", **fields}
    filters = tool.get("filters")
    domains = filters.get("allowed_domains") if isinstance(filters, dict) else None
    if domains:
        block["allowed_domains"] = list(domains)
    return block


def _tool_name(ref: Any) -> str | None:
    """The Anthropic tool name a tool_choice / allowed_tools entry points at."""
    if not isinstance(ref, dict):
        return None
    if ref.get("type") in _WEB_SEARCH_TYPES:
        return "web_search"
    name = ref.get("name")
    return name if ref.get("type") == "function" and isinstance(name, str) else None


def _allowed(tools: list[Block], choice: dict[str, Any]) -> list[Block]:
    names = {_tool_name(ref) for ref in choice.get("tools") or []}
    return [tool for tool in tools if tool["name"] in names]


def _choice(choice: Any) -> Block | None:
    if choice is None:
        return None
    if isinstance(choice, str) and choice in _SIMPLE_CHOICES:
        return dict(_SIMPLE_CHOICES[choice])
    name = _tool_name(choice)
    if name is None:
        kind = choice.get("type") if isinstance(choice, dict) else choice
        raise InvalidRequest(f"tool_choice '{shown(str(kind))}' is not supported for Anthropic "
                             "models.", param="tool_choice", code="unsupported_parameter")
    return {"type": "tool", "name": name}


def _json_tool(text_format: dict[str, Any] | None) -> Block | None:
    """The structured-output tool for ``text.format``, or None for plain text."""
    kind = (text_format or {}).get("type")
    if kind in (None, "text"):
        return None
    assert text_format is not None
    if kind == "json_object":
        schema: dict[str, Any] = {"type": "object", "additionalProperties": True}
    elif kind == "json_schema":
        raw = text_format.get("schema")
        if not isinstance(raw, dict) or raw.get("type", "object") != "object":
            raise InvalidRequest(
                "The JSON schema's root must be an object for Anthropic.",
                param="text.format.schema",
            )
        schema = {"type": "object", **raw}
    else:
        raise InvalidRequest(f"Unsupported text format {kind!r}.", param="text.format")
    name = text_format.get("name")
    description = text_format.get("description") or "Give the final answer as a JSON object"
    if isinstance(name, str) and name:
        description = f"{description} ({name})."
    return {"name": JSON_TOOL, "description": description, "input_schema": schema}
