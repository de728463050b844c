"""Responses input items, tools and options → a Chat Completions request body (pure).

Input items map to chat messages: ``message`` items keep their role (``developer`` becomes
``system`` unless the provider takes ``developer``), consecutive ``function_call`` items (and the
assistant message right before them) merge into one assistant message with ``tool_calls``,
``function_call_output`` becomes a ``tool`` message. ``reasoning`` items are dropped (chat
providers cannot take them back), ``item_reference`` and unknown types are skipped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from openresponses.errors import InvalidRequest
from openresponses.providers.chat_prefix import NOTHING, PrefixCache
from openresponses.schema.model_call import Item, ModelCall

JSON = dict[str, Any]
_TEXT_PARTS = frozenset({"input_text", "output_text", "text", "summary_text", "reasoning_text"})


def chat_messages(call: ModelCall, *, developer_role: bool,
                  prefixes: PrefixCache | None = None) -> list[JSON]:
    """The ``messages`` array: the instructions as a system message, then the input items.

    ``prefixes``: reuse the messages of the input's leading items that were translated for an
    earlier turn of the same chain, and remember this translation (``chat_prefix``).
    """
    return _translated(call, developer_role, prefixes)[0]


def encoded_chat_messages(call: ModelCall, *, developer_role: bool,
                          prefixes: PrefixCache) -> Sequence[JSON | orjson.Fragment]:
    """``chat_messages`` for a request body: when the translation is remembered (a list long
    enough to be a chain), its messages as their JSON, the prefix's reused (``chat_prefix``)."""
    messages, base, encoded = _translated(call, developer_role, prefixes)
    if encoded is None:
        return messages
    return [*messages[:base], *encoded]


def _translated(call: ModelCall, developer_role: bool, prefixes: PrefixCache | None
                ) -> tuple[list[JSON], int, list[orjson.Fragment] | None]:
    """The messages, where the input's begin (after the instructions), and the input's
    messages encoded when ``prefixes`` remembered them."""
    messages: list[JSON] = []
    if call.instructions:
        messages.append({"role": "system", "content": call.instructions})
    items = call.input
    found = prefixes.find(items, developer_role) if prefixes else NOTHING
    done, ends = found.count, list(found.ends)
    base = len(messages)
    messages += found.messages
    for item in items[done:] if done else items:
        kind = item.get("type") or ("message" if "role" in item else None)
        if kind == "message":
            messages.append(_message(item, developer_role))
        elif kind == "function_call":
            _add_tool_call(messages, item)
        elif kind == "function_call_output":
            messages.append(
                {
                    "role": "tool",
                    "tool_call_id": item.get("call_id", ""),
                    "content": _output_text(item.get("output")),
                }
            )
        # reasoning, item_reference and item types chat cannot express are skipped.
        ends.append(len(messages) - base)
    if prefixes is None:
        return messages, base, None
    return messages, base, prefixes.remember(items, developer_role, messages[base:], ends, found)


def _message(item: Item, developer_role: bool) -> JSON:
    role = item.get("role", "user")
    if role == "developer" and not developer_role:
        role = "system"
    content = item.get("content")
    text = _single_text(content)
    if text is not None:  # the common case, taken without building parts (long chains)
        return {"role": role, "content": text}
    if role == "assistant":
        return _assistant_message(content)
    if isinstance(content, str):
        return {"role": role, "content": content}
    parts = [c for p in content or [] if isinstance(p, dict) and (c := _content_part(p))]
    if all(p["type"] == "text" for p in parts) and (role != "user" or len(parts) <= 1):
        return {"role": role, "content": "\n\n".join(p["text"] for p in parts)}
    return {"role": role, "content": parts}


def _single_text(content: Any) -> str | None:
    """The text of content that is one text part (what the general path makes of it for any
    role), else None."""
    if isinstance(content, list) and len(content) == 1:
        part = content[0]
        if isinstance(part, dict) and part.get("type") in _TEXT_PARTS:
            return str(part.get("text", ""))
    return None


def _assistant_message(content: Any) -> JSON:
    """Assistant content as a plain string; refusal parts become the ``refusal`` field."""
    if isinstance(content, str):
        return {"role": "assistant", "content": content}
    texts: list[str] = []
    refusals: list[str] = []
    for part in content or []:
        if not isinstance(part, dict):
            continue
        if part.get("type") == "refusal":
            refusals.append(str(part.get("refusal", "")))
        elif part.get("type") in _TEXT_PARTS:
            texts.append(str(part.get("text", "")))
    message: JSON = {"role": "assistant", "content": "".join(texts)}
    if refusals:
        message["refusal"] = "".join(refusals)
        if not texts:
            message["content"] = None
    return message


def _content_part(part: JSON) -> JSON | None:
    kind = part.get("type")
    if kind in _TEXT_PARTS:
        return {"type": "text", "text": str(part.get("text", ""))}
    if kind == "input_image":
        return _image_part(part)
    if kind == "input_file":
        return _file_part(part)
    return None  # e.g. input_audio: not expressible, skipped


def _image_part(part: JSON) -> JSON:
    url = part.get("image_url")
    if isinstance(url, dict):
        url = url.get("url")
    if not isinstance(url, str) or not url:
        raise InvalidRequest(
            "input_image needs an image_url (file_id is not supported by this provider)",
            param="input",
        )
    image: JSON = {"url": url}
    if part.get("detail"):
        image["detail"] = part["detail"]
    return {"type": "image_url", "image_url": image}


def _file_part(part: JSON) -> JSON:
    file: JSON = {}
    if part.get("file_data"):
        file["file_data"] = part["file_data"]
        if part.get("filename"):
            file["filename"] = part["filename"]
    elif part.get("file_id"):
        file["file_id"] = part["file_id"]
    else:
        raise InvalidRequest(
            "input_file needs file_data or file_id (file_url is not supported by this provider)",
            param="input",
        )
    return {"type": "file", "file": file}


def _add_tool_call(messages: list[JSON], item: Item) -> None:
    """Append to the previous assistant message's ``tool_calls``, or start one.

    The previous message is replaced by a merged copy, never changed in place: it may be
    shared with an earlier turn's translation (``chat_prefix``).
    """
    call = {
        "id": item.get("call_id", ""),
        "type": "function",
        "function": {"name": item.get("name", ""), "arguments": item.get("arguments") or "{}"},
    }
    last = messages[-1] if messages else None
    if last is not None and last["role"] == "assistant":
        merged = {**last, "tool_calls": [*last.get("tool_calls", ()), call]}
        if merged.get("content") == "":
            merged["content"] = None
        messages[-1] = merged
        return
    messages.append({"role": "assistant", "content": None, "tool_calls": [call]})


def _output_text(output: Any) -> str:
    """A ``function_call_output`` output (a string or a list of parts) as text."""
    if isinstance(output, str):
        return output
    if isinstance(output, list):
        return "".join(
            str(p.get("text", ""))
            for p in output
            if isinstance(p, dict) and p.get("type") in _TEXT_PARTS
        )
    return "" if output is None else str(output)


def chat_tools(call: ModelCall) -> tuple[list[JSON], str | JSON | None]:
    """Function tools in chat shape, and the chat ``tool_choice`` (None: not sent).

    Non-function tools are not sent; ``allowed_tools`` filters the list and gives its mode.
    """
    tools = [t for t in call.tools if t.get("type") == "function" and t.get("name")]
    choice = call.tool_choice
    if isinstance(choice, dict):
        kind = choice.get("type")
        if kind == "allowed_tools":
            allowed = {t.get("name") for t in choice.get("tools", []) if isinstance(t, dict)}
            tools = [t for t in tools if t["name"] in allowed]
            choice = choice.get("mode", "auto")
        elif kind == "function" and "name" in choice:
            choice = {"type": "function", "function": {"name": choice["name"]}}
        elif not (kind == "function" and "function" in choice):
            choice = None  # a hosted tool's choice: that tool is not sent
    if not tools:
        return [], None
    return [_chat_tool(t) for t in tools], choice


def _chat_tool(tool: JSON) -> JSON:
    function: JSON = {"name": tool["name"]}
    for key in ("description", "parameters", "strict"):
        if tool.get(key) is not None:
            function[key] = tool[key]
    return {"type": "function", "function": function}


def response_format(text_format: JSON | None) -> JSON | None:
    """``text.format`` → chat ``response_format`` (None for plain text)."""
    if not text_format:
        return None
    kind = text_format.get("type")
    if kind == "json_object":
        return {"type": "json_object"}
    if kind != "json_schema":
        return None
    schema: JSON = {"name": text_format.get("name", "response")}
    for key in ("description", "schema", "strict"):
        if text_format.get(key) is not None:
            schema[key] = text_format[key]
    return {"type": "json_schema", "json_schema": schema}
