"""``POST /v1/chat/completions`` bodies validated into a ``ChatRequest`` (400s name the param).

Validation is shared by both paths: what a passthrough provider receives has the same shape as
what the translation path reads. ``raw`` keeps the body as sent, for passthrough.
"""

from __future__ import annotations

from typing import Any

import attrs

from openresponses.errors import InvalidRequest
from openresponses.schema import validate as v

JSON = dict[str, Any]
ROLES = ("system", "developer", "user", "assistant", "tool", "function")
_USER_PARTS = ("text", "image_url", "input_audio", "file")
_ASSISTANT_PARTS = ("text", "refusal")
_FORMATS = ("text", "json_object", "json_schema")
_EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh", "max")  # OpenAI's enum


@attrs.frozen(kw_only=True)
class ChatRequest:
    model: str
    messages: list[JSON]
    stream: bool = False
    include_usage: bool = False
    store: bool = False
    metadata: dict[str, str] = attrs.field(factory=dict)
    tools: list[JSON] = attrs.field(factory=list)
    tool_choice: str | JSON | None = None
    parallel_tool_calls: bool | None = None
    response_format: JSON | None = None
    n: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None  # max_completion_tokens, else the legacy max_tokens
    stop: list[str] = attrs.field(factory=list)
    reasoning_effort: str | None = None
    user: str | None = None
    raw: JSON = attrs.field(factory=dict)


def _invalid(message: str, param: str, code: str = "invalid_value") -> InvalidRequest:
    return InvalidRequest(message, param=param, code=code)


def _parts(content: list[Any], allowed: tuple[str, ...], param: str) -> None:
    if not content:
        raise _invalid(f"Invalid '{param}': an array of parts must not be empty.", param)
    for i, part in enumerate(content):
        where = f"{param}[{i}]"
        kind = part.get("type") if isinstance(part, dict) else None
        if kind not in allowed:
            raise _invalid(f"Invalid '{where}.type': expected one of {', '.join(allowed)}.",
                           f"{where}.type")
        assert isinstance(part, dict)
        if kind in ("text", "refusal") and not isinstance(part.get(kind), str):
            raise _invalid(f"Missing or invalid '{where}.{kind}': expected a string.",
                           f"{where}.{kind}")
        if kind == "image_url":
            image = part.get("image_url")
            if not isinstance(image, dict) or not isinstance(image.get("url"), str):
                raise _invalid(f"Missing or invalid '{where}.image_url.url'.",
                               f"{where}.image_url.url")
        if kind in ("input_audio", "file") and not isinstance(part.get(kind), dict):
            raise _invalid(f"Missing or invalid '{where}.{kind}': expected an object.",
                           f"{where}.{kind}")


def _content(message: JSON, allowed: tuple[str, ...], param: str, required: bool) -> None:
    content = message.get("content")
    if content is None:
        if required:
            raise _invalid(f"Missing required parameter: '{param}'.", param,
                           "missing_required_parameter")
        return
    if isinstance(content, list):
        _parts(content, allowed, param)
    elif not isinstance(content, str):
        raise _invalid(f"Invalid '{param}': expected a string or an array of parts.", param,
                       "invalid_type")


def _tool_calls(message: JSON, param: str) -> bool:
    calls = v.opt_list(message, "tool_calls", param)
    for i, call in enumerate(calls or []):
        where = f"{param}[{i}]"
        if not isinstance(call, dict) or not isinstance(call.get("id"), str):
            raise _invalid(f"Missing or invalid '{where}.id'.", f"{where}.id")
        kind = call.get("type", "function")
        body = call.get(kind) if kind in ("function", "custom") else None
        if not isinstance(body, dict) or not isinstance(body.get("name"), str):
            raise _invalid(f"Invalid '{where}': expected a function with a name.",
                           f"{where}.{kind}")
        if kind == "function" and not isinstance(body.get("arguments"), str):
            raise _invalid(f"Missing or invalid '{where}.function.arguments': expected a string.",
                           f"{where}.function.arguments")
    return bool(calls) or isinstance(message.get("function_call"), dict)


def _message(message: Any, param: str) -> None:
    if not isinstance(message, dict):
        raise _invalid(f"Invalid '{param}': expected an object.", param, "invalid_type")
    role = message.get("role")
    if role not in ROLES:
        raise _invalid(f"Invalid '{param}.role': expected one of {', '.join(ROLES)}.",
                       f"{param}.role")
    content = f"{param}.content"
    if role == "user":
        _content(message, _USER_PARTS, content, required=True)
    elif role in ("system", "developer"):
        _content(message, ("text",), content, required=True)
    elif role == "tool":
        _content(message, ("text",), content, required=True)
        v.req_str(message, "tool_call_id", f"{param}.tool_call_id")
    elif role == "function":
        v.req_str(message, "name", f"{param}.name")
    else:
        has_calls = _tool_calls(message, f"{param}.tool_calls")
        _content(message, _ASSISTANT_PARTS, content, required=False)
        if message.get("content") is None and not has_calls and not message.get("refusal"):
            raise _invalid(f"Missing required parameter: '{content}' (an assistant message "
                           "needs content or tool_calls).", content, "missing_required_parameter")
    v.opt_str(message, "name", f"{param}.name")


def _messages(data: JSON) -> list[JSON]:
    messages = data.get("messages")
    if messages is None:
        raise _invalid("Missing required parameter: 'messages'.", "messages",
                       "missing_required_parameter")
    if not isinstance(messages, list) or not messages:
        raise _invalid("Invalid 'messages': expected a non-empty array.", "messages")
    for i, message in enumerate(messages):
        _message(message, f"messages[{i}]")
    return messages


def _tools(data: JSON) -> list[JSON]:
    tools = v.opt_list(data, "tools") or []
    for i, tool in enumerate(tools):
        param = f"tools[{i}]"
        kind = tool.get("type") if isinstance(tool, dict) else None
        if kind not in ("function", "custom"):
            raise _invalid(f"Invalid '{param}.type': expected function or custom.",
                           f"{param}.type")
        assert isinstance(tool, dict)
        body = tool.get(kind)
        if not isinstance(body, dict) or not isinstance(body.get("name"), str) or not body["name"]:
            raise _invalid(f"Missing or invalid '{param}.{kind}.name'.", f"{param}.{kind}.name")
        if kind == "function":
            v.opt_dict(body, "parameters", f"{param}.function.parameters")
            v.opt_str(body, "description", f"{param}.function.description")
            v.opt_bool(body, "strict", f"{param}.function.strict")
    return tools


def _tool_choice(data: JSON) -> str | JSON | None:
    choice = data.get("tool_choice")
    if choice is None or choice in ("none", "auto", "required"):
        return choice
    if isinstance(choice, dict):
        kind = choice.get("type")
        named = choice.get(kind) if kind in ("function", "custom") else None
        if isinstance(named, dict) and isinstance(named.get("name"), str):
            return choice
        if kind == "allowed_tools":
            _allowed_tools(choice.get("allowed_tools"))
            return choice
    raise _invalid("Invalid 'tool_choice': expected none, auto, required or a named tool.",
                   "tool_choice")


def _allowed_tools(allowed: Any) -> None:
    """``tool_choice.allowed_tools``: a mode and named tools, as ``tools`` names them."""
    param = "tool_choice.allowed_tools"
    if not isinstance(allowed, dict) or not isinstance(allowed.get("tools"), list):
        raise _invalid(f"Invalid '{param}': expected an object with a 'tools' array.", param)
    if allowed.get("mode", "auto") not in ("auto", "required"):
        raise _invalid(f"Invalid '{param}.mode': expected auto or required.", f"{param}.mode")
    for i, tool in enumerate(allowed["tools"]):
        kind = tool.get("type") if isinstance(tool, dict) else None
        named = tool.get(kind) if isinstance(tool, dict) and kind in ("function", "custom") \
            else None
        if not isinstance(named, dict) or not isinstance(named.get("name"), str):
            raise _invalid(f"Invalid '{param}.tools[{i}]': expected a function or custom tool "
                           "with a name.", f"{param}.tools[{i}]")


def _response_format(data: JSON) -> JSON | None:
    fmt = v.opt_dict(data, "response_format")
    if fmt is None:
        return None
    if fmt.get("type") not in _FORMATS:
        raise _invalid("Invalid 'response_format.type': expected text, json_object or "
                       "json_schema.", "response_format.type")
    if fmt["type"] == "json_schema":
        schema = fmt.get("json_schema")
        if not isinstance(schema, dict):
            raise _invalid("Missing or invalid 'response_format.json_schema'.",
                           "response_format.json_schema")
        v.req_str(schema, "name", "response_format.json_schema.name")
        v.opt_dict(schema, "schema", "response_format.json_schema.schema")
    return fmt


def _stop(data: JSON) -> list[str]:
    stop = data.get("stop")
    if stop is None:
        return []
    stops = [stop] if isinstance(stop, str) else stop
    if not isinstance(stops, list) or not all(isinstance(s, str) for s in stops) or len(
        stops
    ) > 4:
        raise _invalid("Invalid 'stop': expected a string or up to 4 strings.", "stop")
    return stops


def _stream_options(data: JSON, stream: bool) -> bool:
    options = v.opt_dict(data, "stream_options")
    if options is None:
        return False
    if not stream:
        raise _invalid("The 'stream_options' parameter is only allowed when 'stream' is "
                       "enabled.", "stream_options")
    return v.opt_bool(options, "include_usage", "stream_options.include_usage") is True


def _checked_extras(data: JSON) -> None:
    """Fields only passthrough providers read: checked for type and range, kept in ``raw``."""
    v.opt_number(data, "presence_penalty", low=-2, high=2)
    v.opt_number(data, "frequency_penalty", low=-2, high=2)
    v.opt_bool(data, "logprobs")
    v.opt_int(data, "top_logprobs", low=0, high=20)
    if isinstance(data.get("seed"), bool) or not isinstance(data.get("seed"), int | None):
        raise _invalid("Invalid type for 'seed': expected an integer.", "seed", "invalid_type")
    v.opt_dict(data, "logit_bias")


def _effort(data: JSON) -> str | None:
    effort = v.opt_str(data, "reasoning_effort")
    if effort is not None and effort not in _EFFORTS:
        raise _invalid(f"Invalid 'reasoning_effort': expected one of {', '.join(_EFFORTS)}.",
                       "reasoning_effort")
    return effort


def parse_chat_request(data: Any) -> ChatRequest:
    """Validate a decoded JSON body. Raises ``InvalidRequest`` naming the bad ``param``."""
    if not isinstance(data, dict):
        raise InvalidRequest("The request body must be a JSON object.", code="invalid_json")
    stream = v.opt_bool(data, "stream") is True
    _checked_extras(data)
    max_tokens = v.opt_int(data, "max_completion_tokens", low=1, high=10_000_000)
    if max_tokens is None:
        max_tokens = v.opt_int(data, "max_tokens", low=1, high=10_000_000)
    return ChatRequest(
        model=v.req_str(data, "model"),
        messages=_messages(data),
        stream=stream,
        include_usage=_stream_options(data, stream),
        store=v.opt_bool(data, "store") is True,
        metadata=v.metadata(data) or {},
        tools=_tools(data),
        tool_choice=_tool_choice(data),
        parallel_tool_calls=v.opt_bool(data, "parallel_tool_calls"),
        response_format=_response_format(data),
        n=v.opt_int(data, "n", low=1, high=128),
        temperature=v.opt_number(data, "temperature", low=0, high=2),
        top_p=v.opt_number(data, "top_p", low=0, high=1),
        max_tokens=max_tokens,
        stop=_stop(data),
        reasoning_effort=_effort(data),
        user=v.opt_str(data, "user"),
        raw=data,
    )
