"""Pure helpers of the event builder: its per-item state, content parts and item / response
snapshots."""

from __future__ import annotations

import json
from typing import Any

import attrs


def empty_part(kind: str) -> dict[str, Any]:
    if kind == "output_text":
        return {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
    if kind == "refusal":
        return {"type": "refusal", "refusal": ""}
    return {"type": "reasoning_text", "text": ""}


def final_part(kind: str, text: str, annotations: list[dict[str, Any]]) -> dict[str, Any]:
    if kind == "output_text":
        return {"type": "output_text", "text": text, "annotations": annotations, "logprobs": []}
    if kind == "refusal":
        return {"type": "refusal", "refusal": text}
    return {"type": "reasoning_text", "text": text}


def public_item(item: dict[str, Any], *, in_progress: bool = False) -> dict[str, Any]:
    """A copy of an item for an event (content copied so later deltas don't alter it)."""
    copy = dict(item)
    if "content" in copy:
        copy["content"] = [] if in_progress else [dict(p) for p in copy["content"]]
    if "summary" in copy:
        copy["summary"] = [] if in_progress else list(copy["summary"])
    return copy


def snapshot(response: dict[str, Any]) -> dict[str, Any]:
    """A shallow copy of the response good for one event (output list copied)."""
    return {**response, "output": [public_item(i) for i in response["output"]]}


def output_text(output: list[dict[str, Any]]) -> str:
    return "".join(
        part.get("text", "")
        for item in output
        if item.get("type") == "message"
        for part in item.get("content", [])
        if part.get("type") == "output_text"
    )


def custom_input(arguments: str) -> str:
    """The ``input`` string of a custom tool called through its one-parameter function."""
    try:
        parsed = json.loads(arguments or "{}")
    except ValueError:
        return arguments
    value = parsed.get("input") if isinstance(parsed, dict) else None
    return value if isinstance(value, str) else arguments


@attrs.define
class Part:
    kind: str  # "output_text" | "refusal" | "reasoning_text"
    index: int
    chunks: list[str] = attrs.Factory(list)
    annotations: list[dict[str, Any]] = attrs.Factory(list)


@attrs.define
class HiddenCall:
    call_id: str
    name: str
    args: list[str] = attrs.Factory(list)


@attrs.define
class OpenItem:
    output_index: int
    item: dict[str, Any]
    part: Part | None = None
    args: list[str] = attrs.Factory(list)
    summary: dict[int, list[str]] = attrs.Factory(dict)
