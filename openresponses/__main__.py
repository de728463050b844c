"""Command line: ``openresponses serve [--host H] [--port P] [--config FILE]``,
``openresponses keys create|list|revoke``."""

from __future__ import annotations

import argparse
import gc
import logging
import os
import sys
from collections.abc import Sequence
from functools import partial

import trio

from openresponses.config import Config, load_config
from openresponses.keys.cli import add_key_commands, run_key_command
from openresponses.observability.logs import config_secrets, configure_logging
from openresponses.observability.tracing import tracing_from_env
from openresponses.server import serve


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="openresponses", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("serve", help="run the gateway")
    run.add_argument("--host", default=None, help="bind address (default 0.0.0.0)")
    run.add_argument("--port", type=int, default=None, help="port (default 6644)")
    run.add_argument("--config", default=None, help="TOML config file (openresponses.toml)")
    add_key_commands(commands)
    return parser


def _tune_gc() -> None:
    """Freeze start-up objects and collect less often: with thousands of streams open, the
    default thresholds ran long gen-2 collections that stalled the event loop for up to a
    second and freed almost nothing (bench/results/2026-11-25-findings.md)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 1000)


def _serve(config: Config, host: str | None, port: int | None) -> None:
    """Serve with JSON logs on stderr (secrets masked) and OTLP traces when configured."""
    configure_logging(config_secrets(config))
    tracing = tracing_from_env(os.environ)
    _tune_gc()
    try:
        trio.run(partial(serve, config, host=host, port=port,
                         tracer=tracing.tracer if tracing else None))
    finally:
        if tracing is not None:
            tracing.shutdown()


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        config = load_config(path=args.config)
    except (OSError, ValueError) as exc:
        print(f"openresponses: bad configuration: {exc}", file=sys.stderr)
        return 2
    if args.command == "serve":
        _serve(config, args.host, args.port)
    if args.command == "keys":
        return run_key_command(args, config)
    return 0


if __name__ == "__main__":
    sys.exit(main())
