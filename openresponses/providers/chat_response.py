"""Chat Completions answers → normalized ``ModelEvent``s: the non-stream body and the stream.

Keys: reasoning text goes to item ``"reasoning"``, visible text and refusals to ``"message"``,
tool call ``i`` (the chat ``index``) to ``f"call{i}"``. A tool call without an id (Gemini sends
``""``) gets a minted ``call_<24 alnum>``. Usage comes from ``usage`` or Groq's
``x_groq.usage`` and is emitted once, right before the single ``Finish``.
"""

from __future__ import annotations

import secrets
import string
from typing import Any

import attrs
import orjson

from openresponses.errors import UpstreamError, UpstreamUnavailable
from openresponses.providers.errors import map_stream_error
from openresponses.schema.model_events import (
    Finish,
    FinishReason,
    ModelEvent,
    ReasoningDelta,
    RefusalDelta,
    TextDelta,
    ToolCallDelta,
    ToolCallStart,
    Usage,
)

JSON = dict[str, Any]
REASONING_KEY = "reasoning"
MESSAGE_KEY = "message"
_ALNUM = string.ascii_letters + string.digits
_FINISH: dict[str, FinishReason] = {
    "length": "length",
    "model_length": "length",  # Mistral
    "max_tokens": "length",
    "content_filter": "content_filter",
}


def mint_call_id() -> str:
    """A fresh ``call_<24 random alphanumerics>`` id for a tool call that came without one."""
    return "call_" + "".join(secrets.choice(_ALNUM) for _ in range(24))


def chat_usage(body: JSON) -> Usage | None:
    """``usage`` (or Groq's ``x_groq.usage``) of a completion or chunk, if it has one."""
    usage = body.get("usage")
    if not isinstance(usage, dict):
        groq = body.get("x_groq")
        usage = groq.get("usage") if isinstance(groq, dict) else None
    if not isinstance(usage, dict):
        return None
    prompt = usage.get("prompt_tokens_details") or {}
    completion = usage.get("completion_tokens_details") or {}
    cached = prompt.get("cached_tokens") or usage.get("prompt_cache_hit_tokens") or 0
    return Usage(
        input_tokens=int(usage.get("prompt_tokens") or 0),
        output_tokens=int(usage.get("completion_tokens") or 0),
        cached_tokens=int(cached),
        reasoning_tokens=int(completion.get("reasoning_tokens") or 0),
    )


def finish_reason(reason: str | None, had_tool_calls: bool) -> FinishReason:
    """Map a chat ``finish_reason``; stop / tool_calls follow whether calls were made."""
    mapped = _FINISH.get(reason or "")
    if mapped is not None:
        return mapped
    return "tool_calls" if had_tool_calls else "stop"


def _text(value: Any) -> str:
    """A content / reasoning field as text: a string, or a list of ``{"text"}`` parts."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(str(p.get("text") or "") for p in value if isinstance(p, dict))
    return ""


def _text_events(holder: JSON) -> list[ModelEvent]:
    """Reasoning, text and refusal of a message or a stream delta, in that order.

    A field that is absent, null or empty is skipped before ``_text`` is called: a stream
    delta mostly carries ``content`` alone, and this runs once per streamed chunk."""
    events: list[ModelEvent] = []
    if ("reasoning_content" in holder or "reasoning" in holder) and (
            reasoning := _reasoning(holder)):
        events.append(ReasoningDelta(REASONING_KEY, reasoning))
    content = holder.get("content")
    if type(content) is not str:
        content = _text(content) if content else ""
    if content:
        events.append(TextDelta(MESSAGE_KEY, content))
    refusal = holder.get("refusal")
    if refusal and (refusal := _text(refusal)):
        events.append(RefusalDelta(MESSAGE_KEY, refusal))
    return events


def _reasoning(holder: JSON) -> str:
    """DeepSeek's ``reasoning_content`` or Groq / OpenRouter's ``reasoning`` (never both)."""
    for field in ("reasoning_content", "reasoning"):
        value = holder.get(field)
        if value and (text := _text(value)):
            return text
    return ""


def raise_if_error(body: JSON) -> None:
    """Raise the mapped error if ``body`` carries an ``error`` object (an in-band failure)."""
    error = body.get("error")
    if error is None:
        return
    if isinstance(error, dict):
        raise map_stream_error(error)
    if isinstance(error, str) and error:
        raise map_stream_error({"message": error})


def translate_chat_response(body: JSON) -> list[ModelEvent]:
    """A ``chat.completion`` body → reasoning, text/refusal, tool calls, Usage, Finish."""
    raise_if_error(body)
    choices = body.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise UpstreamError("upstream response has no choices", status=502, code="bad_upstream")
    choice = choices[0]
    message = choice.get("message") or {}
    events = _text_events(message)
    calls = message.get("tool_calls") or []
    if not calls and isinstance(message.get("function_call"), dict):
        calls = [{"function": message["function_call"]}]  # the legacy single-call form
    for index, call in enumerate(calls):
        function = call.get("function") or {}
        key = f"call{index}"
        events.append(
            ToolCallStart(key, call.get("id") or mint_call_id(), function.get("name", ""))
        )
        if arguments := function.get("arguments"):
            events.append(ToolCallDelta(key, arguments))
    if (usage := chat_usage(body)) is not None:
        events.append(usage)
    events.append(Finish(finish_reason(choice.get("finish_reason"), bool(calls))))
    return events


@attrs.define
class _ToolCall:
    key: str
    call_id: str = ""
    name: str = ""
    started: bool = False
    pending: list[str] = attrs.field(factory=list)  # arguments seen before the name


class ChatStreamTranslator:
    """Translates one ``chat.completion.chunk`` stream (see ``StreamTranslator``)."""

    def __init__(self) -> None:
        self._calls: dict[int, _ToolCall] = {}
        self._finish: str | None = None
        self._usage: Usage | None = None
        self._closed = False

    def feed(self, event: str | None, data: str) -> list[ModelEvent]:
        """Translate one SSE event; raises the mapped error for an in-band error."""
        if data.strip() == "[DONE]":
            return []
        try:
            chunk = orjson.loads(data)
        except orjson.JSONDecodeError:
            if event == "error":
                raise map_stream_error({"message": data.strip()}) from None
            raise UpstreamError(
                "upstream sent a malformed stream event", status=502, code="bad_upstream"
            ) from None
        if not isinstance(chunk, dict):
            return []
        if "error" in chunk:
            raise_if_error(chunk)
        if event == "error":
            raise map_stream_error(chunk)
        if chunk.get("usage") is not None or "x_groq" in chunk:  # mostly absent or null
            if (usage := chat_usage(chunk)) is not None:
                self._usage = usage
        events: list[ModelEvent] = []
        for choice in chunk.get("choices") or []:
            if isinstance(choice, dict) and choice.get("index", 0) == 0:
                self._choice(choice, events)
        return events

    def close(self) -> list[ModelEvent]:
        """Usage (if seen) and the one Finish; raises if the stream never finished."""
        if self._closed:
            return []
        self._closed = True
        if self._finish is None:
            raise UpstreamUnavailable("upstream stream ended before completion", status=502)
        events: list[ModelEvent] = []
        for call in self._calls.values():
            if not call.started:  # a call whose name never came: emit what we have
                self._start(call, events)
        if self._usage is not None:
            events.append(self._usage)
        events.append(Finish(finish_reason(self._finish, bool(self._calls))))
        return events

    def _choice(self, choice: JSON, events: list[ModelEvent]) -> None:
        delta = choice.get("delta") or {}
        events += _text_events(delta)
        for tool_call in delta.get("tool_calls") or []:
            if isinstance(tool_call, dict):
                self._tool_call(tool_call, events)
        if choice.get("finish_reason"):
            self._finish = str(choice["finish_reason"])

    def _tool_call(self, delta: JSON, events: list[ModelEvent]) -> None:
        index = delta.get("index")
        if not isinstance(index, int):  # some servers omit it: a new id means a new call
            known = {c.call_id for c in self._calls.values()}
            new = bool(delta.get("id")) and delta.get("id") not in known
            index = len(self._calls) if new or not self._calls else max(self._calls)
        call = self._calls.get(index)
        if call is None:
            call = self._calls[index] = _ToolCall(f"call{index}")
        function = delta.get("function") or {}
        arguments = function.get("arguments") or ""
        if call.started:
            if arguments:
                events.append(ToolCallDelta(call.key, arguments))
            return
        call.call_id = call.call_id or delta.get("id") or ""
        call.name = function.get("name") or call.name
        if arguments:
            call.pending.append(arguments)
        if call.name:
            self._start(call, events)

    @staticmethod
    def _start(call: _ToolCall, events: list[ModelEvent]) -> None:
        call.started = True
        call.call_id = call.call_id or mint_call_id()
        events.append(ToolCallStart(call.key, call.call_id, call.name))
        if call.pending:
            events.append(ToolCallDelta(call.key, "".join(call.pending)))
            call.pending.clear()
