"""The ``ModelCall`` one model turn of a run sends: the request's settings, the turn's
context, and the toolset's tools with the ``tool_choice`` naming them as the model sees them
(``tools.choice``)."""

from __future__ import annotations

from typing import Any

from openresponses.schema.model_call import Item, ModelCall
from openresponses.schema.request import CreateResponse
from openresponses.tools.choice import model_tool_choice
from openresponses.tools.toolset import Toolset


def model_call(
    request: CreateResponse, provider: str, model: str, items: list[Item], toolset: Toolset,
    api: str,
) -> ModelCall:
    tools = toolset.model_tools
    penalties = None
    if request.presence_penalty is not None or request.frequency_penalty is not None:
        penalties = {name: value for name, value in (
            ("presence_penalty", request.presence_penalty),
            ("frequency_penalty", request.frequency_penalty)) if value is not None}
    return ModelCall(
        provider=provider, model=model, input=items, instructions=request.instructions,
        tools=tools, tool_choice=model_tool_choice(request.tool_choice, toolset) if tools else None,
        parallel_tool_calls=request.parallel_tool_calls if tools else None,
        temperature=request.temperature, top_p=request.top_p,
        max_output_tokens=request.max_output_tokens,
        text_format=None if request.text_format.get("type") == "text" else request.text_format,
        reasoning=request.reasoning, metadata=request.metadata or None, user=request.user,
        stream=request.stream, penalties=penalties or None, top_logprobs=request.top_logprobs,
        extra=request.extra if api != "responses" else {**request.extra, **_relayed(request)},
    )


def _relayed(request: CreateResponse) -> dict[str, Any]:
    """The fields a Responses upstream takes as the client sent them (other providers have
    no such settings, or only hints the gateway leaves out: README, "Providers")."""
    fields: dict[str, Any] = {
        "service_tier": request.service_tier, "prompt_cache_key": request.prompt_cache_key,
        "safety_identifier": request.safety_identifier, "top_logprobs": request.top_logprobs,
        "presence_penalty": request.presence_penalty,
        "frequency_penalty": request.frequency_penalty, "max_tool_calls": request.max_tool_calls,
    }
    relayed = {name: value for name, value in fields.items() if value is not None}
    if request.truncation != "disabled":
        relayed["truncation"] = request.truncation
    if request.include:
        relayed["include"] = list(request.include)
    if request.text_verbosity is not None:
        relayed["text"] = {"verbosity": request.text_verbosity}
    return relayed
