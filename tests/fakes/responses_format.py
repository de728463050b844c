"""A ``Script`` rendered as the OpenAI Responses API renders a turn (body and SSE stream)."""

from __future__ import annotations

from typing import Any

from tests.fakes.script import Script, split, sse


def _items(script: Script) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    if script.reasoning is not None:
        items.append({"id": "rs_up1", "type": "reasoning", "summary": [
            {"type": "summary_text", "text": script.reasoning}],
            "encrypted_content": "gAAAA-upstream-blob"})
    if script.text:
        items.append({"id": "msg_up1", "type": "message", "status": "completed",
                      "role": "assistant", "content": [
                          {"type": "output_text", "text": script.text, "annotations": []}]})
    for i, call in enumerate(script.tool_calls):
        items.append({"id": f"fc_up{i}", "type": "function_call", "status": "completed",
                      "call_id": call.call_id, "name": call.name, "arguments": call.arguments})
    return items


def responses_body(script: Script, model: str) -> dict[str, Any]:
    incomplete = script.finish == "length"
    return {
        "id": "resp_upstream123", "object": "response", "created_at": 1700000000,
        "status": "incomplete" if incomplete else "completed",
        "incomplete_details": {"reason": "max_output_tokens"} if incomplete else None,
        "model": model, "output": _items(script), "error": None,
        "usage": {"input_tokens": script.input_tokens,
                  "input_tokens_details": {"cached_tokens": 0},
                  "output_tokens": script.output_tokens,
                  "output_tokens_details": {"reasoning_tokens": 0},
                  "total_tokens": script.input_tokens + script.output_tokens},
    }


def _item_events(index: int, item: dict[str, Any], script: Script) -> list[dict[str, Any]]:
    empty = {**item}
    if item["type"] == "message":
        empty["content"] = []
    if item["type"] == "function_call":
        empty["arguments"] = ""
    events: list[dict[str, Any]] = [
        {"type": "response.output_item.added", "output_index": index, "item": empty}]
    if item["type"] == "message":
        for piece in split(script.text, script.chunks):
            events.append({"type": "response.output_text.delta", "item_id": item["id"],
                           "output_index": index, "content_index": 0, "delta": piece})
    elif item["type"] == "function_call":
        for piece in split(item["arguments"], 3):
            events.append({"type": "response.function_call_arguments.delta",
                           "item_id": item["id"], "output_index": index, "delta": piece})
    elif item["type"] == "reasoning":
        events.append({"type": "response.reasoning_summary_text.delta", "item_id": item["id"],
                       "output_index": index, "summary_index": 0, "delta": script.reasoning})
    events.append({"type": "response.output_item.done", "output_index": index, "item": item})
    return events


def responses_stream(script: Script, model: str) -> list[bytes]:
    body = responses_body(script, model)
    start = {**body, "status": "in_progress", "output": [], "usage": None}
    events: list[dict[str, Any]] = [{"type": "response.created", "response": start},
                                    {"type": "response.in_progress", "response": start}]
    for index, item in enumerate(body["output"]):
        events += _item_events(index, item, script)
    final = "response.incomplete" if body["status"] == "incomplete" else "response.completed"
    events.append({"type": final, "response": body})
    return [sse({**e, "sequence_number": n}, e["type"]) for n, e in enumerate(events)]
