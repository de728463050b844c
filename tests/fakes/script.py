"""A scripted model turn and its rendering in each wire format the fake upstream speaks.

A ``Script`` says what the fake model answers (text, tool calls, finish, usage); the renderers
turn it into a Chat Completions, Responses or Anthropic Messages body or SSE stream, in the
shapes real providers send (see ../shared/transcripts).
"""

from __future__ import annotations

import json
from typing import Any

import attrs


@attrs.frozen
class ToolCall:
    call_id: str
    name: str
    arguments: str


@attrs.frozen(kw_only=True)
class Script:
    text: str = "Hello from the fake model."
    tool_calls: tuple[ToolCall, ...] = ()
    reasoning: str | None = None
    signature: str = "sig-abc/123+=="
    finish: str = "stop"  # stop | length | pause (Anthropic pause_turn)
    input_tokens: int = 11
    output_tokens: int = 7
    chunks: int = 4  # how many text deltas a stream splits the text into
    delay: float = 0.0  # seconds between streamed chunks
    error_after: int | None = None  # chat streams: an in-band error event after N text deltas


def split(text: str, n: int) -> list[str]:
    if not text:
        return []
    size = max(1, -(-len(text) // max(1, n)))
    return [text[i : i + size] for i in range(0, len(text), size)]


def sse(data: dict[str, Any], event: str | None = None) -> bytes:
    head = f"event: {event}\n" if event else ""
    return (head + "data: " + json.dumps(data) + "\n\n").encode()


# -- Chat Completions ------------------------------------------------------------------------

def _chat_finish(script: Script) -> str:
    if script.finish == "length":
        return "length"
    return "tool_calls" if script.tool_calls else "stop"


def _chat_usage(script: Script) -> dict[str, Any]:
    return {"prompt_tokens": script.input_tokens, "completion_tokens": script.output_tokens,
            "total_tokens": script.input_tokens + script.output_tokens}


def chat_body(script: Script, model: str) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": script.text or None}
    if script.tool_calls:
        message["tool_calls"] = [
            {"id": c.call_id, "type": "function",
             "function": {"name": c.name, "arguments": c.arguments}}
            for c in script.tool_calls
        ]
    return {"id": "chatcmpl-fake123", "object": "chat.completion", "created": 1700000000,
            "model": model, "choices": [{"index": 0, "message": message,
                                         "finish_reason": _chat_finish(script)}],
            "usage": _chat_usage(script)}


def chat_stream(script: Script, model: str, *, include_usage: bool = True) -> list[bytes]:
    """The SSE events of a streamed chat completion; the usage chunk only with
    ``include_usage`` (``stream_options.include_usage``, as OpenAI)."""
    base = {"id": "chatcmpl-fake123", "object": "chat.completion.chunk", "created": 1700000000,
            "model": model}

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        return sse({**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})

    out = [chunk({"role": "assistant", "content": ""})]
    out += [chunk({"content": piece}) for piece in split(script.text, script.chunks)]
    if script.error_after is not None:
        error = {"error": {"message": "upstream exploded", "type": "server_error"}}
        return [*out[: script.error_after + 1], sse(error, "error")]
    for i, call in enumerate(script.tool_calls):
        out.append(chunk({"tool_calls": [{"index": i, "id": call.call_id, "type": "function",
                                          "function": {"name": call.name, "arguments": ""}}]}))
        for piece in split(call.arguments, 3):
            out.append(chunk({"tool_calls": [{"index": i, "function": {"arguments": piece}}]}))
    out.append(chunk({}, _chat_finish(script)))
    if include_usage:
        out.append(sse({**base, "choices": [], "usage": _chat_usage(script)}))
    out.append(b"data: [DONE]\n\n")
    return out


# -- Anthropic Messages ----------------------------------------------------------------------

def _anthropic_blocks(script: Script) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if script.reasoning is not None:
        blocks.append({"type": "thinking", "thinking": script.reasoning,
                       "signature": script.signature})
    if script.text:
        blocks.append({"type": "text", "text": script.text})
    for call in script.tool_calls:
        blocks.append({"type": "tool_use", "id": call.call_id, "name": call.name,
                       "input": json.loads(call.arguments or "{}")})
    return blocks


def _anthropic_stop(script: Script) -> str:
    if script.finish == "length":
        return "max_tokens"
    if script.finish == "pause":
        return "pause_turn"
    return "tool_use" if script.tool_calls else "end_turn"


def anthropic_body(script: Script, model: str) -> dict[str, Any]:
    return {"id": "msg_fake123", "type": "message", "role": "assistant", "model": model,
            "content": _anthropic_blocks(script), "stop_reason": _anthropic_stop(script),
            "stop_sequence": None,
            "usage": {"input_tokens": script.input_tokens,
                      "output_tokens": script.output_tokens}}


def _anthropic_block_events(index: int, block: dict[str, Any], script: Script) -> list[bytes]:
    kind = block["type"]
    start: dict[str, Any]
    if kind == "text":
        start, deltas = {"type": "text", "text": ""}, [
            {"type": "text_delta", "text": p} for p in split(block["text"], script.chunks)]
    elif kind == "thinking":
        start = {"type": "thinking", "thinking": "", "signature": ""}
        deltas = [{"type": "thinking_delta", "thinking": block["thinking"]},
                  {"type": "signature_delta", "signature": block["signature"]}]
    else:
        start = {"type": "tool_use", "id": block["id"], "name": block["name"],
                 "input": {}}
        deltas = [{"type": "input_json_delta", "partial_json": p}
                  for p in split(json.dumps(block["input"]), 3)]
    out = [sse({"type": "content_block_start", "index": index, "content_block": start},
               "content_block_start")]
    out += [sse({"type": "content_block_delta", "index": index, "delta": d},
                "content_block_delta") for d in deltas]
    out.append(sse({"type": "content_block_stop", "index": index}, "content_block_stop"))
    return out


def anthropic_stream(script: Script, model: str) -> list[bytes]:
    body = anthropic_body(script, model)
    start = {**body, "content": [], "stop_reason": None,
             "usage": {"input_tokens": script.input_tokens, "output_tokens": 1}}
    out = [sse({"type": "message_start", "message": start}, "message_start"),
           sse({"type": "ping"}, "ping")]
    for index, block in enumerate(body["content"]):
        out += _anthropic_block_events(index, block, script)
    out.append(sse({"type": "message_delta",
                    "delta": {"stop_reason": body["stop_reason"], "stop_sequence": None},
                    "usage": {"output_tokens": script.output_tokens}}, "message_delta"))
    out.append(sse({"type": "message_stop"}, "message_stop"))
    return out
