"""The OpenAI Responses API as an upstream (``family = "responses"``), used statelessly.

Requests go out with ``store: false``: the gateway owns the chain and sends it whole. Reasoning
items without ``encrypted_content`` are dropped (OpenAI cannot resolve them by id when nothing is
stored), and ``include: ["reasoning.encrypted_content"]`` is asked for whenever reasoning may
happen, so later turns can send it back. Upstream item ids are used as event keys.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import orjson

from openresponses.errors import GatewayError, UpstreamError, UpstreamUnavailable
from openresponses.providers.errors import map_openai_error, map_stream_error
from openresponses.schema.model_call import Item, ModelCall, UpstreamRequest
from openresponses.schema.model_events import (
    Annotation,
    Finish,
    FinishReason,
    ItemDone,
    ModelEvent,
    OpaqueItem,
    ReasoningDelta,
    ReasoningEncrypted,
    ReasoningSummaryDelta,
    RefusalDelta,
    TextDelta,
    ToolCallDelta,
    ToolCallStart,
    Usage,
)

JSON = dict[str, Any]
FAMILY = "responses"
_ENCRYPTED = "reasoning.encrypted_content"
_REASONING_MODEL = re.compile(r"^(?:[\w.-]+/)?(?:o\d|gpt-5|codex)", re.IGNORECASE)
_INCOMPLETE: dict[str, FinishReason] = {"content_filter": "content_filter"}


class ResponsesProtocol:
    """Responses ⇄ Responses (``POST /responses``), stateless towards OpenAI."""

    family: str = FAMILY

    def __repr__(self) -> str:
        return "ResponsesProtocol()"

    def build_request(self, call: ModelCall) -> UpstreamRequest:
        """The upstream body: our fields over ``call.extra`` (unknown fields pass through)."""
        body: JSON = dict(call.extra)
        body["model"] = call.model
        body["input"] = [_without_id(item) for item in call.input if _sendable(item)]
        optional = {
            "instructions": call.instructions,
            "tool_choice": call.tool_choice,
            "parallel_tool_calls": call.parallel_tool_calls,
            "temperature": call.temperature,
            "top_p": call.top_p,
            "max_output_tokens": call.max_output_tokens,
            "reasoning": call.reasoning,
            "user": call.user,
            "metadata": call.metadata,
        }
        body.update({k: v for k, v in optional.items() if v is not None})
        if call.tools:
            body["tools"] = call.tools
        if call.text_format is not None:
            text = body.get("text")
            body["text"] = {**(text if isinstance(text, dict) else {}), "format": call.text_format}
        if call.reasoning is not None or _REASONING_MODEL.match(call.model):
            include = body.get("include")
            include = [i for i in include if i != _ENCRYPTED] if isinstance(include, list) else []
            body["include"] = [*include, _ENCRYPTED]
        body["store"] = False
        body["stream"] = call.stream
        return UpstreamRequest("/responses", body)

    def auth_headers(self, api_key: str) -> dict[str, str]:
        """``Authorization: Bearer``."""
        return {"Authorization": f"Bearer {api_key}"} if api_key else {}

    def translate_response(self, body: dict[str, Any]) -> list[ModelEvent]:
        """A non-stream Response object → events per output item, Usage, Finish."""
        _raise_if_failed(body)
        events: list[ModelEvent] = []
        calls = False
        for index, item in enumerate(body.get("output") or []):
            if isinstance(item, dict):
                events += item_events(item, f"item{index}")
                calls = calls or item.get("type") == "function_call"
        return events + _ending(body, calls)

    def stream_translator(self) -> ResponsesStreamTranslator:
        """A fresh translator for one streamed turn."""
        return ResponsesStreamTranslator()

    def map_error(self, status: int, body: bytes, headers: Mapping[str, str]) -> GatewayError:
        """Map an upstream HTTP error (never echoing credentials)."""
        return map_openai_error(status, body, headers)


# encrypted_content minted by another provider's translation carries its family as a prefix
# (``anthropic:…``); OpenAI's own is an opaque blob without one.
_FOREIGN_REASONING = ("anthropic:",)


def _sendable(item: Item) -> bool:
    """Reasoning without ``encrypted_content`` cannot be resolved with ``store: false``, and
    reasoning produced by another provider would be rejected: both are dropped. So is an
    ``item_reference``: OpenAI could not resolve it, and it names an item sent already
    (``gateway.turns.check_references``)."""
    kind = item.get("type")
    if kind == "item_reference":
        return False
    if kind != "reasoning":
        return True
    encrypted = item.get("encrypted_content")
    return bool(encrypted) and not str(encrypted).startswith(_FOREIGN_REASONING)


def _without_id(item: Item) -> Item:
    """Items go upstream without our ids: with ``store: false`` OpenAI cannot resolve them,
    and they are optional in input."""
    if "id" not in item:
        return item
    return {k: v for k, v in item.items() if k != "id"}


def item_events(item: JSON, fallback_key: str) -> list[ModelEvent]:
    """The events of one finished output item (``ItemDone`` last; opaque types relayed)."""
    key = str(item.get("id") or fallback_key)
    kind = item.get("type")
    events: list[ModelEvent] = []
    if kind == "message":
        for part in item.get("content") or []:
            if part.get("type") == "output_text":
                if part.get("text"):
                    events.append(TextDelta(key, part["text"]))
                events += [Annotation(key, a) for a in part.get("annotations") or []]
            elif part.get("type") == "refusal" and part.get("refusal"):
                events.append(RefusalDelta(key, part["refusal"]))
    elif kind == "function_call":
        events.append(ToolCallStart(key, item.get("call_id") or key, item.get("name", "")))
        if item.get("arguments"):
            events.append(ToolCallDelta(key, item["arguments"]))
    elif kind == "reasoning":
        for index, part in enumerate(item.get("summary") or []):
            if part.get("text"):
                events.append(ReasoningSummaryDelta(key, index, part["text"]))
        for part in item.get("content") or []:
            if part.get("type") == "reasoning_text" and part.get("text"):
                events.append(ReasoningDelta(key, part["text"]))
        if item.get("encrypted_content"):
            events.append(ReasoningEncrypted(key, item["encrypted_content"], FAMILY))
        if not events:
            return []  # nothing readable, nothing to send back: no item at all
    else:
        return [OpaqueItem(item)]
    events.append(ItemDone(key))
    return events


def _ending(response: JSON, had_calls: bool) -> list[ModelEvent]:
    """Usage (if any) and Finish for a terminal Response object."""
    events: list[ModelEvent] = []
    usage = response.get("usage")
    if isinstance(usage, dict):
        cached = (usage.get("input_tokens_details") or {}).get("cached_tokens") or 0
        reasoning = (usage.get("output_tokens_details") or {}).get("reasoning_tokens") or 0
        events.append(
            Usage(
                input_tokens=int(usage.get("input_tokens") or 0),
                output_tokens=int(usage.get("output_tokens") or 0),
                cached_tokens=int(cached),
                reasoning_tokens=int(reasoning),
            )
        )
    status = response.get("status")
    if status == "incomplete":
        reason = (response.get("incomplete_details") or {}).get("reason")
        events.append(Finish(_INCOMPLETE.get(reason or "", "length")))
    elif status in (None, "completed"):
        events.append(Finish("tool_calls" if had_calls else "stop"))
    else:
        raise UpstreamError(
            f"upstream response ended with status {status!r}", status=502, code="bad_upstream"
        )
    return events


def _raise_if_failed(response: JSON) -> None:
    error = response.get("error")
    if response.get("status") == "failed" or isinstance(error, dict):
        raise map_stream_error(error if isinstance(error, dict) else {})


class ResponsesStreamTranslator:
    """Translates one upstream Responses event stream (see ``StreamTranslator``)."""

    def __init__(self) -> None:
        self._seen: set[str] = set()  # item keys that already produced events
        self._calls = False
        self._finished = False

    def feed(self, event: str | None, data: str) -> list[ModelEvent]:
        """Translate one SSE event; raises the mapped error for ``error`` / ``response.failed``."""
        try:
            payload = orjson.loads(data)
        except orjson.JSONDecodeError:
            raise UpstreamError(
                "upstream sent a malformed stream event", status=502, code="bad_upstream"
            ) from None
        if not isinstance(payload, dict):
            return []
        kind = payload.get("type") or event
        handler = _HANDLERS.get(str(kind))
        return handler(self, payload) if handler is not None else []

    def close(self) -> list[ModelEvent]:
        """Nothing is pending; raises if no terminal event came."""
        if not self._finished:
            raise UpstreamUnavailable("upstream stream ended before completion", status=502)
        return []

    def _delta(self, key: str, event: ModelEvent) -> list[ModelEvent]:
        self._seen.add(key)
        return [event]

    def _text(self, p: JSON) -> list[ModelEvent]:
        return self._delta(p["item_id"], TextDelta(p["item_id"], p.get("delta") or ""))

    def _refusal(self, p: JSON) -> list[ModelEvent]:
        return self._delta(p["item_id"], RefusalDelta(p["item_id"], p.get("delta") or ""))

    def _annotation(self, p: JSON) -> list[ModelEvent]:
        return self._delta(p["item_id"], Annotation(p["item_id"], p.get("annotation") or {}))

    def _arguments(self, p: JSON) -> list[ModelEvent]:
        return self._delta(p["item_id"], ToolCallDelta(p["item_id"], p.get("delta") or ""))

    def _summary(self, p: JSON) -> list[ModelEvent]:
        index = int(p.get("summary_index") or 0)
        delta = ReasoningSummaryDelta(p["item_id"], index, p.get("delta") or "")
        return self._delta(p["item_id"], delta)

    def _reasoning(self, p: JSON) -> list[ModelEvent]:
        return self._delta(p["item_id"], ReasoningDelta(p["item_id"], p.get("delta") or ""))

    def _added(self, p: JSON) -> list[ModelEvent]:
        item = p.get("item") or {}
        if item.get("type") != "function_call":
            return []  # messages and reasoning open on their first delta; others on done
        key = str(item.get("id") or f"item{p.get('output_index', 0)}")
        self._calls = True
        events: list[ModelEvent] = [
            ToolCallStart(key, item.get("call_id") or key, item.get("name", ""))
        ]
        if item.get("arguments"):
            events.append(ToolCallDelta(key, item["arguments"]))
        self._seen.add(key)
        return events

    def _done(self, p: JSON) -> list[ModelEvent]:
        item = p.get("item") or {}
        key = str(item.get("id") or f"item{p.get('output_index', 0)}")
        self._calls = self._calls or item.get("type") == "function_call"
        if key not in self._seen:  # nothing streamed for it: translate the finished item
            return item_events(item, key)
        if item.get("type") == "reasoning" and item.get("encrypted_content"):
            return [ReasoningEncrypted(key, item["encrypted_content"], FAMILY), ItemDone(key)]
        return [ItemDone(key)]

    def _completed(self, p: JSON) -> list[ModelEvent]:
        if self._finished:
            return []
        self._finished = True
        return _ending(p.get("response") or {}, self._calls)

    def _failed(self, p: JSON) -> list[ModelEvent]:
        _raise_if_failed({**(p.get("response") or {}), "status": "failed"})
        return []

    def _error(self, p: JSON) -> list[ModelEvent]:
        error = p.get("error")
        raise map_stream_error(error if isinstance(error, dict) else p)


_HANDLERS = {
    "response.output_text.delta": ResponsesStreamTranslator._text,
    "response.refusal.delta": ResponsesStreamTranslator._refusal,
    "response.output_text.annotation.added": ResponsesStreamTranslator._annotation,
    "response.function_call_arguments.delta": ResponsesStreamTranslator._arguments,
    "response.reasoning_summary_text.delta": ResponsesStreamTranslator._summary,
    "response.reasoning_text.delta": ResponsesStreamTranslator._reasoning,
    "response.reasoning.delta": ResponsesStreamTranslator._reasoning,  # Open Responses name
    "response.output_item.added": ResponsesStreamTranslator._added,
    "response.output_item.done": ResponsesStreamTranslator._done,
    "response.completed": ResponsesStreamTranslator._completed,
    "response.incomplete": ResponsesStreamTranslator._completed,
    "response.failed": ResponsesStreamTranslator._failed,
    "error": ResponsesStreamTranslator._error,
}
