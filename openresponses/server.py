"""Start-up: actors under one supervisor first, then hypercorn (trio worker) serving the app."""

from __future__ import annotations

import logging
import signal
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial

import httpx2
import trio
from hypercorn.config import Config as HypercornConfig
from hypercorn.trio import serve as hypercorn_serve
from opentelemetry.trace import Tracer

from actors import ActorRef, Supervisor, open_supervisor
from openresponses.app import create_app
from openresponses.config import Config
from openresponses.gateway.background import BackgroundRunner
from openresponses.gateway.context_reads import ContextReads
from openresponses.gateway.group_commit import GroupCommit
from openresponses.gateway.pool_messages import PoolMessage
from openresponses.gateway.provider_pool import ProviderPool
from openresponses.gateway.rate_limiter_redis import rate_limiter
from openresponses.gateway.resilience import RetryPolicy
from openresponses.gateway.run import Gateway
from openresponses.gateway.storage import StorageActor
from openresponses.gateway.tool_runner import ToolRunner
from openresponses.observability.observer import Ops
from openresponses.providers.registry import protocol_for_provider
from openresponses.store.base import open_store

logger = logging.getLogger("openresponses")

TransportFactory = Callable[[str], httpx2.AsyncBaseTransport | None]
# Seconds hypercorn waits past the drain deadline, for failed streams to be stored and sent.
_FAIL_MARGIN = 1.0


async def _start_providers(
    supervisor: Supervisor, config: Config, transports: TransportFactory | None, ops: Ops
) -> dict[str, ActorRef[PoolMessage]]:
    refs: dict[str, ActorRef[PoolMessage]] = {}
    for name, provider in config.providers.items():
        protocol = protocol_for_provider(name, provider.api)
        transport = transports(name) if transports else None

        refs[name] = await supervisor.start(
            partial(ProviderPool, provider, protocol, transport,
                    retry=RetryPolicy(retries=config.upstream_retries), metrics=ops.metrics),
            name=f"provider:{name}", mailbox_size=config.provider_mailbox,
        )
    return refs


@asynccontextmanager
async def running_gateway(
    config: Config, *, transports: TransportFactory | None = None, tracer: Tracer | None = None
) -> AsyncIterator[Gateway]:
    """Start every actor under one supervisor; stop them (flushing storage) on exit."""
    async with open_supervisor() as supervisor:
        ops = Ops.for_supervisor(supervisor, tracer)
        commits = GroupCommit(limit=config.storage_mailbox)  # outlive storage instances
        reads = ContextReads()
        storage = await supervisor.start(
            lambda: StorageActor(lambda: open_store(config.store_url), commits=commits,
                                 reads=reads),
            name="storage", mailbox_size=config.storage_mailbox,
        )
        providers = await _start_providers(supervisor, config, transports, ops)
        limiter = await supervisor.start(rate_limiter(config, ops.metrics),
                                         name="rate-limiter", mailbox_size=4096)
        tools = await supervisor.start(
            partial(ToolRunner, config.tools, transports("tools") if transports else None),
            name="tools", mailbox_size=config.provider_mailbox,
        )
        try:
            background = await supervisor.start(  # last: stopped first, while storage runs
                partial(BackgroundRunner, storage), name="background",
                mailbox_size=config.provider_mailbox)
            yield Gateway(config=config, providers=providers, storage=storage, tools=tools,
                          ops=ops, limiter=limiter, background=background, commits=commits,
                          reads=reads)
        finally:
            with trio.CancelScope(shield=True):
                await supervisor.stop_all()


def hypercorn_config(
    config: Config, *, host: str, port: int, fd: int | None = None
) -> HypercornConfig:
    """Hypercorn's settings; ``fd``: serve on that listening socket (inherited from the
    ``--workers`` parent) instead of binding ``host:port``."""
    hc = HypercornConfig()
    hc.bind = [f"{host}:{port}" if fd is None else f"fd://{fd}"]
    hc.graceful_timeout = config.shutdown_grace + _FAIL_MARGIN
    hc.keep_alive_timeout = 75
    hc.backlog = 4096  # bursts of new connections queue in the kernel, not as refusals
    hc.accesslog = None
    hc.errorlog = logging.getLogger("hypercorn.error")
    # A WebSocket message may be as big as an HTTP body (hypercorn's default is 16 MiB).
    hc.websocket_max_message_size = config.max_body_bytes
    return hc


async def serve(
    config: Config,
    *,
    host: str | None = None,
    port: int | None = None,
    shutdown: trio.Event | None = None,
    transports: TransportFactory | None = None,
    tracer: Tracer | None = None,
    fd: int | None = None,
    task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Run the gateway until ``shutdown`` is set (or SIGINT/SIGTERM when none is given).

    Reports the bound URLs through ``task_status``. On shutdown the listeners close, in-flight
    streams get ``config.shutdown_grace`` seconds to finish, then end with ``response.failed``
    (stored as failed); then the actors stop and storage is flushed. ``tracer``: OpenTelemetry
    (``observability.tracing``), None for no tracing. ``fd``: a listening socket to serve on
    (a ``--workers`` child), in place of ``host:port``.
    """
    async with running_gateway(config, transports=transports, tracer=tracer) as gateway:
        app = create_app(gateway)
        hc = hypercorn_config(config, host=host or config.host, port=config.port if port is None
                              else port, fd=fd)
        wait = shutdown.wait if shutdown is not None else _wait_for_signal

        async def trigger() -> None:
            await wait()
            gateway.ops.drain.start(config.shutdown_grace)

        await hypercorn_serve(app, hc, shutdown_trigger=trigger, task_status=task_status)


async def _wait_for_signal() -> None:
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for signum in signals:
            logger.info("received %s, shutting down gracefully", signal.Signals(signum).name)
            return

