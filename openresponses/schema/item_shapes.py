"""The fields of input items that the gateway itself reads, checked before a run starts.

An input item the gateway only passes on is kept as given. One it reads (to translate it for
a provider, to count its tokens, to run or approve a tool from it) must have the fields it
reads, with the right types: otherwise the run would fail midway, as a 500 or as an upstream
fault ("could not be translated") although the client sent it. Each check raises
``InvalidRequest`` naming the field (``input[3].server_label``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from openresponses.errors import InvalidRequest

Raw = dict[str, Any]
_TEXT_PARTS = ("input_text", "output_text", "text")


def _require_str(raw: Raw, key: str, param: str) -> str:
    """``raw[key]``, which must be a string."""
    value = raw.get(key)
    if not isinstance(value, str):
        raise InvalidRequest(
            f"Missing or invalid '{param}.{key}': expected a string.",
            param=f"{param}.{key}",
            code="invalid_value" if key in raw else "missing_required_parameter",
        )
    return value


def _require_output(raw: Raw, param: str) -> None:
    """A tool call's output item: its ``call_id``, and an ``output`` string or an array of
    parts (objects with a string ``type``; a text part's ``text`` a string)."""
    _require_str(raw, "call_id", param)
    output = raw.get("output")
    if not isinstance(output, str | list):
        raise InvalidRequest(
            f"Missing or invalid '{param}.output': expected a string or an array.",
            param=f"{param}.output",
        )
    for i, part in enumerate(output if isinstance(output, list) else ()):
        where = f"{param}.output[{i}]"
        if not isinstance(part, dict) or not isinstance(part.get("type"), str):
            raise InvalidRequest(f"Invalid '{where}': a part must be an object with a type.",
                                 param=where)
        if part["type"] in _TEXT_PARTS and not isinstance(part.get("text"), str):
            raise InvalidRequest(f"Missing or invalid '{where}.text'.", param=f"{where}.text")


def _strings(*keys: str) -> Callable[[Raw, str], None]:
    def check(raw: Raw, param: str) -> None:
        for key in keys:
            _require_str(raw, key, param)
    return check


def _objects(raw: Raw, key: str, field: str, param: str, *, required: bool) -> None:
    """``raw[key]``: an array of objects, each with a string ``field`` (``text``, ``name``)."""
    values = raw.get(key)
    if values is None and not required:
        return
    if not isinstance(values, list):
        raise InvalidRequest(f"Missing or invalid '{param}.{key}': expected an array.",
                             param=f"{param}.{key}")
    for i, value in enumerate(values):
        if not isinstance(value, dict) or not isinstance(value.get(field), str):
            raise InvalidRequest(f"Invalid '{param}.{key}[{i}]': expected an object with a "
                                 f"string '{field}'.", param=f"{param}.{key}[{i}]")


def _reasoning(raw: Raw, param: str) -> None:
    _objects(raw, "summary", "text", param, required=False)
    _objects(raw, "content", "text", param, required=False)
    encrypted = raw.get("encrypted_content")
    if encrypted is not None and not isinstance(encrypted, str):
        raise InvalidRequest(f"Invalid '{param}.encrypted_content': expected a string.",
                             param=f"{param}.encrypted_content")


def _approval_response(raw: Raw, param: str) -> None:
    _require_str(raw, "approval_request_id", param)
    if not isinstance(raw.get("approve"), bool):  # an approval gate: no truthy strings
        raise InvalidRequest(f"Missing or invalid '{param}.approve': expected a boolean.",
                             param=f"{param}.approve")


def _list_tools(raw: Raw, param: str) -> None:
    _require_str(raw, "server_label", param)
    _objects(raw, "tools", "name", param, required=True)


CHECKS: dict[str, Callable[[Raw, str], None]] = {
    "function_call": _strings("call_id", "name", "arguments"),
    "function_call_output": _require_output,
    "custom_tool_call": _strings("call_id", "name", "input"),
    "custom_tool_call_output": _require_output,
    "reasoning": _reasoning,
    "mcp_approval_request": _strings("server_label", "name", "arguments"),
    "mcp_approval_response": _approval_response,
    "mcp_list_tools": _list_tools,
    "mcp_call": _strings("server_label", "name", "arguments"),
    "compaction": _strings("encrypted_content"),  # CompactionSummaryItemParam
}
