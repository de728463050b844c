"""A gateway (and its fake upstream) running in a thread of its own for the whole module, so
hypothesis' synchronous examples can hit it over loopback without a trio run per example."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import attrs
import httpx2
import pytest
import trio

from openresponses.config import load_config
from openresponses.server import serve
from tests.fakes.keys import GROQ_PROVIDER_KEY
from tests.fakes.upstream import FakeUpstream

MAX_BODY = 8192
FUZZ_ADMIN_KEY = "fuzz-admin-key-5be02f"  # enables /v1/admin/keys, so the fuzzer reaches them


@attrs.frozen
class Running:
    url: str
    token: trio.lowlevel.TrioToken
    shutdown: trio.Event


async def _run(tmp: Path, started: queue.Queue[Running | BaseException]) -> None:
    fake = FakeUpstream()
    async with trio.open_nursery() as nursery:
        await nursery.start(fake.serve)
        config = load_config(env={
            "OPENAI_BASE_URL": f"{fake.url}/v1", "GROQ_BASE_URL": f"{fake.url}/openai/v1",
            "ANTHROPIC_BASE_URL": fake.url, "GROQ_API_KEY": GROQ_PROVIDER_KEY,
            "OPENRESPONSES_STORE": f"sqlite:///{tmp}/fuzz.db",
            "OPENRESPONSES_MAX_BODY_BYTES": str(MAX_BODY),
            "OPENRESPONSES_SHUTDOWN_GRACE": "1", "OPENRESPONSES_UPSTREAM_RETRIES": "0",
            "BRAVE_BASE_URL": fake.url, "OPENRESPONSES_RATE_LIMIT_IP_PER_MINUTE": "0",
            "OPENRESPONSES_RATE_LIMIT_KEY_PER_DAY": "0", "OPENRESPONSES_ADMIN_KEY": FUZZ_ADMIN_KEY,
        }, path=None)
        shutdown = trio.Event()
        async with trio.open_nursery() as gateway:
            binds = await gateway.start(partial(serve, config, host="127.0.0.1", port=0,
                                                shutdown=shutdown))
            started.put(Running(binds[0], trio.lowlevel.current_trio_token(), shutdown))
        nursery.cancel_scope.cancel()


@pytest.fixture(scope="module")
def gateway_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Root URL of a gateway with a body limit of ``MAX_BODY`` bytes."""
    started: queue.Queue[Running | BaseException] = queue.Queue()
    tmp = tmp_path_factory.mktemp("fuzz")

    def target() -> None:
        try:
            trio.run(_run, tmp, started)
        except BaseException as exc:
            started.put(exc)

    thread = threading.Thread(target=target, name="fuzz-gateway", daemon=True)
    thread.start()
    running = started.get(timeout=30)
    if isinstance(running, BaseException):
        raise running
    try:
        yield running.url
    finally:
        trio.from_thread.run_sync(running.shutdown.set, trio_token=running.token)
        thread.join(timeout=15)
        assert not thread.is_alive(), "the fuzz gateway did not shut down"
        assert started.empty(), started.get()


@pytest.fixture(scope="module")
def http(gateway_root: str) -> Iterator[httpx2.Client]:
    """One keep-alive client for every example (a client per example costs ~50 ms)."""
    with httpx2.Client(base_url=gateway_root, timeout=10) as client:
        yield client
