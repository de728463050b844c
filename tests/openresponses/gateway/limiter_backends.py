"""The rate-limiter backends for tests: in memory, or on the test Redis under a key prefix of
the test's own that is deleted afterwards."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import redis
import trio

from openresponses.gateway.rate_limiter import LimiterBackend, MemoryBackend
from openresponses.gateway.rate_limiter_redis import RedisBackend
from tests.services import redis_url

BACKENDS = ["memory", "redis"]


def fresh_prefix() -> str:
    return f"openresponses-test:{uuid.uuid4().hex}:"


def redis_keys(url: str, prefix: str) -> dict[str, int]:
    """The keys under ``prefix`` and their time to live in milliseconds."""
    with redis.Redis.from_url(url) as client:
        return {key.decode(): int(client.pttl(key))
                for key in client.scan_iter(match=f"{prefix}*")}


def delete_keys(url: str, prefix: str) -> None:
    with redis.Redis.from_url(url) as client:
        keys = list(client.scan_iter(match=f"{prefix}*"))
        if keys:
            client.delete(*keys)


@asynccontextmanager
async def running(backend: RedisBackend) -> AsyncIterator[RedisBackend]:
    """``backend`` with its batches being sent (as the actor runs it)."""
    async with trio.open_nursery() as nursery:
        nursery.start_soon(backend.run)
        yield backend
        nursery.cancel_scope.cancel()


@asynccontextmanager
async def redis_backend(prefix: str | None = None, **options: Any
                        ) -> AsyncIterator[RedisBackend]:
    """A running ``RedisBackend`` on the test Redis (skips if unreachable); its keys are
    deleted at exit."""
    url = redis_url()
    prefix = prefix or fresh_prefix()
    try:
        async with running(RedisBackend(url, prefix=prefix, **options)) as backend:
            yield backend
    finally:
        await trio.to_thread.run_sync(delete_keys, url, prefix)


@asynccontextmanager
async def open_backend(kind: str) -> AsyncIterator[LimiterBackend]:
    """A running backend: ``memory`` or ``redis``."""
    if kind == "memory":
        yield MemoryBackend()
        return
    async with redis_backend() as backend:
        yield backend


@asynccontextmanager
async def backend_factory(kind: str) -> AsyncIterator[Callable[[], LimiterBackend]]:
    """A factory of ``kind`` backends for the rate-limiter actor (which runs them); the Redis
    ones share a prefix of their own, deleted at exit."""
    if kind == "memory":
        yield MemoryBackend
        return
    url, prefix = redis_url(), fresh_prefix()
    try:
        yield partial(RedisBackend, url, prefix=prefix)
    finally:
        await trio.to_thread.run_sync(delete_keys, url, prefix)
