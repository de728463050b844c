"""Operations routes: ``GET /health`` (alive), ``GET /ready`` (serving), ``GET /metrics``.

``/ready`` answers 200 only when every actor the gateway needs is running, the store answers a
read within ``READY_TIMEOUT`` seconds and the gateway is not draining; otherwise 503 with the
failing checks, so a load balancer stops sending traffic. None of these routes needs a key.

With ``serve --workers N`` the two differ in scope. ``/metrics`` describes the whole gateway:
every worker writes its values into the run's multiprocess directory and a scrape merges them
(``observability/metrics.py``); while it serves, each worker also writes its actor statistics
there every ``PUBLISH_INTERVAL`` seconds, so a scrape another worker takes sees them.
``/ready`` stays per process: it checks the worker that took the connection (its actors, its
store round trip, its drain) and names it in ``pid``, so a failing probe says which worker
failed. (Workers share one accept queue, so a probe reaches any of them.)
"""

from __future__ import annotations

import os
from typing import Any

import trio
from quart import Blueprint, Response, current_app

from openresponses.gateway.run import Gateway
from openresponses.gateway.storage import GetResponse
from openresponses.observability.metrics import Metrics
from openresponses.render import json_response

READY_TIMEOUT = 2.0
_PROBE = GetResponse(owner="openresponses-readiness-probe", response_id="resp_readiness_probe")


def _expected_actors(gateway: Gateway) -> set[str]:
    names = {gateway.storage.name, *(ref.name for ref in gateway.providers.values())}
    if gateway.tools is not None:
        names.add(gateway.tools.name)
    return names


async def _store_check(gateway: Gateway) -> str:
    """``ok`` if the storage actor answered a read (a real store round trip) in time."""
    with trio.move_on_after(READY_TIMEOUT):
        try:
            await gateway.storage.ask(_PROBE)
        except Exception as exc:
            return f"error: {type(exc).__name__}"
        return "ok"
    return "timeout"


async def readiness(gateway: Gateway) -> tuple[bool, dict[str, Any]]:
    """Whether the gateway should get traffic, and why."""
    running = {stats.name for stats in gateway.ops.actors()}
    missing = sorted(_expected_actors(gateway) - running)
    checks: dict[str, Any] = {
        "actors": "ok" if not missing else {"missing": missing},
        "store": await _store_check(gateway),
        "draining": gateway.ops.drain.draining,
    }
    ready = not missing and checks["store"] == "ok" and not gateway.ops.drain.draining
    return ready, checks


def ops_blueprint(gateway: Gateway) -> Blueprint:
    """``/health``, ``/ready`` and ``/metrics`` for a started ``Gateway``."""
    bp = Blueprint("ops", __name__)

    @bp.get("/health")
    async def health() -> Response:
        return json_response({"status": "ok"})

    @bp.get("/ready")
    async def ready() -> Response:
        ok, checks = await readiness(gateway)
        return json_response({"status": "ready" if ok else "unavailable", "checks": checks,
                              "pid": os.getpid()}, status=200 if ok else 503)

    @bp.get("/metrics")
    async def metrics() -> Response:
        body, content_type = gateway.ops.metrics.render()
        return Response(body, status=200, content_type=content_type)

    if gateway.ops.metrics.multiprocess:
        _publish_while_serving(bp, gateway.ops.metrics)
    return bp


def _publish_while_serving(bp: Blueprint, metrics: Metrics) -> None:
    """Multiprocess mode: run ``metrics.publish_forever`` from the start of serving to its
    end (cancelled at shutdown, so it never holds the worker's exit up)."""
    scopes: list[trio.CancelScope] = []

    @bp.before_app_serving
    async def start_publishing() -> None:
        scope = trio.CancelScope()
        scopes.append(scope)

        async def publish() -> None:
            with scope:
                await metrics.publish_forever()

        current_app.add_background_task(publish)

    @bp.after_app_serving
    async def stop_publishing() -> None:
        for scope in scopes:
            scope.cancel()
        scopes.clear()
