"""A Chat Completions request → Responses items and a ``ModelCall`` (pure), for the providers
reached by translation (Anthropic Messages, the OpenAI Responses API).

Messages map to items: ``system`` / ``developer`` / ``user`` messages keep their role (text parts
become ``input_text``, ``image_url`` → ``input_image``, ``file`` → ``input_file``); an assistant
message becomes a message item (text and refusal) followed by one ``function_call`` per tool
call; a ``tool`` message becomes a ``function_call_output``. Items are then canonicalized by
``schema.items.normalize_item``, the same code ``/v1/responses`` input goes through.

Chat parameters a family cannot express are refused with a 400 naming the param, never dropped
silently: ``n`` > 1, ``seed``, ``logprobs``, ``logit_bias``, penalties (Anthropic), audio,
predicted output and the legacy ``functions``. ``stop`` becomes Anthropic's ``stop_sequences``;
the Responses API has no stop sequences, and takes the penalties, the hints (``service_tier``,
``prompt_cache_key``...) and ``verbosity`` (as ``text.verbosity``); Anthropic has no place for
the hints, which change no output, so they are left out.
"""

from __future__ import annotations

from typing import Any

import attrs

from openresponses.chat.request import JSON, ChatRequest
from openresponses.errors import InvalidRequest
from openresponses.schema.items import normalize_item
from openresponses.schema.model_call import Item, ModelCall

# Parameters refused on translated providers unless absent or at their neutral value.
_NEUTRAL: dict[str, Any] = {
    "n": 1, "seed": None, "logprobs": False, "top_logprobs": None, "logit_bias": {},
    "presence_penalty": 0, "frequency_penalty": 0, "audio": None, "prediction": None,
    "web_search_options": None, "functions": None, "function_call": None,
}
# Fields relayed as they are, per wire family (merged over the body the protocol builds).
_RELAYED: dict[str, tuple[str, ...]] = {
    "responses": ("service_tier", "prompt_cache_key", "safety_identifier",
                  "prompt_cache_retention", "presence_penalty", "frequency_penalty"),
    "anthropic": (),
}


@attrs.frozen
class Translated:
    """What the provider pool needs for one translated turn."""

    call: ModelCall
    extra_body: dict[str, Any]


def _unsupported(param: str, family: str) -> InvalidRequest:
    where = {"anthropic": "Anthropic models", "responses": "this provider's Responses API"}
    return InvalidRequest(
        f"The '{param}' parameter is not supported for {where.get(family, family)} by this "
        "gateway.", param=param, code="unsupported_parameter",
    )


def check_supported(request: ChatRequest, family: str) -> None:
    """400 naming the first parameter ``family`` cannot honour."""
    raw = request.raw
    relayed = _RELAYED.get(family, ())
    for param, neutral in _NEUTRAL.items():
        value = raw.get(param)
        if value is not None and value != neutral and param not in relayed:
            raise _unsupported(param, family)
    modalities = raw.get("modalities")
    if isinstance(modalities, list) and any(m != "text" for m in modalities):
        raise _unsupported("modalities", family)
    if request.stop and family != "anthropic":
        raise _unsupported("stop", family)
    for i, tool in enumerate(request.tools):
        if tool.get("type") != "function":
            raise _unsupported(f"tools[{i}].type", family)


def _text_parts(content: Any, kind: str) -> str | list[JSON]:
    if isinstance(content, str):
        return content
    return [{"type": kind, "text": part["text"]} for part in content]


def _user_part(part: JSON, param: str) -> JSON:
    kind = part["type"]
    if kind == "text":
        return {"type": "input_text", "text": part["text"]}
    if kind == "image_url":
        image = part["image_url"]
        return {"type": "input_image", "image_url": image["url"],
                "detail": image.get("detail") or "auto"}
    if kind == "file":
        file = part["file"]
        converted = {"type": "input_file"}
        for key in ("file_data", "file_id", "filename"):
            if isinstance(file.get(key), str):
                converted[key] = file[key]
        return converted
    raise InvalidRequest(f"Content parts of type '{kind}' are not supported by this provider.",
                         param=f"{param}.type", code="unsupported_parameter")


def _assistant(message: JSON, param: str) -> list[JSON]:
    items: list[JSON] = []
    content = message.get("content")
    parts: list[JSON] = []
    if isinstance(content, str) and content:
        parts.append({"type": "output_text", "text": content})
    elif isinstance(content, list):
        for part in content:
            if part["type"] == "refusal":
                parts.append({"type": "refusal", "refusal": part["refusal"]})
            else:
                parts.append({"type": "output_text", "text": part["text"]})
    if isinstance(message.get("refusal"), str) and message["refusal"]:
        parts.append({"type": "refusal", "refusal": message["refusal"]})
    if parts:
        items.append({"type": "message", "role": "assistant", "content": parts})
    for i, call in enumerate(message.get("tool_calls") or []):
        if call.get("type", "function") != "function":
            raise _unsupported(f"{param}.tool_calls[{i}].type", "this provider")
        function = call["function"]
        items.append({"type": "function_call", "call_id": call["id"],
                      "name": function["name"], "arguments": function["arguments"]})
    return items


def _raw_items(message: JSON, param: str) -> list[JSON]:
    role = message["role"]
    content = message.get("content")
    if role in ("system", "developer"):
        return [{"type": "message", "role": role, "content": _text_parts(content, "input_text")}]
    if role == "user":
        if isinstance(content, str):
            return [{"type": "message", "role": "user", "content": content}]
        parts = [_user_part(p, f"{param}.content[{i}]") for i, p in enumerate(content or [])]
        return [{"type": "message", "role": "user", "content": parts}]
    if role == "assistant":
        if message.get("function_call") is not None:
            raise _unsupported(f"{param}.function_call", "this provider")
        return _assistant(message, param)
    if role == "tool":
        output = content if isinstance(content, str) else "".join(
            p["text"] for p in content or [])
        return [{"type": "function_call_output", "call_id": message["tool_call_id"],
                 "output": output}]
    raise InvalidRequest("The deprecated 'function' role is not supported; use 'tool'.",
                         param=f"{param}.role", code="unsupported_parameter")


def messages_to_items(messages: list[JSON]) -> list[Item]:
    """Validated chat messages → canonical Responses input items (with our ids)."""
    items: list[Item] = []
    for i, message in enumerate(messages):
        param = f"messages[{i}]"
        items += [normalize_item(raw, param) for raw in _raw_items(message, param)]
    return items


def _tools(tools: list[JSON]) -> list[JSON]:
    """Chat function tools in the flat Responses shape (``strict`` defaults to false, as in
    Chat Completions)."""
    flat = []
    for tool in tools:
        function = tool["function"]
        flat.append({
            "type": "function", "name": function["name"],
            "description": function.get("description"),
            "parameters": function.get("parameters") or {"type": "object", "properties": {}},
            "strict": bool(function.get("strict", False)),
        })
    return flat


def _tool_choice(choice: str | JSON | None) -> str | JSON | None:
    if not isinstance(choice, dict):
        return choice
    if choice["type"] == "function":
        return {"type": "function", "name": choice["function"]["name"]}
    if choice["type"] == "allowed_tools":
        allowed = choice["allowed_tools"]
        names = [t.get("function", {}).get("name") for t in allowed.get("tools", [])
                 if isinstance(t, dict)]
        return {"type": "allowed_tools", "mode": allowed.get("mode", "auto"),
                "tools": [{"type": "function", "name": n} for n in names if n]}
    raise InvalidRequest("This tool_choice is not supported by this provider.",
                         param="tool_choice", code="unsupported_parameter")


def text_format(response_format: JSON | None) -> JSON | None:
    """Chat ``response_format`` → Responses ``text.format`` (None for plain text)."""
    if response_format is None or response_format["type"] == "text":
        return None
    if response_format["type"] == "json_object":
        return {"type": "json_object"}
    schema = response_format["json_schema"]
    converted: JSON = {"type": "json_schema", "name": schema["name"],
                       "schema": schema.get("schema") or {"type": "object"}}
    for key in ("description", "strict"):
        if schema.get(key) is not None:
            converted[key] = schema[key]
    return converted


def translate(request: ChatRequest, family: str, provider: str, model: str) -> Translated:
    """The ``ModelCall`` (and extra upstream fields) for ``request``; 400 for what ``family``
    cannot express."""
    check_supported(request, family)
    tools = _tools(request.tools)
    verbosity = request.raw.get("verbosity")
    # ``text`` beside the format the protocol writes (ModelCall.extra, not the extra body).
    in_call = ({"text": {"verbosity": verbosity}}
               if family == "responses" and isinstance(verbosity, str) else {})
    call = ModelCall(
        provider=provider, model=model, input=messages_to_items(request.messages),
        tools=tools, tool_choice=_tool_choice(request.tool_choice) if tools else None,
        parallel_tool_calls=request.parallel_tool_calls if tools else None,
        temperature=request.temperature, top_p=request.top_p,
        max_output_tokens=request.max_tokens, text_format=text_format(request.response_format),
        reasoning={"effort": request.reasoning_effort} if request.reasoning_effort else None,
        user=request.user, stream=request.stream, extra=in_call,
    )
    extra = {k: request.raw[k] for k in _RELAYED.get(family, ()) if request.raw.get(k)}
    if request.stop:
        extra["stop_sequences"] = request.stop
    return Translated(call, extra)
