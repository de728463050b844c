"""Relayed ``chat.completion.chunk``s folded into the ``chat.completion`` they add up to.

Used to store a streamed passthrough completion: every choice (``n`` > 1 included) gathers its
content, refusal and tool calls (by ``index``, arguments joined), its finish reason and the
stream's last usage (``usage``, or Groq's ``x_groq.usage``). Fields the chunks carry at the top
level (``system_fingerprint``, ``service_tier``) are kept.
"""

from __future__ import annotations

from typing import Any

import attrs

JSON = dict[str, Any]
_TOP_LEVEL = ("system_fingerprint", "service_tier")


@attrs.define
class _Choice:
    content: list[str] = attrs.Factory(list)
    refusal: list[str] = attrs.Factory(list)
    calls: dict[int, JSON] = attrs.Factory(dict)
    finish_reason: str | None = None

    def add(self, delta: JSON) -> None:
        if isinstance(delta.get("content"), str):
            self.content.append(delta["content"])
        if isinstance(delta.get("refusal"), str):
            self.refusal.append(delta["refusal"])
        for position, call in enumerate(delta.get("tool_calls") or []):
            if isinstance(call, dict):
                self._call(call, position)

    def _call(self, delta: JSON, position: int) -> None:
        index = delta.get("index")
        index = index if isinstance(index, int) else position
        call = self.calls.setdefault(
            index, {"id": "", "type": "function", "function": {"name": "", "arguments": ""}})
        if delta.get("id"):
            call["id"] = delta["id"]
        function = delta.get("function") or {}
        if function.get("name"):
            call["function"]["name"] = function["name"]
        if isinstance(function.get("arguments"), str):
            call["function"]["arguments"] += function["arguments"]

    def message(self) -> JSON:
        message: JSON = {"role": "assistant", "content": "".join(self.content) or None,
                         "refusal": "".join(self.refusal) or None, "annotations": []}
        if self.calls:
            message["tool_calls"] = [self.calls[i] for i in sorted(self.calls)]
        return message


class ChunkAccumulator:
    """Feed relayed chunks (already carrying our id and the client's model); read the body."""

    def __init__(self) -> None:
        self._choices: dict[int, _Choice] = {}
        self._head: JSON = {}
        self._usage: JSON | None = None

    def add(self, chunk: JSON) -> None:
        if not self._head:
            self._head = {k: chunk.get(k) for k in ("id", "created", "model")}
            self._head.update({k: chunk[k] for k in _TOP_LEVEL if chunk.get(k) is not None})
        groq = chunk.get("x_groq")
        usage = chunk.get("usage") or (groq.get("usage") if isinstance(groq, dict) else None)
        if isinstance(usage, dict):
            self._usage = usage
        for choice in chunk.get("choices") or []:
            if not isinstance(choice, dict):
                continue
            index = choice.get("index", 0)
            state = self._choices.setdefault(index if isinstance(index, int) else 0, _Choice())
            state.add(choice.get("delta") or {})
            if choice.get("finish_reason"):
                state.finish_reason = str(choice["finish_reason"])

    @property
    def finished(self) -> bool:
        """Whether every choice seen so far has its finish reason."""
        return bool(self._choices) and all(c.finish_reason for c in self._choices.values())

    def completion(self) -> JSON:
        body: JSON = {"id": self._head.get("id"), "object": "chat.completion",
                      "created": self._head.get("created"), "model": self._head.get("model")}
        body["choices"] = [
            {"index": i, "message": c.message(), "logprobs": None,
             "finish_reason": c.finish_reason or "stop"}
            for i, c in sorted(self._choices.items())
        ]
        if self._usage is not None:
            body["usage"] = self._usage
        body.update({k: v for k, v in self._head.items() if k in _TOP_LEVEL})
        return body
