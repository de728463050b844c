"""``/v1/models``: every configured provider's own model list, as ``provider@model`` ids.

Each provider's list comes from its models endpoint (``GET {base}/models``, Anthropic's
``/v1/models``), asked through its ``ProviderPool`` (same client, keys and limits as completions)
and cached (``ttl``; a failure for ``failure_ttl``). The lists are fetched concurrently under
one deadline (``timeout``): a provider that has not answered by then is left out, so a dead one
never blocks the list. Models named in the config file (``[providers.NAME] models = [...]``) and
model aliases are always listed.

Where the server has no key for a provider, the caller's bearer is used, as for completions, but
only for a provider the operator set up (a base URL of its own, or a local keyless server): the
caller's key is never sent to a hosted provider nobody configured.
"""

from __future__ import annotations

import datetime
import logging
from typing import Any

import attrs
import trio

from actors import ActorError, MailboxFull
from openresponses.auth import Caller, authorize_model
from openresponses.config import PROVIDER_TABLE, Config, ProviderConfig
from openresponses.errors import GatewayError, PermissionDenied
from openresponses.gateway.pool_messages import RawRequest
from openresponses.gateway.run import Gateway

JSON = dict[str, Any]
logger = logging.getLogger("openresponses.models")
_PATHS = {"chat": "/models", "responses": "/models", "anthropic": "/v1/models?limit=1000"}


def model_object(model_id: str, created: int, owned_by: str) -> JSON:
    return {"id": model_id, "object": "model", "created": created, "owned_by": owned_by}


def _created(entry: JSON) -> int:
    created = entry.get("created")
    if isinstance(created, int) and not isinstance(created, bool):
        return created
    stamp = entry.get("created_at")  # Anthropic: an ISO 8601 date-time
    if isinstance(stamp, str):
        try:
            return int(datetime.datetime.fromisoformat(stamp).timestamp())
        except ValueError:
            pass
    return 0


def parse_models(provider: str, body: JSON) -> list[JSON]:
    """A provider's model list (OpenAI or Anthropic shape) as our model objects."""
    found = []
    for entry in body.get("data") or []:
        if isinstance(entry, dict) and isinstance(entry.get("id"), str) and entry["id"]:
            owner = entry.get("owned_by")
            found.append(model_object(f"{provider}@{entry['id']}", _created(entry),
                                      owner if isinstance(owner, str) else provider))
    return found


def fetchable(provider: ProviderConfig) -> bool:
    """Whether to ask ``provider`` for its list (see the module docstring)."""
    spec = PROVIDER_TABLE.get(provider.name)
    return (bool(provider.api_keys) or spec is None or spec.key_env is None
            or provider.base_url != (spec.base_url or "").rstrip("/"))


def visible_to(config: Config, caller: Caller, models: list[JSON]) -> list[JSON]:
    """The models the caller's gateway key may use (all of them for a key without limits)."""
    if not caller.allowed:
        return models
    kept = []
    for model in models:
        try:
            authorize_model(config, caller, model["id"])
        except PermissionDenied:
            continue
        kept.append(model)
    return kept


@attrs.frozen
class _Cached:
    expires: float
    models: list[JSON]


class ModelsCatalog:
    """The merged, cached model list of a started ``Gateway``."""

    def __init__(
        self, gateway: Gateway, *, timeout: float = 3.0, ttl: float = 300.0,
        failure_ttl: float = 30.0,
    ) -> None:
        self.gateway = gateway
        self.timeout = timeout
        self.ttl = ttl
        self.failure_ttl = failure_ttl
        self._cache: dict[tuple[str, str], _Cached] = {}

    def _configured(self, names: list[str]) -> list[JSON]:
        config = self.gateway.config
        models = [model_object(f"{n}@{m}", 0, n) for n in names
                  for m in config.providers[n].models]
        models += [model_object(alias, 0, "openresponses") for alias in config.models]
        return models

    async def models(self, caller: Caller, only: str | None = None) -> list[JSON]:
        """Every model (or only provider ``only``'s), configured ones first, ids unique.

        Returns within ``timeout`` whatever the providers do. Cancellation: the fetches in
        flight are cancelled (and their upstream requests closed).
        """
        names = [n for n in self.gateway.providers if only is None or n == only]
        fetched: dict[str, list[JSON]] = {}
        asked = [n for n in names if fetchable(self.gateway.config.providers[n])]
        with trio.move_on_after(self.timeout):
            async with trio.open_nursery() as nursery:
                for name in asked:
                    nursery.start_soon(self._provider, name, caller, fetched)
        for name in asked:
            if name not in fetched:  # timed out: remembered as a failure
                self._remember(self._key(name, caller), [], failed=True)
        seen: set[str] = set()
        merged = []
        for model in self._configured(names) + [m for n in names for m in fetched.get(n, [])]:
            if model["id"] not in seen:
                seen.add(model["id"])
                merged.append(model)
        return merged

    def _key(self, name: str, caller: Caller) -> tuple[str, str]:
        """Lists fetched with the caller's own key are cached per caller."""
        shared = bool(self.gateway.config.providers[name].api_keys)
        return name, "" if shared else caller.owner

    def _remember(self, key: tuple[str, str], models: list[JSON], *, failed: bool) -> None:
        ttl = self.failure_ttl if failed else self.ttl
        self._cache[key] = _Cached(trio.current_time() + ttl, models)

    async def _provider(self, name: str, caller: Caller, out: dict[str, list[JSON]]) -> None:
        key = self._key(name, caller)
        cached = self._cache.get(key)
        if cached is not None and cached.expires > trio.current_time():
            out[name] = cached.models
            return
        try:
            models = await self._fetch(name, caller)
        except (GatewayError, MailboxFull, ActorError) as exc:
            logger.info("model list of provider %s unavailable: %s", name, type(exc).__name__)
            self._remember(key, [], failed=True)
            out[name] = []
            return
        self._remember(key, models, failed=False)
        out[name] = models

    async def _fetch(self, name: str, caller: Caller) -> list[JSON]:
        provider = self.gateway.config.providers[name]
        message = RawRequest(method="GET", path=_PATHS[provider.api], client_key=caller.bearer)
        async with self.gateway.providers[name].stream(message, nowait=True) as answer:
            async for body in answer:
                if isinstance(body, dict):
                    return parse_models(name, body)
        return []
