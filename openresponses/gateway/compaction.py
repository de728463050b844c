"""Compaction: a model summarizes a context into one ``compaction`` item.

Used by ``POST /v1/responses/compact`` (the input and/or the ``previous_response_id`` chain
become ``[compaction]``) and by ``context_management`` on create, as OpenAI's server-side
compaction does it: past ``compact_threshold`` estimated tokens, the context before the latest
request (history and input alike) is summarized into a compaction item that also keeps that
request verbatim. The item is the response's first *output* item (streamed like any other) and
the model's context becomes what it stands for (``compaction_items.expand`` drops everything
before it). So a client chaining by input arrays appends it with the rest of the output, and a
``previous_response_id`` chain, a conversation or a WebSocket continuation carries on from it.

The model sees a plain-text transcript (roles, calls, results), whichever items the context
holds, so any provider can summarize any context. Cancellation: the model call is cancelled.
"""

from __future__ import annotations

from contextlib import aclosing
from typing import Any

import orjson

from openresponses.auth import Caller
from openresponses.errors import InvalidRequest, UpstreamUnavailable
from openresponses.gateway.compaction_items import (
    SECRET_NAME,
    compaction_item,
    expand,
    is_instruction,
)
from openresponses.gateway.run import Gateway, ResponseRun, load_history
from openresponses.gateway.storage_background import GetSecret
from openresponses.gateway.token_count import estimate_tokens, item_texts
from openresponses.schema.ids import new_id
from openresponses.schema.model_call import Item
from openresponses.schema.request import CreateResponse

INSTRUCTIONS = (
    "You are performing a CONTEXT CHECKPOINT COMPACTION. You are given the transcript of a "
    "conversation between a user and an AI assistant (with its tool calls and their results). "
    "Write a summary that lets the assistant continue the conversation without the transcript: "
    "the user's goals, requests, constraints and preferences (quote the latest request "
    "exactly), decisions taken, facts established, tool calls made and what they returned, "
    "work done and work still pending. Write only the summary."
)
_ZERO_USAGE = {"input_tokens": 0, "input_tokens_details": {"cached_tokens": 0},
               "output_tokens": 0, "output_tokens_details": {"reasoning_tokens": 0},
               "total_tokens": 0}


def _line(item: Item) -> str:
    kind = item.get("type", "message")
    texts = item_texts(item)
    if kind == "message":
        return f"{texts[0] or 'user'}: " + "\n".join(texts[1:])
    if kind in ("function_call", "custom_tool_call"):
        return f"assistant called tool {texts[0]} with: {texts[1]}"
    if kind in ("function_call_output", "custom_tool_call_output"):
        return f"tool result ({item.get('call_id', '')}): {texts[0]}"
    if kind == "reasoning":
        return "assistant (reasoning): " + " ".join(texts) if any(texts) else ""
    return f"[{kind}] " + orjson.dumps({k: v for k, v in item.items() if k != "id"}).decode()


def transcript(items: list[Item]) -> str:
    """The context as plain text, one entry per item."""
    return "\n\n".join(line for line in map(_line, items) if line)


async def summarize(
    gateway: Gateway, caller: Caller, model: str, items: list[Item],
    instructions: str | None = None,
) -> tuple[str, dict[str, Any]]:
    """(summary, usage) of ``items`` (already expanded) by ``model``.

    Raises the upstream's ``GatewayError`` if it refuses the call, ``UpstreamUnavailable`` if
    the call fails midway or yields no text.
    """
    prompt = {"type": "message", "id": new_id("msg"), "role": "user", "status": "completed",
              "content": [{"type": "input_text", "text": "Transcript of the conversation to "
                           "compact:\n\n" + transcript(items)}]}
    extra = f"\n\nAdditional instructions: {instructions}" if instructions else ""
    request = CreateResponse(model=model, input=[prompt], instructions=INSTRUCTIONS + extra,
                             store=False)
    run = ResponseRun(gateway, caller, request, history=[])
    async with aclosing(run.events()) as batches:
        async for _ in batches:
            pass
    response = run.response
    if response["status"] not in ("completed", "incomplete"):
        message = (response.get("error") or {}).get("message", "no detail")
        raise UpstreamUnavailable(f"The compaction model call failed: {message}")
    summary = str(response.get("output_text") or "").strip()
    if not summary:
        raise UpstreamUnavailable("The compaction model returned an empty summary.")
    return summary, response.get("usage") or dict(_ZERO_USAGE)


async def compact(
    gateway: Gateway, caller: Caller, *, model: str, items: list[Item],
    previous_response_id: str | None, instructions: str | None,
) -> dict[str, Any]:
    """The ``CompactResource`` for the chain ending at ``previous_response_id`` then
    ``items``: its output is one compaction item."""
    context = await load_history(gateway, caller, previous_response_id) + items
    if not context:
        raise InvalidRequest("Nothing to compact: give 'input' or 'previous_response_id'.",
                             param="input", code="missing_required_parameter")
    secret = await gateway.storage.ask(GetSecret(SECRET_NAME))
    summary, usage = await summarize(gateway, caller, model, expand(secret, context, api="chat"),
                                     instructions)
    return {"id": new_id("resp"), "object": "response.compaction",
            "output": [compaction_item(secret, summary)],
            "created_at": int(gateway.clock()), "usage": usage}


def _latest_request(context: list[Item]) -> int:
    """Where the latest request starts: the last user message (0 if there is none)."""
    users = [i for i, item in enumerate(context)
             if item.get("type", "message") == "message" and item.get("role") == "user"]
    return users[-1] if users else 0


async def auto_compaction(
    gateway: Gateway, caller: Caller, request: CreateResponse, history: list[Item]
) -> tuple[Item, dict[str, Any]] | None:
    """Past ``compact_threshold`` estimated tokens, the compaction item standing for the whole
    context (history, then the request's input): what precedes the latest request (the last
    user message) summarized, the rest kept verbatim in it; with the summarizing call's usage
    (the response counts it in its own). None below the threshold, or when there is nothing
    before the latest request to summarize.

    Raises like ``summarize``; cancellation cancels the summarizing call.
    """
    threshold = request.compact_threshold
    if threshold is None:
        return None
    secret = await gateway.storage.ask(GetSecret(SECRET_NAME))
    whole = expand(secret, history + request.input, api="responses")
    if estimate_tokens(whole, request.instructions, request.tools) <= threshold:
        return None
    context = expand(secret, history + request.input, api="chat")
    split = _latest_request(context)
    earlier = context[:split]
    if len(earlier) <= 1:
        return None  # only a summary or a single item: nothing to gain
    kept = [item for item in context[split:] if not is_instruction(item)]  # those stay anyway
    summary, usage = await summarize(gateway, caller, request.model, earlier)
    return compaction_item(secret, summary, items=kept), usage
