"""The Response object: its full skeleton (every key of Open Responses' ResponseResource) and
the small pieces of it that several modules build (usage, error)."""

from __future__ import annotations

from typing import Any

from openresponses.errors import GatewayError
from openresponses.schema.model_events import Usage
from openresponses.schema.request import CreateResponse

# Response.error.code must be one of OpenAI's ResponseErrorCode values.
_ERROR_CODES = {
    "rate_limit_exceeded": "rate_limit_exceeded",
    "invalid_request_error": "invalid_prompt",
}


def response_skeleton(
    request: CreateResponse, *, response_id: str, created_at: int, status: str = "in_progress"
) -> dict[str, Any]:
    """A Response with every key present, echoing the request's settings."""
    text: dict[str, Any] = {"format": request.text_format}
    text["verbosity"] = request.text_verbosity or "medium"
    reasoning = request.reasoning or {}
    return {
        "id": response_id,
        "object": "response",
        "created_at": created_at,
        "completed_at": None,
        "status": status,
        "background": request.background,
        "error": None,
        "incomplete_details": None,
        "instructions": request.instructions,
        "max_output_tokens": request.max_output_tokens,
        "max_tool_calls": request.max_tool_calls,
        "model": request.model,
        "output": [],
        "output_text": "",
        "parallel_tool_calls": request.parallel_tool_calls,
        "previous_response_id": request.previous_response_id,
        "prompt_cache_key": request.prompt_cache_key,
        "reasoning": {"effort": reasoning.get("effort"), "summary": reasoning.get("summary")},
        "safety_identifier": request.safety_identifier,
        "service_tier": request.service_tier or "default",
        "store": request.store,
        "temperature": 1.0 if request.temperature is None else request.temperature,
        "text": text,
        "tool_choice": request.tool_choice,
        "tools": public_tools(request.tools),
        "top_logprobs": request.top_logprobs or 0,
        "top_p": 1.0 if request.top_p is None else request.top_p,
        "presence_penalty": request.presence_penalty or 0.0,
        "frequency_penalty": request.frequency_penalty or 0.0,
        "truncation": request.truncation,
        "usage": None,
        "user": request.user,
        "metadata": request.metadata,
    }


def public_tools(tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The request's tools as echoed (and stored): MCP credentials are never kept."""
    return [
        {k: (None if k == "headers" else v) for k, v in t.items() if k != "authorization"}
        if t.get("type") == "mcp" else t
        for t in tools
    ]


def usage_object(usage: Usage) -> dict[str, Any]:
    """Usage in the Responses shape, totals consistent."""
    return {
        "input_tokens": usage.input_tokens,
        "input_tokens_details": {"cached_tokens": usage.cached_tokens,
                                 "cache_write_tokens": usage.cache_write_tokens},
        "output_tokens": usage.output_tokens,
        "output_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
        "total_tokens": usage.input_tokens + usage.output_tokens,
    }


def usage_of(usage: dict[str, Any]) -> Usage:
    """The ``Usage`` a Responses ``usage`` object (``usage_object``'s) stands for."""
    inputs = usage.get("input_tokens_details") or {}
    outputs = usage.get("output_tokens_details") or {}
    return Usage(input_tokens=usage["input_tokens"], output_tokens=usage["output_tokens"],
                 cached_tokens=inputs.get("cached_tokens", 0),
                 cache_write_tokens=inputs.get("cache_write_tokens", 0),
                 reasoning_tokens=outputs.get("reasoning_tokens", 0))


def add_usage(a: Usage | None, b: Usage) -> Usage:
    """Usage summed over the model turns of one response."""
    if a is None:
        return b
    return Usage(
        input_tokens=a.input_tokens + b.input_tokens,
        output_tokens=a.output_tokens + b.output_tokens,
        cached_tokens=a.cached_tokens + b.cached_tokens,
        cache_write_tokens=a.cache_write_tokens + b.cache_write_tokens,
        reasoning_tokens=a.reasoning_tokens + b.reasoning_tokens,
    )


def response_error(error: GatewayError) -> dict[str, Any]:
    """``Response.error`` for a failed response: a ResponseErrorCode and the message."""
    return {"code": _ERROR_CODES.get(error.type, "server_error"), "message": error.message}


def error_event(error: GatewayError, sequence_number: int) -> dict[str, Any]:
    """The stream ``error`` event, in both shapes: OpenAI's flat fields and Open Responses'
    nested ``error`` object."""
    return {
        "type": "error",
        "sequence_number": sequence_number,
        "code": error.code or error.type,
        "message": error.message,
        "param": error.param,
        "error": {
            "type": error.type,
            "code": error.code or error.type,
            "message": error.message,
            "param": error.param,
        },
    }
