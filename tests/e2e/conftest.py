"""End-to-end fixtures: a fake provider server and a real gateway (hypercorn, port 0)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from functools import partial
from pathlib import Path

import openai
import pytest
import trio

from openresponses.config import load_config
from openresponses.server import serve
from tests.fakes.faulty import FaultyUpstream
from tests.fakes.upstream import FakeUpstream

CLIENT_KEY = "test-client-key-0001"


@pytest.fixture
async def upstream() -> AsyncIterator[FakeUpstream]:
    fake = FakeUpstream()
    async with trio.open_nursery() as nursery:
        await nursery.start(fake.serve)
        yield fake
        nursery.cancel_scope.cancel()


@pytest.fixture
def gateway_extra_env() -> dict[str, str]:
    """Extra environment for the gateway; a test module overrides this fixture to change it."""
    return {}


@pytest.fixture
async def faulty() -> AsyncIterator[FaultyUpstream]:
    """A misbehaving upstream on 127.0.0.1 (tests/fakes/faulty.py)."""
    fake = FaultyUpstream()
    async with trio.open_nursery() as nursery:
        await nursery.start(fake.serve)
        yield fake
        nursery.cancel_scope.cancel()


def gateway_env(upstream: FakeUpstream, tmp_path: Path) -> dict[str, str]:
    return {
        "OPENAI_BASE_URL": f"{upstream.url}/v1",
        "GROQ_BASE_URL": f"{upstream.url}/openai/v1",
        "ANTHROPIC_BASE_URL": upstream.url,
        "OPENRESPONSES_STORE": f"sqlite:///{tmp_path}/gateway.db",
        "OPENRESPONSES_SHUTDOWN_GRACE": "2",
        "OPENRESPONSES_UPSTREAM_RETRIES": "0",  # queued errors reach the client as they are
        "BRAVE_BASE_URL": upstream.url,
        "OPENRESPONSES_ALLOW_PRIVATE_URLS": "true",
    }


@pytest.fixture
async def gateway_url(
    upstream: FakeUpstream, tmp_path: Path, gateway_extra_env: dict[str, str]
) -> AsyncIterator[str]:
    """Base URL (``…/v1``) of a gateway whose providers all point at ``upstream``; shut down
    gracefully (actors stopped, storage flushed, connections closed) after the test."""
    env = {**gateway_env(upstream, tmp_path), **gateway_extra_env}
    config = load_config(env=env, path=None)
    shutdown = trio.Event()
    async with trio.open_nursery() as nursery:
        binds = await nursery.start(
            partial(serve, config, host="127.0.0.1", port=0, shutdown=shutdown)
        )
        yield f"{binds[0]}/v1"
        shutdown.set()


@pytest.fixture
def client(gateway_url: str) -> Iterator[openai.OpenAI]:
    """The official SDK, pointed at the gateway (use it via trio.to_thread.run_sync)."""
    with openai.OpenAI(base_url=gateway_url, api_key=CLIENT_KEY, max_retries=0) as sdk:
        yield sdk
