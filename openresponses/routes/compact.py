"""``POST /v1/responses/compact`` and ``POST /v1/responses/input_tokens``.

Compaction: the model (required) summarizes the ``previous_response_id`` chain and/or the input
into one ``compaction`` item (``gateway.compaction``). Token counting: exact for Anthropic
(its ``count_tokens`` endpoint), tiktoken for OpenAI models, a documented estimate otherwise
(``gateway.token_count``); the context is what a response would send: the chain or the
conversation, then the input, compaction items expanded.
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response

from openresponses.auth import Caller, authorize_model, caller_from_headers
from openresponses.errors import InvalidRequest
from openresponses.gateway.compaction import compact
from openresponses.gateway.compaction_items import expand_context
from openresponses.gateway.rate_limiter import charge_tokens
from openresponses.gateway.run import Gateway, resolve_targets
from openresponses.gateway.token_count import TokenCounter, anthropic_count
from openresponses.gateway.turns import resolve_history
from openresponses.gateway.upstream_call import model_call
from openresponses.render import json_response
from openresponses.routes.common import json_body
from openresponses.schema import validate as v
from openresponses.schema.items import normalize_input
from openresponses.schema.request import parse_create_response
from openresponses.tools.toolset import adapt_input, build_toolset


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise InvalidRequest("The request body must be a JSON object.", code="invalid_json")
    return body


async def count_tokens(gateway: Gateway, caller: Caller, counter: TokenCounter,
                       data: dict[str, Any]) -> int:
    """Input tokens of the request ``data`` describes (a ``TokenCountsBody``): the tools the
    model would be offered (the gateway's as the functions it offers), and for Anthropic the
    very body a create would send (thinking, tool_choice, the structured-output tool)."""
    model = v.opt_str(data, "model")
    shape = parse_create_response({**data, "model": model or "unknown", "stream": False})
    history = await resolve_history(gateway, caller, shape)
    if model is None:
        items = await expand_context(gateway.storage, history + shape.input, api="chat")
        tools = [t for t in shape.tools if t.get("type") == "function"]
        return await counter.count(None, items, shape.instructions, tools)
    authorize_model(gateway.config, caller, model)
    provider, upstream_model = resolve_targets(gateway, model)[0]
    api = gateway.config.providers[provider].api
    toolset = build_toolset(shape.tools, api=api, settings=gateway.config.tools)
    items = adapt_input(await expand_context(gateway.storage, history + shape.input, api=api),
                        api)
    if api == "anthropic":
        call = model_call(shape, provider, upstream_model, items, toolset, api)
        return await anthropic_count(gateway.providers[provider], call, caller.bearer or None)
    return await counter.count(upstream_model, items, shape.instructions, toolset.model_tools)


def compact_blueprint(gateway: Gateway, counter: TokenCounter | None = None) -> Blueprint:
    """The compaction and token-counting routes bound to a started ``Gateway``."""
    bp = Blueprint("compact", __name__)
    tokens = counter or TokenCounter()

    @bp.post("/v1/responses/compact")
    async def compact_response() -> Response:
        caller = caller_from_headers()
        data = _object(await json_body(gateway.config.max_body_bytes))
        model = v.req_str(data, "model")
        authorize_model(gateway.config, caller, model)
        body = await compact(
            gateway, caller, model=model, items=normalize_input(data.get("input")),
            previous_response_id=v.opt_str(data, "previous_response_id"),
            instructions=v.opt_str(data, "instructions"),
        )
        charge_tokens(gateway.limiter, caller.owner, caller.limits, body["usage"])
        return json_response(body)

    @bp.post("/v1/responses/input_tokens")
    async def input_tokens() -> Response:
        caller = caller_from_headers()
        data = _object(await json_body(gateway.config.max_body_bytes))
        count = await count_tokens(gateway, caller, tokens, data)
        return json_response({"object": "response.input_tokens", "input_tokens": count})

    return bp
