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

from actors import ActorRef, Supervisor, open_supervisor
from openresponses.app import create_app
from openresponses.config import Config
from openresponses.gateway.provider_pool import ProviderPool, StreamTurn
from openresponses.gateway.run import Gateway
from openresponses.gateway.storage import StorageActor
from openresponses.providers.registry import protocol_for_provider
from openresponses.store.base import open_store

logger = logging.getLogger("openresponses")

TransportFactory = Callable[[str], httpx2.AsyncBaseTransport | None]


async def _start_providers(
    supervisor: Supervisor, config: Config, transports: TransportFactory | None
) -> dict[str, ActorRef[StreamTurn]]:
    refs: dict[str, ActorRef[StreamTurn]] = {}
    for name, provider in config.providers.items():
        protocol = protocol_for_provider(name, provider.api)
        transport = transports(name) if transports else None

        refs[name] = await supervisor.start(
            partial(ProviderPool, provider, protocol, transport),
            name=f"provider:{name}", mailbox_size=config.provider_mailbox,
        )
    return refs


@asynccontextmanager
async def running_gateway(
    config: Config, *, transports: TransportFactory | None = None
) -> AsyncIterator[Gateway]:
    """Start every actor under one supervisor; stop them (flushing storage) on exit."""
    async with open_supervisor() as supervisor:
        storage = await supervisor.start(
            lambda: StorageActor(lambda: open_store(config.store_url)),
            name="storage", mailbox_size=config.storage_mailbox,
        )
        providers = await _start_providers(supervisor, config, transports)
        try:
            yield Gateway(config=config, providers=providers, storage=storage)
        finally:
            with trio.CancelScope(shield=True):
                await supervisor.stop_all()


def hypercorn_config(config: Config, *, host: str, port: int) -> HypercornConfig:
    hc = HypercornConfig()
    hc.bind = [f"{host}:{port}"]
    hc.graceful_timeout = config.shutdown_grace
    hc.keep_alive_timeout = 75
    hc.accesslog = None
    hc.errorlog = logging.getLogger("hypercorn.error")
    return hc


async def serve(
    config: Config,
    *,
    host: str | None = None,
    port: int | None = None,
    shutdown: trio.Event | None = None,
    transports: TransportFactory | None = None,
    task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Run the gateway until ``shutdown`` is set (or SIGINT/SIGTERM when none is given).

    Reports the bound URLs through ``task_status``. On shutdown, in-flight streams get
    ``config.shutdown_grace`` seconds to finish, then the actors stop and storage is flushed.
    """
    async with running_gateway(config, transports=transports) as gateway:
        app = create_app(gateway)
        hc = hypercorn_config(config, host=host or config.host, port=config.port if port is None
                              else port)
        trigger = shutdown.wait if shutdown is not None else _wait_for_signal
        await hypercorn_serve(app, hc, shutdown_trigger=trigger, task_status=task_status)


async def _wait_for_signal() -> None:
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for signum in signals:
            logger.info("received %s, shutting down gracefully", signal.Signals(signum).name)
            return

