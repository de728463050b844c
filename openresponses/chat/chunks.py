"""Normalized ``ModelEvent``s → ``chat.completion.chunk``s and the final ``chat.completion``.

One builder per completion, fed every event of the turn: ``start`` gives the role chunk, ``feed``
the content / refusal / tool-call deltas (tool calls numbered 0, 1, ... in the order they start,
each first with its id, type and name), ``finish`` the finish chunk and, when the client asked
for it, the usage chunk (``choices: []``). ``completion`` is the same answer as one body: stream
and non-stream are two renderings of one builder.

Reasoning, hosted-tool items and other events Chat Completions cannot carry are left out;
``url_citation`` annotations appear on the final message.
"""

from __future__ import annotations

from typing import Any, assert_never

import attrs

from openresponses.schema import model_events as me
from openresponses.schema.ids import new_id

JSON = dict[str, Any]


def completion_id() -> str:
    """A fresh ``chatcmpl-<48 hex>`` id (never an upstream one) that sorts by creation time,
    as our other ids do (``new_id``); OpenAI's chat ids take a dash where ours take ``_``."""
    return new_id("chatcmpl").replace("_", "-", 1)


def chat_usage(usage: me.Usage) -> JSON:
    """Normalized usage → the Chat Completions ``usage`` object."""
    prompt: JSON = {"cached_tokens": usage.cached_tokens, "audio_tokens": 0}
    if usage.cache_write_tokens:
        prompt["cache_write_tokens"] = usage.cache_write_tokens
    return {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.input_tokens + usage.output_tokens,
        "prompt_tokens_details": prompt,
        "completion_tokens_details": {
            "reasoning_tokens": usage.reasoning_tokens, "audio_tokens": 0,
            "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0,
        },
    }


def _citation(annotation: JSON, text: str) -> JSON | None:
    if annotation.get("type") != "url_citation":
        return None
    return {"type": "url_citation", "url_citation": {
        "url": str(annotation.get("url", "")), "title": str(annotation.get("title", "")),
        "start_index": int(annotation.get("start_index", 0)),
        "end_index": int(annotation.get("end_index", len(text))),
    }}


@attrs.define
class _Call:
    index: int
    id: str
    name: str
    arguments: list[str] = attrs.Factory(list)


class ChunkBuilder:
    """Builds one completion's chunks and final body from normalized model events."""

    def __init__(self, *, id: str, model: str, created: int, include_usage: bool) -> None:
        self.id = id
        self.model = model
        self.created = created
        self.include_usage = include_usage
        self._text: list[str] = []
        self._refusal: list[str] = []
        self._calls: dict[str, _Call] = {}
        self._annotations: list[JSON] = []
        self._usage: me.Usage | None = None
        self._finish: me.FinishReason | None = None

    def _chunk(self, delta: JSON, finish: str | None = None) -> JSON:
        chunk: JSON = {
            "id": self.id, "object": "chat.completion.chunk", "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        if self.include_usage:
            chunk["usage"] = None
        return chunk

    def start(self) -> list[JSON]:
        """The first chunk: the assistant role."""
        return [self._chunk({"role": "assistant", "content": ""})]

    def feed(self, event: me.ModelEvent) -> list[JSON]:
        """The chunks one event gives (often none)."""
        match event:
            case me.TextDelta(delta=delta):
                self._text.append(delta)
                return [self._chunk({"content": delta})] if delta else []
            case me.RefusalDelta(delta=delta):
                self._refusal.append(delta)
                return [self._chunk({"refusal": delta})] if delta else []
            case me.ToolCallStart(key=key, call_id=call_id, name=name):
                call = self._calls[key] = _Call(len(self._calls), call_id, name)
                return [self._chunk({"tool_calls": [{
                    "index": call.index, "id": call_id, "type": "function",
                    "function": {"name": name, "arguments": ""}}]})]
            case me.ToolCallDelta(key=key, delta=delta):
                found = self._calls.get(key)
                if found is None or not delta:
                    return []
                found.arguments.append(delta)
                return [self._chunk({"tool_calls": [
                    {"index": found.index, "function": {"arguments": delta}}]})]
            case me.Annotation(annotation=annotation):
                self._annotations.append(annotation)
                return []
            case me.Usage():
                self._usage = event
                return []
            case me.Finish(reason=reason):
                self._finish = reason
                return []
            case (me.ReasoningDelta() | me.ReasoningSummaryDelta() | me.ReasoningEncrypted()
                  | me.OpaqueItem() | me.ItemDone()):
                return []
            case _:
                assert_never(event)

    @property
    def finish_reason(self) -> str:
        """``stop`` / ``length`` / ``tool_calls`` / ``content_filter``."""
        if self._finish in (None, "stop", "pause") and self._calls:
            return "tool_calls"
        return "stop" if self._finish in (None, "pause") else self._finish

    @property
    def usage(self) -> JSON | None:
        return chat_usage(self._usage) if self._usage is not None else None

    def finish(self) -> list[JSON]:
        """The finish chunk, then the usage chunk if the client asked for usage."""
        chunks = [self._chunk({}, self.finish_reason)]
        if self.include_usage:
            chunks.append({"id": self.id, "object": "chat.completion.chunk",
                           "created": self.created, "model": self.model, "choices": [],
                           "usage": self.usage})
        return chunks

    def message(self) -> JSON:
        """The assistant message as it stands."""
        text = "".join(self._text)
        message: JSON = {"role": "assistant", "content": text or None,
                         "refusal": "".join(self._refusal) or None}
        citations = [c for a in self._annotations if (c := _citation(a, text)) is not None]
        message["annotations"] = citations
        if self._calls:
            message["tool_calls"] = [
                {"id": c.id, "type": "function",
                 "function": {"name": c.name, "arguments": "".join(c.arguments)}}
                for c in self._calls.values()
            ]
        return message

    def completion(self) -> JSON:
        """The ``chat.completion`` body."""
        body: JSON = {
            "id": self.id, "object": "chat.completion", "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "message": self.message(), "logprobs": None,
                         "finish_reason": self.finish_reason}],
        }
        if self._usage is not None:
            body["usage"] = chat_usage(self._usage)
        return body
