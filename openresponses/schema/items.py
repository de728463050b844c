"""Input items and tools: validation and normalization to the canonical Responses shapes.

Normalized items are plain dicts in the exact Responses shape, each with our ``id``, so they can
be stored, listed (``/input_items``) and replayed to any provider without further guessing.
Unknown item and tool types are tolerated and kept as given (an OpenAI upstream may know them).
"""

from __future__ import annotations

from typing import Any

from openresponses.errors import InvalidRequest
from openresponses.schema.ids import item_id

Item = dict[str, Any]

_ROLES = ("user", "assistant", "system", "developer")
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


def _require_str(raw: dict[str, Any], key: str, param: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str):
        raise InvalidRequest(
            f"Missing or invalid '{param}.{key}': expected a string.",
            param=f"{param}.{key}",
            code="invalid_value" if key in raw else "missing_required_parameter",
        )
    return value


def _function_call(raw: dict[str, Any], param: str) -> Item:
    for key in ("call_id", "name", "arguments"):
        _require_str(raw, key, param)
    return {**raw, "id": _item_id(raw, "function_call", param),
            "status": raw.get("status") or "completed"}


def _function_call_output(raw: dict[str, Any], param: str) -> Item:
    _require_str(raw, "call_id", param)
    if not isinstance(raw.get("output"), str | list):
        raise InvalidRequest(
            f"Missing or invalid '{param}.output': expected a string or an array.",
            param=f"{param}.output",
        )
    return {**raw, "id": _item_id(raw, "function_call_output", param),
            "status": raw.get("status") or "completed"}


def normalize_item(raw: Any, param: str) -> Item:
    """Validate one input item and return it in canonical form, with an id."""
    if not isinstance(raw, dict):
        raise _invalid(f"Invalid '{param}': expected an object.", param)
    kind = raw.get("type")
    if kind is None and "role" in raw:
        kind = "message"
    if kind == "message":
        return _message(raw, param)
    if kind == "function_call":
        return _function_call(raw, param)
    if kind == "function_call_output":
        return _function_call_output(raw, param)
    if not isinstance(kind, str):
        raise _invalid(f"Missing or invalid '{param}.type'.", f"{param}.type")
    return {**raw, "id": _item_id(raw, kind, param)}


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
    return [_plain_message(raw) or normalize_item(raw, f"input[{i}]")
            for i, raw in enumerate(value)]


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


def normalize_tool(raw: Any, param: str) -> dict[str, Any]:
    """A tool in the flat Responses shape; the nested Chat shape is accepted and flattened."""
    if not isinstance(raw, dict) or not isinstance(raw.get("type"), str):
        raise _invalid(f"Invalid '{param}': a tool must be an object with a type.", param)
    if raw["type"] != "function":
        return raw
    if isinstance(raw.get("function"), dict):  # {"type":"function","function":{name,...}}
        raw = {"type": "function", **raw["function"]}
    if not isinstance(raw.get("name"), str) or not raw["name"]:
        raise _invalid(f"Missing or invalid '{param}.name'.", f"{param}.name")
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
    if value is None:
        return "auto"
    if isinstance(value, str):
        if value not in ("auto", "none", "required"):
            raise _invalid("Invalid 'tool_choice': expected auto, none or required.",
                           "tool_choice")
        return value
    if isinstance(value, dict) and isinstance(value.get("type"), str):
        if value["type"] == "function" and isinstance(value.get("function"), dict):
            return {"type": "function", "name": value["function"].get("name")}
        return value
    raise _invalid("Invalid 'tool_choice'.", "tool_choice")
