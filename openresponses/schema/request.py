"""``POST /v1/responses`` bodies parsed into a typed, validated ``CreateResponse``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from openresponses.errors import InvalidRequest
from openresponses.schema import validate as v
from openresponses.schema.items import (
    Item,
    normalize_input,
    normalize_tool_choice,
    normalize_tools,
)

# Fields this gateway reads; anything else is kept in ``extra`` and relayed to OpenAI upstreams.
_KNOWN = frozenset(
    {
        "model", "input", "instructions", "tools", "tool_choice", "parallel_tool_calls",
        "temperature", "top_p", "max_output_tokens", "text", "reasoning", "metadata", "user",
        "store", "stream", "previous_response_id", "include", "background", "max_tool_calls",
        "truncation", "service_tier", "safety_identifier", "prompt_cache_key", "top_logprobs",
        "presence_penalty", "frequency_penalty", "stream_options", "conversation",
        "context_management",
    }
)
_FORMATS = ("text", "json_schema", "json_object")
DEFAULT_COMPACT_THRESHOLD = 100_000  # estimated tokens, when compact_threshold is null


@attrs.frozen(kw_only=True, slots=False)  # a dict class: its __init__ stores each field
class CreateResponse:  # directly (a slotted frozen one calls object.__setattr__ 31 times)
    model: str
    input: list[Item]
    instructions: str | None = None
    tools: list[dict[str, Any]] = attrs.field(factory=list)
    tool_choice: str | dict[str, Any] = "auto"
    parallel_tool_calls: bool = True
    temperature: float | None = None
    top_p: float | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    top_logprobs: int | None = None
    max_output_tokens: int | None = None
    max_tool_calls: int | None = None
    text_format: dict[str, Any] = attrs.field(factory=lambda: {"type": "text"})
    text_verbosity: str | None = None
    reasoning: dict[str, Any] | None = None
    metadata: dict[str, str] = attrs.field(factory=dict)
    user: str | None = None
    safety_identifier: str | None = None
    prompt_cache_key: str | None = None
    service_tier: str | None = None
    truncation: str = "disabled"
    store: bool = True
    stream: bool = False
    background: bool = False
    previous_response_id: str | None = None
    conversation: str | None = None  # a conversation id: its items are the history
    compact_threshold: int | None = None  # context_management compaction: on past this
    include: list[str] = attrs.field(factory=list)
    extra: dict[str, Any] = attrs.field(factory=dict)


def _text_format(text: dict[str, Any] | None) -> dict[str, Any]:
    fmt = (text or {}).get("format")
    if fmt is None:
        return {"type": "text"}
    if not isinstance(fmt, dict) or fmt.get("type") not in _FORMATS:
        raise InvalidRequest(
            "Invalid 'text.format': expected a type of text, json_schema or json_object.",
            param="text.format",
            code="invalid_value",
        )
    if fmt["type"] == "json_schema":
        v.req_str(fmt, "name", "text.format.name")
        if not isinstance(fmt.get("schema"), dict):
            raise InvalidRequest(
                "Missing or invalid 'text.format.schema': expected an object.",
                param="text.format.schema",
            )
    return fmt


EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh", "max")  # OpenAI's enums
_SUMMARIES = ("auto", "concise", "detailed")
VERBOSITIES = ("low", "medium", "high")


def _one_of(data: dict[str, Any], key: str, allowed: tuple[str, ...], param: str) -> str | None:
    """``data[key]``: absent, null or one of ``allowed``; else a 400 naming ``param``."""
    value = v.opt_str(data, key, param)
    if value is not None and value not in allowed:
        raise InvalidRequest(f"Invalid '{param}': expected one of {', '.join(allowed)}.",
                             param=param, code="invalid_value")
    return value


def _reasoning(data: dict[str, Any]) -> dict[str, Any] | None:
    """``reasoning``, its ``effort`` and ``summary`` (and the older ``generate_summary``)
    from OpenAI's enums: a typo would reach the upstream, or be dropped by a translation."""
    reasoning = v.opt_dict(data, "reasoning")
    if reasoning is not None:
        _one_of(reasoning, "effort", EFFORTS, "reasoning.effort")
        _one_of(reasoning, "summary", _SUMMARIES, "reasoning.summary")
        _one_of(reasoning, "generate_summary", _SUMMARIES, "reasoning.generate_summary")
    return reasoning


def _include(data: dict[str, Any]) -> list[str]:
    include = v.opt_list(data, "include") or []
    if not all(isinstance(x, str) for x in include):
        raise InvalidRequest("Invalid 'include': expected an array of strings.", param="include")
    return include


def _conversation(data: dict[str, Any]) -> str | None:
    """``conversation``: an id, or ``{"id": ...}``."""
    value = data.get("conversation")
    if isinstance(value, dict):
        return v.req_str(value, "id", "conversation.id")
    return v.opt_str(data, "conversation")


def _compact_threshold(data: dict[str, Any]) -> int | None:
    """``context_management: [{"type": "compaction", "compact_threshold": N}]`` → N."""
    entries = v.opt_list(data, "context_management") or []
    threshold = None
    for i, entry in enumerate(entries):
        param = f"context_management[{i}]"
        if not isinstance(entry, dict):
            raise InvalidRequest(f"Invalid '{param}': expected an object.", param=param,
                                 code="invalid_type")
        if entry.get("type") != "compaction":
            raise InvalidRequest(f"Invalid '{param}.type': only 'compaction' is supported.",
                                 param=f"{param}.type", code="invalid_value")
        threshold = v.opt_int(entry, "compact_threshold", low=1000, high=100_000_000,
                              param=f"{param}.compact_threshold") or DEFAULT_COMPACT_THRESHOLD
    return threshold


# The optional fields after ``input``, in the order they are validated (so that of two bad
# fields the same one is reported first): (body key, field, reader of the body). A field whose
# key is absent is not read at all: its default above is what its reader gives for a missing
# key (a typical body names 4 of 30 fields; reading all cost ~60k instructions).
_OPTIONAL: tuple[tuple[str, str, Callable[[dict[str, Any]], Any]], ...] = (
    ("instructions", "instructions", lambda d: v.opt_str(d, "instructions")),
    ("tools", "tools", lambda d: normalize_tools(d["tools"])),
    ("tool_choice", "tool_choice", lambda d: normalize_tool_choice(d["tool_choice"])),
    ("parallel_tool_calls", "parallel_tool_calls",
     lambda d: v.opt_bool(d, "parallel_tool_calls") is not False),
    ("text", "text_format", lambda d: _text_format(d["text"])),
    ("text", "text_verbosity", lambda d: _one_of(d["text"] or {}, "verbosity", VERBOSITIES,
                                                 "text.verbosity")),
    ("reasoning", "reasoning", lambda d: _reasoning(d)),
    ("metadata", "metadata", lambda d: v.metadata(d) or {}),
    ("user", "user", lambda d: v.opt_str(d, "user")),
    ("safety_identifier", "safety_identifier", lambda d: v.opt_str(d, "safety_identifier")),
    ("prompt_cache_key", "prompt_cache_key", lambda d: v.opt_str(d, "prompt_cache_key")),
    ("service_tier", "service_tier", lambda d: v.opt_str(d, "service_tier")),
    ("store", "store", lambda d: v.opt_bool(d, "store") is not False),
    ("stream", "stream", lambda d: v.opt_bool(d, "stream") is True),
    ("background", "background", lambda d: v.opt_bool(d, "background") is True),
    ("previous_response_id", "previous_response_id",
     lambda d: v.opt_str(d, "previous_response_id")),
    ("conversation", "conversation", _conversation),
    ("context_management", "compact_threshold", _compact_threshold),
    ("include", "include", _include),
    ("temperature", "temperature", lambda d: v.opt_number(d, "temperature", low=0, high=2)),
    ("top_p", "top_p", lambda d: v.opt_number(d, "top_p", low=0, high=1)),
    ("presence_penalty", "presence_penalty",
     lambda d: v.opt_number(d, "presence_penalty", low=-2, high=2)),
    ("frequency_penalty", "frequency_penalty",
     lambda d: v.opt_number(d, "frequency_penalty", low=-2, high=2)),
    ("top_logprobs", "top_logprobs", lambda d: v.opt_int(d, "top_logprobs", low=0, high=20)),
    ("max_output_tokens", "max_output_tokens",
     lambda d: v.opt_int(d, "max_output_tokens", low=1, high=10_000_000)),
    ("max_tool_calls", "max_tool_calls",
     lambda d: v.opt_int(d, "max_tool_calls", low=0, high=10_000)),
)


def parse_create_response(data: Any) -> CreateResponse:
    """Validate a decoded JSON body. Raises ``InvalidRequest`` naming the bad ``param`` (the
    first in ``text``, ``truncation``, ``model``, ``input``, then ``_OPTIONAL``'s order)."""
    if not isinstance(data, dict):
        raise InvalidRequest("The request body must be a JSON object.", code="invalid_json")
    v.opt_dict(data, "text")
    truncation = v.opt_str(data, "truncation") or "disabled"
    if truncation not in ("auto", "disabled"):
        raise InvalidRequest("Invalid 'truncation': expected auto or disabled.",
                             param="truncation")
    model = v.req_str(data, "model")
    fields: dict[str, Any] = {"input": normalize_input(data.get("input"))}
    for key, field, read in _OPTIONAL:
        if key in data:
            fields[field] = read(data)
    return CreateResponse(model=model, truncation=truncation,
                          extra={k: val for k, val in data.items() if k not in _KNOWN}, **fields)
