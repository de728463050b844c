"""``/v1/models`` routes: the merged model list of every provider, and one model by id; a
gateway key limited to some models sees only those."""

from __future__ import annotations

from quart import Blueprint, Response

from openresponses.auth import caller_from_headers
from openresponses.chat.models_catalog import ModelsCatalog, visible_to
from openresponses.errors import NotFound
from openresponses.gateway.run import Gateway
from openresponses.render import json_response


def models_blueprint(gateway: Gateway) -> Blueprint:
    """``/v1/models`` routes bound to a started ``Gateway`` (one cache per app)."""
    bp = Blueprint("models", __name__)
    config = gateway.config
    catalog = ModelsCatalog(gateway, timeout=config.models_timeout, ttl=config.models_cache_ttl)

    @bp.get("/v1/models")
    async def list_models() -> Response:
        caller = caller_from_headers()
        models = visible_to(config, caller, await catalog.models(caller))
        return json_response({"object": "list", "data": models})

    @bp.get("/v1/models/<path:model_id>")
    async def get_model(model_id: str) -> Response:
        caller = caller_from_headers()
        prefix, sep, name = model_id.partition("@")
        wanted, only = model_id, ""  # no "@": a model alias, no provider to ask
        if sep:
            provider = config.provider(prefix)  # "claude@…" names the anthropic provider
            if provider is None or provider.name not in gateway.providers:
                raise _not_found(model_id)
            wanted, only = f"{provider.name}@{name}", provider.name
        for model in visible_to(config, caller, await catalog.models(caller, only=only)):
            if model["id"] == wanted:
                return json_response(model)
        raise _not_found(model_id)

    return bp


def _not_found(model_id: str) -> NotFound:
    return NotFound(f"The model '{model_id}' does not exist.", param="model",
                    code="model_not_found")
