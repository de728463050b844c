"""Anthropic Messages stream (and non-stream body) → normalized ``ModelEvent``s (pure, no I/O).

Keys are content-block indexes. Consecutive ``text`` blocks form ONE message item keyed by the
first block's index: Anthropic splits an answer into blocks only to hang citations on parts of
it, and a citation becomes a ``url_citation`` annotation whose start/end index into that
message's text. ``thinking`` → reasoning text, then its signature as ``encrypted_content``
(``THINKING_PREFIX`` + signature); ``redacted_thinking`` → ``REDACTED_PREFIX`` + data. A
``tool_use`` named ``JSON_TOOL`` is structured output: its input is the answer's text.
``server_tool_use`` + ``web_search_tool_result`` → one ``web_search_call`` item.

A non-stream body is replayed as the events a stream of it would carry, so both paths agree.
``stop_reason`` ``pause_turn`` maps to ``pause``: the run sends the turn back to continue it.
"""

from __future__ import annotations

import json
from typing import Any

import attrs
import orjson

from openresponses.errors import UpstreamError, UpstreamUnavailable
from openresponses.providers.anthropic_errors import map_error_object
from openresponses.providers.anthropic_request import REDACTED_PREFIX, THINKING_PREFIX
from openresponses.providers.anthropic_tools import JSON_TOOL
from openresponses.schema.model_events import (
    Annotation,
    Finish,
    FinishReason,
    ItemDone,
    ModelEvent,
    OpaqueItem,
    ReasoningDelta,
    ReasoningEncrypted,
    TextDelta,
    ToolCallDelta,
    ToolCallStart,
    Usage,
)

FAMILY = "anthropic"
_FINISH: dict[str, FinishReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "pause",
    "tool_use": "tool_calls",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "refusal": "content_filter",
}
_USAGE_FIELDS = (
    "input_tokens",
    "output_tokens",
    "cache_read_input_tokens",
    "cache_creation_input_tokens",
)


@attrs.define
class _Block:
    """An open content block: what it becomes, and what it has accumulated."""

    kind: str  # text | thinking | redacted | tool | json | search | search_result | ignored
    key: str
    start: dict[str, Any]  # the content_block as it started
    parts: list[str] = attrs.field(factory=list)  # partial JSON, or signature fragments
    text_start: int = 0  # text: where this block's text begins in the message
    citations: list[dict[str, Any]] = attrs.field(factory=list)


class AnthropicStreamTranslator:
    """Translates one Messages stream; see the module docstring for the mapping."""

    def __init__(self) -> None:
        self._blocks: dict[int, _Block] = {}
        self._message_key: str | None = None  # the open run of text blocks
        self._message_len = 0
        self._message_started = False
        self._queries: dict[str, str] = {}  # server_tool_use id -> search query
        self._usage: dict[str, int] = {}
        self._stop_reason: str | None = None
        self._tool_called = False
        self._finished = False

    def feed(self, event: str | None, data: str) -> list[ModelEvent]:
        """Translate one SSE event; raises the mapped ``GatewayError`` for ``event: error``."""
        if self._finished or not data.strip():
            return []
        try:
            payload = orjson.loads(data)  # tolerates Anthropic's trailing-space padding
        except orjson.JSONDecodeError:
            payload = None
        if not isinstance(payload, dict):
            raise UpstreamUnavailable("The upstream sent a malformed stream event.")
        if event == "error" and payload.get("type") != "error":
            payload = {"type": "error", "error": payload}
        return self.handle(payload)

    def close(self) -> list[ModelEvent]:
        """End of stream: nothing left to flush, or ``UpstreamUnavailable`` if it was cut."""
        if not self._finished:
            raise UpstreamUnavailable("The upstream stream ended before message_stop.")
        return []

    def handle(self, payload: dict[str, Any]) -> list[ModelEvent]:
        """Translate one parsed event object."""
        index = payload.get("index")
        match payload.get("type"):
            case "message_start":
                self._take_usage((payload.get("message") or {}).get("usage"))
            case "content_block_start" if isinstance(index, int):
                return self._start(index, payload.get("content_block") or {})
            case "content_block_delta" if isinstance(index, int):
                return self._delta(index, payload.get("delta") or {})
            case "content_block_stop" if isinstance(index, int):
                return self._stop(index)
            case "message_delta":
                reason = (payload.get("delta") or {}).get("stop_reason")
                self._stop_reason = reason if isinstance(reason, str) else self._stop_reason
                self._take_usage(payload.get("usage"))  # cumulative: the latest count wins
            case "message_stop":
                return self._finish()
            case "error":
                raise map_error_object(payload.get("error") or {})
        return []  # ping, and event types newer than this module

    def _take_usage(self, usage: Any) -> None:
        if isinstance(usage, dict):
            for name in _USAGE_FIELDS:
                if isinstance(usage.get(name), int):
                    self._usage[name] = usage[name]

    def _start(self, index: int, block: dict[str, Any]) -> list[ModelEvent]:
        kind, key = block.get("type"), str(index)
        if kind == "text":
            return self._start_text(index, block)
        events = self._close_message()
        if kind == "thinking":
            self._blocks[index] = _Block(
                "thinking", key, block, parts=[block.get("signature") or ""]
            )
            if block.get("thinking"):
                events.append(ReasoningDelta(key, block["thinking"]))
        elif kind == "redacted_thinking":
            self._blocks[index] = _Block("redacted", key, block)
            data = str(block.get("data") or "")
            events.append(ReasoningEncrypted(key, REDACTED_PREFIX + data, FAMILY))
        elif kind == "tool_use" and block.get("name") == JSON_TOOL:
            self._blocks[index] = _Block("json", key, block)
        elif kind == "tool_use":
            self._blocks[index] = _Block("tool", key, block)
            self._tool_called = True
            events.append(ToolCallStart(key, str(block.get("id") or ""), str(block.get("name"))))
        elif kind == "server_tool_use" and block.get("name") == "web_search":
            self._blocks[index] = _Block("search", key, block)
        elif kind == "web_search_tool_result":
            self._blocks[index] = _Block("search_result", key, block)
        return events  # other block types (other server tools...) are not relayed

    def _start_text(self, index: int, block: dict[str, Any]) -> list[ModelEvent]:
        if self._message_key is None:
            self._message_key, self._message_len = str(index), 0
        text_block = _Block("text", self._message_key, block, text_start=self._message_len)
        text_block.citations.extend(c for c in block.get("citations") or [] if isinstance(c, dict))
        self._blocks[index] = text_block
        return self._text(text_block, block.get("text"))

    def _text(self, block: _Block, text: Any) -> list[ModelEvent]:
        if not isinstance(text, str) or not text:
            return []
        self._message_len += len(text)
        self._message_started = True
        return [TextDelta(block.key, text)]

    def _delta(self, index: int, delta: dict[str, Any]) -> list[ModelEvent]:
        block = self._blocks.get(index)
        if block is None:
            return []
        match delta.get("type"), block.kind:
            case "text_delta", "text":
                return self._text(block, delta.get("text"))
            case "citations_delta", "text" if isinstance(delta.get("citation"), dict):
                block.citations.append(delta["citation"])
            case "thinking_delta", "thinking" if delta.get("thinking"):
                return [ReasoningDelta(block.key, str(delta["thinking"]))]
            case "signature_delta", "thinking":
                block.parts.append(str(delta.get("signature") or ""))
            case "input_json_delta", _ if delta.get("partial_json"):
                fragment = str(delta["partial_json"])
                block.parts.append(fragment)
                if block.kind == "tool":
                    return [ToolCallDelta(block.key, fragment)]
                if block.kind == "json":
                    return [TextDelta(block.key, fragment)]
        return []

    def _stop(self, index: int) -> list[ModelEvent]:
        block = self._blocks.pop(index, None)
        if block is None:
            return []
        match block.kind:
            case "text":
                return self._annotations(block)
            case "thinking":
                signature = "".join(block.parts)
                sealed = ReasoningEncrypted(block.key, THINKING_PREFIX + signature, FAMILY)
                return [sealed, ItemDone(block.key)] if signature else [ItemDone(block.key)]
            case "redacted":
                return [ItemDone(block.key)]
            case "tool" | "json":
                rest: list[ModelEvent] = []
                if not block.parts:  # no input_json_delta (non-stream, or "" for no arguments)
                    arguments = _json(block.start.get("input") or {})
                    delta = ToolCallDelta if block.kind == "tool" else TextDelta
                    rest.append(delta(block.key, arguments))
                return [*rest, ItemDone(block.key)]
            case "search":
                self._queries[str(block.start.get("id"))] = _query(block)
            case "search_result":
                return [OpaqueItem(self._web_search_item(block.start))]
        return []

    def _annotations(self, block: _Block) -> list[ModelEvent]:
        events: list[ModelEvent] = []
        for citation in block.citations:
            url = citation.get("url")
            if not isinstance(url, str):
                continue  # document citations carry no URL
            annotation = {
                "type": "url_citation",
                "url": url,
                "title": str(citation.get("title") or ""),
                "start_index": block.text_start,
                "end_index": self._message_len,
            }
            events.append(Annotation(block.key, annotation))
        if events:
            self._message_started = True
        return events

    def _web_search_item(self, block: dict[str, Any]) -> dict[str, Any]:
        tool_use_id = str(block.get("tool_use_id") or "")
        query = self._queries.pop(tool_use_id, "")
        action: dict[str, Any] = {"type": "search", "query": query, "queries": [query]}
        content = block.get("content")
        if isinstance(content, list):
            action["sources"] = [
                {"type": "url", "url": r["url"]}
                for r in content
                if isinstance(r, dict) and isinstance(r.get("url"), str)
            ]
        status = "completed" if isinstance(content, list) else "failed"  # else: an error object
        return {"type": "web_search_call", "id": tool_use_id, "status": status, "action": action}

    def _close_message(self) -> list[ModelEvent]:
        key, started = self._message_key, self._message_started
        self._message_key, self._message_len, self._message_started = None, 0, False
        return [ItemDone(key)] if key is not None and started else []

    def _finish(self) -> list[ModelEvent]:
        events = self._close_message()
        read = self._usage.get("cache_read_input_tokens", 0)
        written = self._usage.get("cache_creation_input_tokens", 0)
        usage = Usage(
            input_tokens=self._usage.get("input_tokens", 0) + read + written,
            output_tokens=self._usage.get("output_tokens", 0),
            cached_tokens=read,
            cache_write_tokens=written,
        )
        reason = _FINISH.get(self._stop_reason or "", "stop")
        if reason == "tool_calls" and not self._tool_called:
            reason = "stop"  # only the structured-output tool was called: that is the answer
        self._finished = True
        return [*events, usage, Finish(reason)]


def translate_body(body: dict[str, Any]) -> list[ModelEvent]:
    """A non-stream Messages body, translated as the stream of it would be."""
    translator = AnthropicStreamTranslator()
    events = translator.handle({"type": "message_start", "message": body})
    for index, block in enumerate(body.get("content") or []):
        events += translator.handle(
            {"type": "content_block_start", "index": index, "content_block": block}
        )
        events += translator.handle({"type": "content_block_stop", "index": index})
    delta = {"stop_reason": body.get("stop_reason")}
    events += translator.handle(
        {"type": "message_delta", "delta": delta, "usage": body.get("usage")}
    )
    events += translator.handle({"type": "message_stop"})
    return events


def _json(value: Any) -> str:
    """A tool call's input as its arguments text. orjson writes at most 254 levels; the
    standard library goes as deep as Python's recursion limit."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        try:
            return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        except (RecursionError, ValueError):
            raise UpstreamError("The model's tool call input is nested too deeply to relay.",
                                status=502, code="bad_upstream") from None


def _query(block: _Block) -> str:
    raw = "".join(block.parts)
    try:
        parsed = orjson.loads(raw) if raw else block.start.get("input")
    except orjson.JSONDecodeError:
        return ""
    query = parsed.get("query") if isinstance(parsed, dict) else None
    return query if isinstance(query, str) else ""
