"""The ``ModelCall`` one model turn of a run sends: the request's settings, the turn's
context, and the toolset's tools with the ``tool_choice`` naming them as the model sees them
(``tools.choice``)."""

from __future__ import annotations

from openresponses.schema.model_call import Item, ModelCall
from openresponses.schema.request import CreateResponse
from openresponses.tools.choice import model_tool_choice
from openresponses.tools.toolset import Toolset


def model_call(
    request: CreateResponse, provider: str, model: str, items: list[Item], toolset: Toolset,
) -> ModelCall:
    tools = toolset.model_tools
    return ModelCall(
        provider=provider, model=model, input=items, instructions=request.instructions,
        tools=tools, tool_choice=model_tool_choice(request.tool_choice, toolset) if tools else None,
        parallel_tool_calls=request.parallel_tool_calls if tools else None,
        temperature=request.temperature, top_p=request.top_p,
        max_output_tokens=request.max_output_tokens,
        text_format=None if request.text_format.get("type") == "text" else request.text_format,
        reasoning=request.reasoning, metadata=request.metadata or None, user=request.user,
        stream=request.stream, extra=request.extra,
    )
