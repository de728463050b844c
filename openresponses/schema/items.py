"""Input items and tools: validation and normalization to the canonical Responses shapes.

Normalized items are plain dicts in the exact Responses shape, each with our ``id``, so they can
be stored, listed (``/input_items``) and replayed to any provider without further guessing.
Unknown item and tool types are tolerated and kept as given (an OpenAI upstream may know them).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from openresponses.errors import InvalidRequest, shown
from openresponses.schema.ids import item_id
from openresponses.schema.item_shapes import CHECKS

Item = dict[str, Any]

_ROLES = ("user", "assistant", "system", "developer")
_WITH_STATUS = ("function_call", "function_call_output")  # given "completed" when missing
_TEXT_PART = {"user": "input_text", "system": "input_text", "developer": "input_text"}


def _invalid(message: str, param: str) -> InvalidRequest:
    return InvalidRequest(message, param=param, code="invalid_value")


def _item_id(raw: dict[str, Any], kind: str, param: str) -> str:
    """The client's id for the item (a string: it is a stored key), or a fresh one."""
    value = raw.get("id")
    if value is None or value == "":
        return item_id(kind)
    if not isinstance(value, str):
        raise _invalid(f"Invalid '{param}.id': expected a string.", f"{param}.id")
    return value


def _content_parts(role: str, content: Any, item_param: str) -> list[dict[str, Any]]:
    """A message's parts; ``item_param`` is the message's (the ``.content`` param is only
    made for an error)."""
    if isinstance(content, str):
        if role == "assistant":
            return [{"type": "output_text", "text": content, "annotations": []}]
        return [{"type": _TEXT_PART[role], "text": content}]
    param = f"{item_param}.content"
    if not isinstance(content, list):
        raise _invalid(f"Invalid '{param}': expected a string or an array of parts.", param)
    parts = []
    for i, part in enumerate(content):
        if not isinstance(part, dict) or not isinstance(part.get("type"), str):
            raise _invalid(f"Invalid '{param}[{i}]': a part must be an object with a type.",
                           f"{param}[{i}]")
        kind = part["type"]
        if kind in ("input_text", "output_text", "text") and not isinstance(part.get("text"), str):
            raise _invalid(f"Missing or invalid '{param}[{i}].text'.", f"{param}[{i}].text")
        if kind == "text":  # Chat-style part
            part = {"type": "output_text" if role == "assistant" else "input_text",
                    "text": part["text"]}
        elif kind == "output_text" and "annotations" not in part:
            part = {**part, "annotations": []}
        parts.append(part)
    return parts


def _message(raw: dict[str, Any], param: str) -> Item:
    role = raw.get("role")
    if role not in _ROLES:
        raise _invalid(
            f"Invalid '{param}.role': expected one of user, assistant, system, developer.",
            f"{param}.role",
        )
    item: Item = {
        "type": "message",
        "id": _item_id(raw, "message", param),
        "role": role,
        "content": _content_parts(role, raw.get("content"), param),
    }
    item["status"] = raw.get("status") or "completed"
    return item


def normalize_item(raw: Any, param: str) -> Item:
    """Validate one input item and return it in canonical form, with an id."""
    if not isinstance(raw, dict):
        raise _invalid(f"Invalid '{param}': expected an object.", param)
    kind = raw.get("type")
    if kind is None and "role" in raw:
        kind = "message"
    if kind == "message":
        return _message(raw, param)
    if not isinstance(kind, str):
        raise _invalid(f"Missing or invalid '{param}.type'.", f"{param}.type")
    check = CHECKS.get(kind)
    if check is not None:
        check(raw, param)
    item = {**raw, "id": _item_id(raw, kind, param)}
    if kind in _WITH_STATUS:
        item["status"] = raw.get("status") or "completed"
    return item


def normalize_input(value: Any) -> list[Item]:
    """The request's ``input`` (a string or an array of items) as canonical items."""
    if value is None:
        return []
    if isinstance(value, str):
        return [_message({"role": "user", "content": value}, "input")]
    if not isinstance(value, list):
        raise InvalidRequest(
            "Invalid 'input': expected a string or an array of items.",
            param="input",
            code="invalid_type",
        )
    items = [_plain_message(raw) or normalize_item(raw, f"input[{i}]")
             for i, raw in enumerate(value)]
    check_unique_ids(items, "input")
    return items


def check_unique_ids(items: list[Item], field: str, known: Collection[str] = ()) -> None:
    """400 for an id given to two items of ``field`` (an input, or items to add), or to an
    item of it and one of ``known`` (a conversation's): each is stored and listed by its id."""
    if not known and len({item["id"] for item in items}) == len(items):
        return
    seen: set[str] = set()
    for i, item in enumerate(items):
        taken = item["id"] in known and item.get("type") != "item_reference"  # names it
        if taken or item["id"] in seen:
            raise duplicate_item(item["id"], f"{field}[{i}]")
        seen.add(item["id"])


def duplicate_item(item_id: str, where: str) -> InvalidRequest:
    """The 400 for an item whose id is already taken (``where``: its place, ``input[2]``)."""
    return InvalidRequest(
        f"Duplicate item found with id '{shown(item_id)}' in '{where}'. Remove duplicate "
        "items from your input and try again.", param=f"{where}.id", code="invalid_value")


def _plain_message(raw: Any) -> Item | None:
    """A valid message with string content, through ``_message`` without the param names only
    an error needs (a 1,000-item input made 2,000 of them): it cannot fail, so its param is
    never read. None for anything else, which then takes the full path."""
    if type(raw) is not dict:
        return None
    kind = raw.get("type")
    role = raw.get("role")
    if (kind != "message" and (kind is not None or role is None)) or role not in _ROLES \
            or type(raw.get("content")) is not str:
        return None
    given = raw.get("id")
    if given is not None and not isinstance(given, str):
        return None  # the full path names the bad id
    return _message(raw, "input")


def _named(raw: dict[str, Any], param: str) -> None:
    if not isinstance(raw.get("name"), str) or not raw["name"]:
        raise _invalid(f"Missing or invalid '{param}.name'.", f"{param}.name")


_WEB_SEARCH = ("web_search", "web_search_preview", "brave_web_search")
_MAX_RESULTS = 20  # Brave's most results a search


def _result_count(raw: dict[str, Any], param: str) -> None:
    """A web search tool's ``count`` (the results a search gives), when given: 1 to 20."""
    count = raw.get("count")
    if count is not None and (type(count) is not int or not 1 <= count <= _MAX_RESULTS):
        raise _invalid(f"Invalid '{param}.count': expected an integer from 1 to {_MAX_RESULTS}.",
                       f"{param}.count")


def _namespace_tool(raw: dict[str, Any], param: str) -> dict[str, Any]:
    """A ``namespace`` tool, kept as given once checked: a name, and an array of tools (each
    an object with a type; a function one named)."""
    _named(raw, param)
    inner = raw.get("tools")
    if not isinstance(inner, list):
        raise _invalid(f"Invalid '{param}.tools': expected an array of tools.", f"{param}.tools")
    for i, tool in enumerate(inner):
        if not isinstance(tool, dict) or not isinstance(tool.get("type"), str):
            raise _invalid(f"Invalid '{param}.tools[{i}]': a tool must be an object with a "
                           "type.", f"{param}.tools[{i}]")
        if tool["type"] == "function":
            _named(tool, f"{param}.tools[{i}]")
    return raw


def normalize_tool(raw: Any, param: str) -> dict[str, Any]:
    """A tool in the flat Responses shape; the nested Chat shape is accepted and flattened."""
    if not isinstance(raw, dict) or not isinstance(raw.get("type"), str):
        raise _invalid(f"Invalid '{param}': a tool must be an object with a type.", param)
    if raw["type"] == "namespace":
        return _namespace_tool(raw, param)
    if raw["type"] == "custom":
        _named(raw, param)
    if raw["type"] in _WEB_SEARCH:
        _result_count(raw, param)
    if raw["type"] != "function":
        return raw
    if isinstance(raw.get("function"), dict):  # {"type":"function","function":{name,...}}
        raw = {"type": "function", **raw["function"]}
    _named(raw, param)
    params = raw.get("parameters")
    if params is not None and not isinstance(params, dict):
        raise _invalid(f"Invalid '{param}.parameters': expected an object.", f"{param}.parameters")
    return {
        "type": "function",
        "name": raw["name"],
        "description": raw.get("description"),
        "parameters": params if params is not None else {"type": "object", "properties": {}},
        "strict": raw.get("strict", True) if raw.get("strict") is not None else True,
    }


def normalize_tools(value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidRequest("Invalid 'tools': expected an array.", param="tools",
                             code="invalid_type")
    return [normalize_tool(raw, f"tools[{i}]") for i, raw in enumerate(value)]


def normalize_tool_choice(value: Any) -> str | dict[str, Any]:
    """``tool_choice``: a mode, or a tool named in a shape every provider can read (the Chat
    shape of a function accepted and flattened); 400 for anything malformed."""
    if value is None:
        return "auto"
    if isinstance(value, str):
        if value not in ("auto", "none", "required"):
            raise _invalid("Invalid 'tool_choice': expected auto, none or required.",
                           "tool_choice")
        return value
    if not isinstance(value, dict) or not isinstance(value.get("type"), str):
        raise _invalid("Invalid 'tool_choice'.", "tool_choice")
    kind = value["type"]
    if kind == "function":
        return {"type": "function", "name": _chosen_function(value, "tool_choice")}
    if kind == "allowed_tools":
        return _allowed_tools(value)
    if kind == "custom":
        _named(value, "tool_choice")
    if kind == "mcp" and not isinstance(value.get("server_label"), str):
        raise _invalid("Missing or invalid 'tool_choice.server_label'.",
                       "tool_choice.server_label")
    return value


def _chosen_function(value: dict[str, Any], param: str) -> str:
    """The function a ``{"type": "function"}`` choice names (flat, or Chat's nested shape)."""
    named = value["function"] if isinstance(value.get("function"), dict) else value
    name = named.get("name")
    if not isinstance(name, str) or not name:
        raise _invalid(f"Missing or invalid '{param}.name'.", f"{param}.name")
    return name


def _allowed_tools(value: dict[str, Any]) -> dict[str, Any]:
    mode = value.get("mode", "auto")
    if mode not in ("auto", "required"):
        raise _invalid("Invalid 'tool_choice.mode': expected auto or required.",
                       "tool_choice.mode")
    tools = value.get("tools")
    if not isinstance(tools, list):
        raise _invalid("Invalid 'tool_choice.tools': expected an array of tools.",
                       "tool_choice.tools")
    allowed: list[dict[str, Any]] = []
    for i, tool in enumerate(tools):
        param = f"tool_choice.tools[{i}]"
        if not isinstance(tool, dict) or not isinstance(tool.get("type"), str):
            raise _invalid(f"Invalid '{param}': a tool must be an object with a type.", param)
        if tool["type"] == "function":
            tool = {"type": "function", "name": _chosen_function(tool, param)}
        allowed.append(tool)
    return {"type": "allowed_tools", "mode": mode, "tools": allowed}
