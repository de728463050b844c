"""Readiness: actors up, store answering, not draining."""

from __future__ import annotations

from pathlib import Path

import httpx2

from openresponses.config import load_config
from openresponses.routes.ops import readiness
from openresponses.server import running_gateway


def no_network(request: httpx2.Request) -> httpx2.Response:
    raise AssertionError("no upstream call expected")


async def test_ready_until_an_actor_stops_or_the_gateway_drains(tmp_path: Path) -> None:
    config = load_config(env={"OPENRESPONSES_STORE": f"sqlite:///{tmp_path}/r.db"}, path=None)
    transport = httpx2.MockTransport(no_network)
    async with running_gateway(config, transports=lambda name: transport) as gateway:
        ready, checks = await readiness(gateway)
        assert ready, checks
        gateway.ops.drain.start(grace=30)
        ready, checks = await readiness(gateway)
        assert not ready
        assert checks["draining"] is True
        await gateway.storage.stop()
        ready, checks = await readiness(gateway)
        assert checks["actors"] == {"missing": ["storage"]}
        assert checks["store"] == "error: ActorStopped"
