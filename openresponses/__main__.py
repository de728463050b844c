"""Command line: ``openresponses serve [--host H] [--port P] [--config FILE]``."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from functools import partial

import trio

from openresponses.config import load_config
from openresponses.server import serve


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="openresponses", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("serve", help="run the gateway")
    run.add_argument("--host", default=None, help="bind address (default 0.0.0.0)")
    run.add_argument("--port", type=int, default=None, help="port (default 6644)")
    run.add_argument("--config", default=None, help="TOML config file (openresponses.toml)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        config = load_config(path=args.config)
    except (OSError, ValueError) as exc:
        print(f"openresponses: bad configuration: {exc}", file=sys.stderr)
        return 2
    if args.command == "serve":
        trio.run(partial(serve, config, host=args.host, port=args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
