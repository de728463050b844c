"""Command line: ``openresponses serve [--host H] [--port P] [--config FILE] [--workers N]``,
``openresponses keys create|list|update|revoke``, ``openresponses migrate [--config FILE]``."""

from __future__ import annotations

import argparse
import gc
import logging
import os
import resource
import sys
from collections.abc import Sequence
from functools import partial

import trio

from openresponses.config import Config, load_config
from openresponses.keys.cli import add_key_commands, run_key_command
from openresponses.observability.logs import config_secrets, configure_logging
from openresponses.observability.tracing import tracing_from_env
from openresponses.server import serve
from openresponses.workers import run_worker, serve_workers


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="openresponses", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("serve", help="run the gateway")
    run.add_argument("--host", default=None, help="bind address (default 0.0.0.0)")
    run.add_argument("--port", type=int, default=None, help="port (default 6644)")
    run.add_argument("--config", default=None, help="TOML config file (openresponses.toml)")
    run.add_argument("--workers", type=_positive, default=None,
                     help="processes sharing the port (default 1; OPENRESPONSES_WORKERS)")
    # A worker started by `serve --workers N` (openresponses.workers): the inherited socket
    # and the pipe that closes when the parent exits.
    run.add_argument("--listen-fd", type=int, default=None, help=argparse.SUPPRESS)
    run.add_argument("--parent-fd", type=int, default=None, help=argparse.SUPPRESS)
    add_key_commands(commands)
    migrate = commands.add_parser("migrate", help="apply the store's schema migrations")
    migrate.add_argument("--config", default=None, help="TOML config file (openresponses.toml)")
    return parser


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return number


def _tune_gc() -> None:
    """Freeze start-up objects and collect less often: with thousands of streams open, the
    default thresholds ran long gen-2 collections that stalled the event loop for up to a
    second and freed almost nothing (bench/results/2026-11-25-findings.md)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 1000)


def _raise_open_files() -> None:
    """Raise the open-file soft limit to the hard limit: every stream holds two sockets (the
    client's and the upstream's), and the usual soft limit of 1,024 would cap a gateway at
    ~500 concurrent streams, refusing the rest with EMFILE."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    # An unlimited hard limit: the kernel still refuses more than nr_open (usually 2**20).
    wanted = 1_048_576 if hard == resource.RLIM_INFINITY else hard
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    except (ValueError, OSError):
        return
    logging.getLogger("openresponses").info(
        "open-file limit raised from %d to %d (room for about %d concurrent streams)",
        soft, wanted, (wanted - 200) // 2)


def _serve(config: Config, args: argparse.Namespace) -> int:
    """Serve with JSON logs on stderr (secrets masked) and OTLP traces when configured: one
    process, or the parent of ``--workers N``, or one of its workers."""
    configure_logging(config_secrets(config))
    workers = args.workers or config.workers
    if args.listen_fd is None and workers > 1:
        return serve_workers(config, workers=workers, host=args.host or config.host,
                             port=config.port if args.port is None else args.port,
                             config_path=args.config)
    tracing = tracing_from_env(os.environ)
    tracer = tracing.tracer if tracing else None
    _raise_open_files()
    _tune_gc()
    try:
        if args.listen_fd is not None:
            trio.run(partial(run_worker, config, listen_fd=args.listen_fd,
                             parent_fd=args.parent_fd, tracer=tracer))
        else:
            trio.run(partial(serve, config, host=args.host, port=args.port, tracer=tracer))
    finally:
        if tracing is not None:
            tracing.shutdown()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        config = load_config(path=args.config)
    except (OSError, ValueError) as exc:
        print(f"openresponses: bad configuration: {exc}", file=sys.stderr)
        return 2
    if args.command == "serve":
        return _serve(config, args)
    if args.command == "keys":
        return run_key_command(args, config)
    if args.command == "migrate":
        return _migrate(config.store_url)
    return 0


def _migrate(url: str) -> int:
    """Bring the configured store's schema to this version (opening a store migrates it) and
    print the version; 1 with the reason (never the URL) if that fails."""
    from openresponses.errors import GatewayError
    from openresponses.store import sqlite
    from openresponses.store.base import open_store
    from openresponses.store.postgres import PostgresStore

    scheme = url.partition("://")[0]
    try:
        store = open_store(url)
    except (ValueError, RuntimeError, GatewayError) as exc:
        print(f"openresponses: cannot migrate the {scheme} store: {exc}", file=sys.stderr)
        return 1
    store.close()
    version = store.version if isinstance(store, PostgresStore) else sqlite.SCHEMA_VERSION
    print(f"{scheme} store schema is at version {version}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
