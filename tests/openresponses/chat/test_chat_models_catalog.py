"""The ``/v1/models`` catalog against MockTransport providers on the autojump clock: a provider
that never answers costs the deadline once, lists are cached, keys are used as for
completions, and nobody's key goes to a hosted provider nobody configured."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import attrs
import httpx2
import trio
import trio.testing

from actors import ActorRef
from actors.testing import started
from openresponses.auth import Caller
from openresponses.chat.models_catalog import (
    ModelsCatalog,
    fetchable,
    model_object,
    parse_models,
    visible_to,
)
from openresponses.config import Config, ProviderConfig
from openresponses.gateway.provider_pool import ProviderPool
from openresponses.gateway.resilience import RetryPolicy
from openresponses.gateway.run import Gateway
from openresponses.gateway.storage import StorageActor
from openresponses.providers.registry import protocol_for_provider
from openresponses.store.sqlite import SqliteStore

ALICE = Caller(owner="alice-hash", bearer="alice-key")


@attrs.define
class Provider:
    """A MockTransport provider: answers its model list, or never when ``dead``."""

    ids: tuple[str, ...] = ("m1", "m2")
    dead: bool = False
    anthropic: bool = False
    seen: list[httpx2.Request] = attrs.Factory(list)

    async def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.seen.append(request)
        if self.dead:
            await trio.sleep_forever()
        if self.anthropic:
            return httpx2.Response(200, json={"data": [
                {"type": "model", "id": i, "created_at": "2025-02-19T00:00:00Z"}
                for i in self.ids], "has_more": False})
        return httpx2.Response(200, json={"object": "list", "data": [
            {"id": i, "object": "model", "created": 7, "owned_by": "them"} for i in self.ids]})


@asynccontextmanager
async def catalog_of(
    configs: list[ProviderConfig], fakes: dict[str, Provider], **options: Any
) -> AsyncIterator[ModelsCatalog]:
    async with AsyncExitStack() as stack:
        refs: dict[str, ActorRef[Any]] = {}
        for provider in configs:
            refs[provider.name] = await stack.enter_async_context(
                started(pool_factory(provider, fakes[provider.name])))
        storage = await stack.enter_async_context(
            started(lambda: StorageActor(lambda: SqliteStore(":memory:"))))
        config = Config(providers={c.name: c for c in configs},
                        models={"fast": ("live@m1",)})
        yield ModelsCatalog(Gateway(config=config, providers=refs, storage=storage), **options)


def pool_factory(provider: ProviderConfig, fake: Provider) -> Callable[[], ProviderPool]:
    def factory() -> ProviderPool:
        return ProviderPool(provider, protocol_for_provider(provider.name, provider.api),
                            httpx2.MockTransport(fake), retry=RetryPolicy(retries=0))

    return factory


LIVE = ProviderConfig("live", "chat", "http://live.test/v1", models=("configured",))
DEAD = ProviderConfig("dead", "chat", "http://dead.test/v1", models=("ghost",))


async def test_a_dead_provider_costs_the_deadline_once(
    autojump_clock: trio.testing.MockClock,
) -> None:
    fakes = {"live": Provider(), "dead": Provider(dead=True)}
    async with catalog_of([LIVE, DEAD], fakes, timeout=3.0, failure_ttl=30.0) as catalog:
        start = trio.current_time()
        models = await catalog.models(ALICE)
        assert trio.current_time() - start == 3.0
        assert [m["id"] for m in models] == [
            "live@configured", "dead@ghost", "fast", "live@m1", "live@m2"]
        assert models[3] == {"id": "live@m1", "object": "model", "created": 7,
                             "owned_by": "them"}
        start = trio.current_time()
        await catalog.models(ALICE)
        assert trio.current_time() - start < 0.1  # the failure is remembered for a while
        assert len(fakes["live"].seen) == len(fakes["dead"].seen) == 1


async def test_lists_are_cached_until_the_ttl(autojump_clock: trio.testing.MockClock) -> None:
    fakes = {"live": Provider()}
    async with catalog_of([LIVE], fakes, ttl=300.0) as catalog:
        await catalog.models(ALICE)
        await catalog.models(ALICE)
        assert len(fakes["live"].seen) == 1
        await trio.sleep(301)
        fakes["live"].ids = ("m3",)
        assert "live@m3" in [m["id"] for m in await catalog.models(ALICE)]


async def test_the_callers_key_is_used_and_cached_per_caller() -> None:
    fakes = {"live": Provider()}
    async with catalog_of([LIVE], fakes) as catalog:
        await catalog.models(ALICE)
        await catalog.models(Caller(owner="bob-hash", bearer="bob-key"))
    keys = [r.headers["authorization"] for r in fakes["live"].seen]
    assert keys == ["Bearer alice-key", "Bearer bob-key"]


async def test_a_server_key_is_preferred_and_shared() -> None:
    keyed = ProviderConfig("live", "chat", "http://live.test/v1", api_keys=("server-key",))
    fakes = {"live": Provider()}
    async with catalog_of([keyed], fakes) as catalog:
        await catalog.models(ALICE)
        await catalog.models(Caller(owner="bob-hash", bearer="bob-key"))
    assert [r.headers["authorization"] for r in fakes["live"].seen] == ["Bearer server-key"]


async def test_anthropic_list_is_read() -> None:
    claude = ProviderConfig("anthropic", "anthropic", "http://claude.test")
    fakes = {"anthropic": Provider(ids=("claude-x",), anthropic=True)}
    async with catalog_of([claude], fakes) as catalog:
        (model,) = [m for m in await catalog.models(ALICE) if "@" in m["id"]]
    request = fakes["anthropic"].seen[0]
    assert (request.url.path, request.headers["x-api-key"]) == ("/v1/models", "alice-key")
    assert model == {"id": "anthropic@claude-x", "object": "model", "created": 1739923200,
                     "owned_by": "anthropic"}


def test_only_configured_providers_are_asked() -> None:
    assert not fetchable(ProviderConfig("groq", "chat", "https://api.groq.com/openai/v1"))
    assert fetchable(ProviderConfig("groq", "chat", "https://api.groq.com/openai/v1",
                                    api_keys=("k",)))
    assert fetchable(ProviderConfig("groq", "chat", "http://127.0.0.1:9/v1"))
    assert fetchable(ProviderConfig("ollama", "chat", "http://127.0.0.1:11434/v1"))
    assert fetchable(ProviderConfig("mine", "chat", "https://example.test/v1"))


def test_malformed_entries_are_skipped() -> None:
    body = {"data": [{"id": "ok"}, {"id": ""}, {"name": "x"}, "junk", {"id": "t", "created":
                                                                      True}]}
    assert parse_models("p", body) == [
        {"id": "p@ok", "object": "model", "created": 0, "owned_by": "p"},
        {"id": "p@t", "object": "model", "created": 0, "owned_by": "p"}]


def test_a_key_limited_to_some_models_sees_only_those() -> None:
    config = Config(providers={
        "groq": ProviderConfig("groq", "chat", "http://groq.test/v1"),
        "anthropic": ProviderConfig("anthropic", "anthropic", "http://claude.test")})
    models = [model_object(i, 0, "x") for i in ("groq@a", "groq@b", "anthropic@c")]
    limited = Caller(owner="o", bearer="", allowed=("groq@a", "anthropic"))
    assert [m["id"] for m in visible_to(config, limited, models)] == ["groq@a", "anthropic@c"]
    assert visible_to(config, ALICE, models) == models
