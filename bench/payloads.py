"""What the fake upstream answers: bodies and SSE events in the three wire formats.

The model name carries the knobs, so every proxy under test passes them through unchanged:
``fake-c20-d1000-l50`` = 20 text deltas, 1000 ms between streamed chunks, 50 ms before the
response head. Missing knobs take the defaults (20 deltas, no delay, no latency).
"""

from __future__ import annotations

import re
from typing import Any

import attrs
import orjson

WORDS = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor".split()
_KNOB = re.compile(r"^([cdl])(\d+)$")


@attrs.frozen
class Knobs:
    chunks: int = 20
    chunk_delay: float = 0.0  # seconds
    latency: float = 0.0  # seconds


def knobs(model: str) -> Knobs:
    """The knobs a model name carries (``c``: chunks, ``d``: ms between chunks, ``l``: ms)."""
    values = {"c": 20, "d": 0, "l": 0}
    for part in model.rsplit("/", 1)[-1].split("-"):
        match = _KNOB.match(part)
        if match:
            values[match[1]] = int(match[2])
    return Knobs(max(1, values["c"]), values["d"] / 1000, values["l"] / 1000)


def pieces(n: int) -> list[str]:
    """``n`` text deltas of one or two words each."""
    return [(" " if i else "") + WORDS[i % len(WORDS)] for i in range(n)]


def _usage_chat(n: int) -> dict[str, int]:
    return {"prompt_tokens": 12, "completion_tokens": n, "total_tokens": 12 + n}


def chat_body(model: str, n: int) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": "".join(pieces(n)),
                               "refusal": None, "annotations": []}
    return {"id": "chatcmpl-bench", "object": "chat.completion", "created": 1700000000,
            "model": model, "choices": [{"index": 0, "message": message, "logprobs": None,
                                         "finish_reason": "stop"}],
            "usage": _usage_chat(n), "service_tier": "default",
            "system_fingerprint": "fp_bench"}


def chat_events(model: str, n: int) -> list[tuple[str | None, dict[str, Any] | str]]:
    base = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1700000000,
            "model": model, "service_tier": "default", "system_fingerprint": "fp_bench"}

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    events: list[tuple[str | None, dict[str, Any] | str]] = [
        (None, chunk({"role": "assistant", "content": ""}))]
    events += [(None, chunk({"content": p})) for p in pieces(n)]
    events.append((None, chunk({}, "stop")))
    events.append((None, {**base, "choices": [], "usage": _usage_chat(n)}))
    events.append((None, "[DONE]"))
    return events


def anthropic_body(model: str, n: int) -> dict[str, Any]:
    return {"id": "msg_bench", "type": "message", "role": "assistant", "model": model,
            "content": [{"type": "text", "text": "".join(pieces(n))}],
            "stop_reason": "end_turn", "stop_sequence": None,
            "usage": {"input_tokens": 12, "output_tokens": n}}


def anthropic_events(model: str, n: int) -> list[tuple[str | None, dict[str, Any] | str]]:
    start = {**anthropic_body(model, n), "content": [], "stop_reason": None,
             "usage": {"input_tokens": 12, "output_tokens": 1}}
    events: list[tuple[str | None, dict[str, Any] | str]] = [
        ("message_start", {"type": "message_start", "message": start}),
        ("content_block_start", {"type": "content_block_start", "index": 0,
                                 "content_block": {"type": "text", "text": ""}}),
    ]
    events += [("content_block_delta", {"type": "content_block_delta", "index": 0,
                                        "delta": {"type": "text_delta", "text": p}})
               for p in pieces(n)]
    events += [
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("message_delta", {"type": "message_delta",
                           "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                           "usage": {"output_tokens": n}}),
        ("message_stop", {"type": "message_stop"}),
    ]
    return events


def responses_body(model: str, n: int) -> dict[str, Any]:
    item = {"id": "msg_bench", "type": "message", "status": "completed", "role": "assistant",
            "content": [{"type": "output_text", "text": "".join(pieces(n)), "annotations": []}]}
    return {"id": "resp_bench", "object": "response", "created_at": 1700000000,
            "status": "completed", "model": model, "output": [item], "error": None,
            "incomplete_details": None,
            "usage": {"input_tokens": 12, "input_tokens_details": {"cached_tokens": 0},
                      "output_tokens": n, "output_tokens_details": {"reasoning_tokens": 0},
                      "total_tokens": 12 + n}}


def responses_events(model: str, n: int) -> list[tuple[str | None, dict[str, Any] | str]]:
    body = responses_body(model, n)
    start = {**body, "status": "in_progress", "output": [], "usage": None}
    item = body["output"][0]
    empty = {**item, "status": "in_progress", "content": []}
    raw: list[dict[str, Any]] = [
        {"type": "response.created", "response": start},
        {"type": "response.in_progress", "response": start},
        {"type": "response.output_item.added", "output_index": 0, "item": empty},
        {"type": "response.content_part.added", "item_id": item["id"], "output_index": 0,
         "content_index": 0, "part": {"type": "output_text", "text": "", "annotations": []}},
    ]
    raw += [{"type": "response.output_text.delta", "item_id": item["id"], "output_index": 0,
             "content_index": 0, "delta": p} for p in pieces(n)]
    raw += [
        {"type": "response.output_text.done", "item_id": item["id"], "output_index": 0,
         "content_index": 0, "text": item["content"][0]["text"]},
        {"type": "response.content_part.done", "item_id": item["id"], "output_index": 0,
         "content_index": 0, "part": item["content"][0]},
        {"type": "response.output_item.done", "output_index": 0, "item": item},
        {"type": "response.completed", "response": body},
    ]
    return [(e["type"], {**e, "sequence_number": i}) for i, e in enumerate(raw)]


BODIES = {"chat": chat_body, "anthropic": anthropic_body, "responses": responses_body}
EVENTS = {"chat": chat_events, "anthropic": anthropic_events, "responses": responses_events}


def wire_format(path: str) -> str:
    """Which format a request path asks for: ``chat``, ``anthropic`` or ``responses``."""
    if path.endswith("/messages"):
        return "anthropic"
    if path.endswith("/responses"):
        return "responses"
    return "chat"


def sse_frame(event: str | None, data: dict[str, Any] | str) -> bytes:
    head = b"event: " + event.encode() + b"\n" if event else b""
    payload = data.encode() if isinstance(data, str) else orjson.dumps(data)
    return head + b"data: " + payload + b"\n\n"


def render(fmt: str, model: str, stream: bool) -> bytes | list[bytes]:
    """The non-stream body, or the list of SSE frames of a stream."""
    n = knobs(model).chunks
    if not stream:
        return orjson.dumps(BODIES[fmt](model, n))
    return [sse_frame(event, data) for event, data in EVENTS[fmt](model, n)]
