"""Responses turn → Anthropic Messages request body (pure, no I/O).

Shapes: ``system`` gathers ``instructions`` and every system/developer message; the other items
become alternating user/assistant turns (consecutive same-role turns merged, ``tool_result``
blocks first in a user turn). Anthropic reasoning comes back as ``thinking`` /
``redacted_thinking`` blocks in place, byte-identical; reasoning from other providers is dropped.
Structured output (``text.format``) is asked for as a forced tool named ``JSON_TOOL``, which the
translators turn back into output text.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from openresponses.errors import InvalidRequest
from openresponses.providers.anthropic_tools import tool_config
from openresponses.schema.model_call import Item, ModelCall

THINKING_PREFIX = "anthropic:thinking:"  # encrypted_content of a thinking block: + signature
REDACTED_PREFIX = "anthropic:redacted:"  # encrypted_content of a redacted_thinking block: + data
DEFAULT_MAX_TOKENS = 8192
EFFORT_BUDGETS = {"minimal": 1024, "low": 2048, "medium": 8192, "high": 16384, "xhigh": 32768,
                  "max": 32768}

Block = dict[str, Any]
_DATA_URL = re.compile(r"^data:(?P<type>[^;,]+)(?P<params>(?:;[^;,]*)*),(?P<data>.*)$", re.DOTALL)
_UNSAFE_ID = re.compile(r"[^A-Za-z0-9_-]")
_TEXT_PARTS = frozenset({"input_text", "output_text", "text", "summary_text", "reasoning_text"})


def build_body(call: ModelCall) -> dict[str, Any]:
    """The ``/v1/messages`` JSON body for ``call``. Raises ``InvalidRequest`` naming the param."""
    system, messages = convert_input(call.instructions, call.input)
    budget = thinking_budget(call.reasoning)
    if budget is not None and _tool_loop_without_thinking(messages):
        budget = None  # Anthropic would refuse the turn; this turn goes without thinking
    body: dict[str, Any] = {
        "model": call.model,
        "max_tokens": max_tokens(call.max_output_tokens, budget),
        "messages": messages,
    }
    tools = tool_config(call, thinking=budget is not None)
    if tools.system_note:
        system = f"{system}\n\n{tools.system_note}" if system else tools.system_note
    if system:
        body["system"] = system
    if budget is not None:
        body["thinking"] = {"type": "enabled", "budget_tokens": budget}
    elif call.temperature is not None:  # Anthropic takes one of the two (and 0 to 1: above is
        body["temperature"] = call.temperature  # refused, ``providers.unsupported``)
    elif call.top_p is not None:
        body["top_p"] = call.top_p
    if tools.tools:
        body["tools"] = tools.tools
    if tools.choice is not None:
        body["tool_choice"] = tools.choice
    if call.user:
        body["metadata"] = {"user_id": call.user}
    if call.stream:
        body["stream"] = True
    return body


def thinking_budget(reasoning: dict[str, Any] | None) -> int | None:
    """Thinking budget for ``reasoning.effort``; None when thinking stays off."""
    effort = (reasoning or {}).get("effort")
    if effort is None or effort == "none":
        return None
    budget = EFFORT_BUDGETS.get(effort) if isinstance(effort, str) else None
    if budget is None:
        raise InvalidRequest(
            f"Unsupported reasoning effort {effort!r} for Anthropic models.",
            param="reasoning.effort",
        )
    return budget


def _tool_loop_without_thinking(messages: list[Block]) -> bool:
    """True if the conversation is inside a tool loop whose assistant turn has no thinking.

    With thinking on, Anthropic requires the last assistant turn before the last tool results
    to start with a thinking block; a chain begun elsewhere (or without encrypted reasoning)
    has none to send.
    """
    for turn, after in zip(reversed(messages[:-1]), reversed(messages[1:]), strict=True):
        if turn["role"] != "assistant":
            continue
        in_loop = after["content"][0]["type"] == "tool_result"
        return in_loop and turn["content"][0]["type"] not in ("thinking", "redacted_thinking")
    return False


def max_tokens(requested: int | None, budget: int | None) -> int:
    """``max_tokens``: the request's cap, raised above the thinking budget when thinking is on.

    A cap at or below the budget is read as the allowance for the visible answer on top of it.
    """
    if budget is None:
        return requested or DEFAULT_MAX_TOKENS
    if requested is None:
        return budget + DEFAULT_MAX_TOKENS
    return requested if requested > budget else budget + requested


def convert_input(instructions: str | None, items: list[Item]) -> tuple[str, list[Block]]:
    """(system text, alternating messages) for the Responses input ``items``."""
    system: list[str] = [instructions] if instructions else []
    turns = _Turns()
    for item in items:
        kind = item.get("type", "message")
        if kind == "message":
            role = item.get("role")
            if role in ("system", "developer"):
                text = _plain_text(item.get("content"))
                if text:
                    system.append(text)
            elif role in ("user", "assistant"):
                turns.add(role, _message_blocks(item.get("content")))
            else:
                raise InvalidRequest(f"Unsupported message role {role!r}.", param="input")
        elif kind == "function_call":
            turns.add("assistant", [_tool_use(item)])
        elif kind == "function_call_output":
            turns.add("user", [_tool_result(item)])
        elif kind == "reasoning":
            block = reasoning_block(item)
            if block is not None:
                turns.add("assistant", [block])
        # Anything else (hosted tool calls such as web_search_call, items of other providers)
        # has no Anthropic form that the model needs; it is left out.
    return "\n\n".join(system), turns.messages


class _Turns:
    """Messages under construction; Anthropic wants strictly alternating roles."""

    def __init__(self) -> None:
        self.messages: list[Block] = []

    def add(self, role: str, blocks: list[Block]) -> None:
        if not blocks:
            return
        if self.messages and self.messages[-1]["role"] == role:
            content: list[Block] = self.messages[-1]["content"]
            content.extend(blocks)
            if role == "user":  # tool results must open the user turn
                content.sort(key=lambda block: block["type"] != "tool_result")
            return
        self.messages.append({"role": role, "content": list(blocks)})


def reasoning_block(item: Item) -> Block | None:
    """The thinking block an Anthropic reasoning item carries, or None (foreign / absent)."""
    encrypted = item.get("encrypted_content")
    if not isinstance(encrypted, str):
        return None
    if encrypted.startswith(REDACTED_PREFIX):
        return {"type": "redacted_thinking", "data": encrypted[len(REDACTED_PREFIX) :]}
    if encrypted.startswith(THINKING_PREFIX):
        signature = encrypted[len(THINKING_PREFIX) :]
        return {"type": "thinking", "thinking": _reasoning_text(item), "signature": signature}
    return None


def _reasoning_text(item: Item) -> str:
    """The readable thinking: ``content`` reasoning_text parts, else the summary."""
    content = item.get("content") or []
    text = "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    if text:
        return text
    summary = item.get("summary") or []
    return "\n\n".join(str(p.get("text", "")) for p in summary if isinstance(p, dict))


def _plain_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    parts = content if isinstance(content, list) else []
    texts = [p.get("text") for p in parts if isinstance(p, dict) and p.get("type") in _TEXT_PARTS]
    return "\n\n".join(t for t in texts if isinstance(t, str) and t)


def _message_blocks(content: Any) -> list[Block]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    if not isinstance(content, list):
        raise InvalidRequest("Message content must be a string or a list of parts.", param="input")
    blocks: list[Block] = []
    for part in content:
        block = content_block(part)
        if block is not None:
            blocks.append(block)
    return blocks


def content_block(part: Any) -> Block | None:
    """One Responses content part as an Anthropic block (None for empty text)."""
    kind = part.get("type") if isinstance(part, dict) else None
    if kind in _TEXT_PARTS or kind == "refusal":
        text = part.get("refusal" if kind == "refusal" else "text")
        return {"type": "text", "text": text} if isinstance(text, str) and text else None
    if kind == "input_image":
        return _image(part)
    if kind == "input_file":
        return _document(part)
    raise InvalidRequest(f"Content of type {kind!r} cannot be sent to Anthropic.", param="input")


def _image(part: dict[str, Any]) -> Block:
    url = part.get("image_url")
    if isinstance(url, dict):  # the Chat Completions shape {"url": ...}
        url = url.get("url")
    if not isinstance(url, str) or not url:
        raise InvalidRequest(
            "input_image needs an image_url (file_id is not supported for Anthropic).",
            param="input",
        )
    if url.startswith("data:"):
        media_type, data = _data_url(url)
        return {
            "type": "image",
            "source": {"type": "base64", "media_type": media_type, "data": data},
        }
    return {"type": "image", "source": {"type": "url", "url": url}}


def _document(part: dict[str, Any]) -> Block:
    data, url = part.get("file_data"), part.get("file_url")
    if isinstance(data, str) and data:
        media_type, payload = _data_url(data) if data.startswith("data:") else ("", data)
        if media_type not in ("", "application/pdf"):
            raise InvalidRequest(
                f"input_file of type {media_type} is not supported (PDF only).", param="input"
            )
        source = {"type": "base64", "media_type": "application/pdf", "data": payload}
    elif isinstance(url, str) and url:
        source = {"type": "url", "url": url}
    else:
        raise InvalidRequest(
            "input_file needs file_data or file_url (file_id is not supported for Anthropic).",
            param="input",
        )
    block: Block = {"type": "document", "source": source}
    if isinstance(part.get("filename"), str) and part["filename"]:
        block["title"] = part["filename"]
    return block


def _data_url(url: str) -> tuple[str, str]:
    match = _DATA_URL.match(url)
    if match is None or ";base64" not in match["params"]:
        raise InvalidRequest("Only base64 data URLs are supported.", param="input")
    return match["type"], match["data"]


def _safe_id(call_id: Any) -> str:
    """A tool-use id Anthropic accepts (``[A-Za-z0-9_-]+``), stable for the same input."""
    if not isinstance(call_id, str) or not call_id:
        raise InvalidRequest("function_call items need a call_id.", param="input")
    return _UNSAFE_ID.sub("_", call_id)


def _tool_use(item: Item) -> Block:
    arguments = item.get("arguments") or ""
    try:
        parsed = orjson.loads(arguments) if str(arguments).strip() else {}
    except orjson.JSONDecodeError:
        parsed = None
    if not isinstance(parsed, dict):
        raise InvalidRequest(
            f"The arguments of function call {item.get('call_id')!r} are not a JSON object.",
            param="input",
        )
    return {
        "type": "tool_use",
        "id": _safe_id(item.get("call_id")),
        "name": item.get("name"),
        "input": parsed,
    }


def _tool_result(item: Item) -> Block:
    block: Block = {"type": "tool_result", "tool_use_id": _safe_id(item.get("call_id"))}
    output = item.get("output")
    if isinstance(output, list):
        parts = [content_block(part) for part in output]
        blocks = [p for p in parts if p is not None]
        if blocks:
            block["content"] = blocks
    elif isinstance(output, str):
        if output:
            block["content"] = output
    elif output is not None:
        block["content"] = orjson.dumps(output).decode()
    return block
