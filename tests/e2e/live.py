"""Helpers for e2e tests that run a gateway of their own: start/stop, raw SSE, metrics."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any

import attrs
import httpx2
import trio
from prometheus_client.parser import text_string_to_metric_families

from openresponses.config import Config, load_config
from openresponses.server import TransportFactory, serve
from tests.e2e.conftest import CLIENT_KEY
from tests.e2e.sse_client import parse_sse
from tests.fakes.keys import FAULTY_PROVIDER_KEY

AUTH = {"authorization": f"Bearer {CLIENT_KEY}"}


@asynccontextmanager
async def live_gateway(
    config: Config, *, transports: TransportFactory | None = None
) -> AsyncIterator[str]:
    """A gateway on 127.0.0.1 (free port); yields its root URL; graceful shutdown at exit."""
    shutdown = trio.Event()
    async with trio.open_nursery() as nursery:
        binds = await nursery.start(partial(serve, config, host="127.0.0.1", port=0,
                                            shutdown=shutdown, transports=transports))
        try:
            yield binds[0]
        finally:
            shutdown.set()


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def faulty_config(
    tmp_path: Path, faulty_url: str, *, read_timeout: float = 5.0, max_connections: int = 8,
    env: dict[str, str] | None = None,
) -> Config:
    """Providers ``faulty`` (the misbehaving fake) and ``down`` (nothing listening)."""
    path = tmp_path / "gateway.toml"
    path.write_text(f"""
[providers.faulty]
api = "chat"
base_url = "{faulty_url}/v1"
api_key_env = "FAULTY_KEY"
read_timeout = {read_timeout}
max_connections = {max_connections}

[providers.down]
api = "chat"
base_url = "http://127.0.0.1:{closed_port()}/v1"
api_key_env = "FAULTY_KEY"
connect_timeout = 2
""")
    base = {
        "OPENRESPONSES_STORE": f"sqlite:///{tmp_path}/gateway.db",
        "FAULTY_KEY": FAULTY_PROVIDER_KEY,
        "OPENRESPONSES_UPSTREAM_RETRIES": "0",
        "OPENRESPONSES_SHUTDOWN_GRACE": "1",
    }
    return load_config(env={**base, **(env or {})}, path=path)


@attrs.frozen
class Outcome:
    """What a client saw: the status, the SSE events (200) or the JSON error body."""

    status: int
    events: list[dict[str, Any]]
    body: dict[str, Any] | None
    headers: httpx2.Headers

    @property
    def response_id(self) -> str:
        return str(self.events[0]["response"]["id"])

    @property
    def error(self) -> dict[str, Any]:
        """The error envelope's ``error`` object (a non-200 answer)."""
        assert self.body is not None, f"expected an error body, got {self.types}"
        error: dict[str, Any] = self.body["error"]
        return error

    @property
    def types(self) -> list[str]:
        return [event["type"] for event in self.events]


async def post_stream(http: httpx2.AsyncClient, root: str, body: dict[str, Any],
                      headers: dict[str, str] | None = None) -> Outcome:
    """POST a streaming ``/v1/responses`` request and read it to the end."""
    response = await http.post(f"{root}/v1/responses", json={**body, "stream": True},
                               headers=headers or AUTH)
    if response.status_code != 200:
        return Outcome(response.status_code, [], response.json(), response.headers)
    return Outcome(200, parse_sse(response.content), None, response.headers)


async def stored(http: httpx2.AsyncClient, root: str, response_id: str) -> dict[str, Any]:
    """The stored response (asserts it exists)."""
    response = await http.get(f"{root}/v1/responses/{response_id}", headers=AUTH)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def scrape(http: httpx2.AsyncClient, root: str) -> dict[tuple[str, str], float]:
    """``/metrics`` as {(sample name, sorted labels as JSON): value}."""
    response = await http.get(f"{root}/metrics")
    assert response.status_code == 200
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, json.dumps(sample.labels, sort_keys=True))] = sample.value
    return samples


def value(samples: dict[tuple[str, str], float], name: str, **labels: str) -> float:
    """One sample's value, 0.0 if absent."""
    return samples.get((name, json.dumps(labels, sort_keys=True)), 0.0)


async def assert_quiet(http: httpx2.AsyncClient, root: str, provider: str) -> None:
    """No model call and no actor message is left in flight for ``provider``."""
    with trio.fail_after(3):
        while True:
            samples = await scrape(http, root)
            active = value(samples, "openresponses_active_streams", provider=provider)
            busy = value(samples, "openresponses_actor_in_flight", actor=f"provider:{provider}")
            if active == 0 and busy == 0:
                return
            await trio.sleep(0.02)


async def until(condition: Callable[[], bool]) -> None:
    """Poll ``condition`` every 10 ms until it holds (wrap in ``trio.fail_after``)."""
    while True:
        if condition():
            return
        await trio.sleep(0.01)
