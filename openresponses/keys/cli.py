"""``openresponses keys create|list|revoke``: manage gateway keys in the configured store.

Works on the store directly (SQLite's WAL lets it run beside a serving gateway, which sees a
change within its key cache's few seconds). ``create`` prints the key once; only its hash is
stored.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

from openresponses.config import Config
from openresponses.keys._record import KeyLimits, KeyRecord, new_key
from openresponses.store.base import open_store


def add_key_commands(commands: Any) -> None:
    """Add ``keys`` and its subcommands to the CLI's subparsers."""
    keys = commands.add_parser("keys", help="manage gateway keys (OPENRESPONSES_AUTH=keys)")
    keys.add_argument("--config", default=None, help="TOML config file (openresponses.toml)")
    actions = keys.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="create a key and print it (shown once)")
    create.add_argument("--name", required=True, help="who or what the key is for")
    create.add_argument("--allow", action="append", default=[], metavar="GLOB",
                        help="a model it may use: 'groq@*', 'openai@gpt-4o*', a provider "
                             "('anthropic') or an alias; repeat; none = every model")
    create.add_argument("--requests-per-minute", type=_count, default=None)
    create.add_argument("--requests-per-day", type=_count, default=None,
                        help="default: OPENRESPONSES_RATE_LIMIT_KEY_PER_DAY; 0 = unlimited")
    create.add_argument("--tokens-per-minute", type=_count, default=None)
    create.add_argument("--expires-in-days", type=float, default=None)
    create.add_argument("--json", action="store_true", help="print the record as JSON")
    listing = actions.add_parser("list", help="list keys (never the keys themselves)")
    listing.add_argument("--json", action="store_true", help="print JSON")
    revoke = actions.add_parser("revoke", help="revoke a key by its id (key_…)")
    revoke.add_argument("key_id")


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def run_key_command(args: argparse.Namespace, config: Config, out: TextIO | None = None) -> int:
    """Run ``keys <action>``, printing to ``out`` (stdout); the exit status (1: unknown id)."""
    out = out or sys.stdout
    store = open_store(config.store_url)
    try:
        if args.action == "create":
            return _create(args, store.save_key, out)
        if args.action == "list":
            _list(store.list_keys(), args.json, out)
            return 0
        record = store.revoke_key(args.key_id)
        if record is None:
            print(f"openresponses: no key with id {args.key_id}", file=sys.stderr)
            return 1
        print(f"revoked {record.id} ({record.name})", file=out)
        return 0
    finally:
        store.close()


def _create(args: argparse.Namespace, save: Callable[[KeyRecord], None], out: TextIO) -> int:
    now = int(time.time())
    expires_at = None
    if args.expires_in_days is not None:
        expires_at = now + int(args.expires_in_days * 86_400)
    limits = KeyLimits(requests_per_minute=args.requests_per_minute,
                       requests_per_day=args.requests_per_day,
                       tokens_per_minute=args.tokens_per_minute)
    key, record = new_key(name=args.name, created_at=now, allowed=tuple(args.allow),
                          limits=limits, expires_at=expires_at)
    save(record)
    if args.json:
        print(json.dumps({**record.public(), "key": key}), file=out)
    else:
        print(f"created {record.id} ({record.name}); copy the key now, it is not shown again:",
              file=out)
        print(key, file=out)
    return 0


def _list(records: list[KeyRecord], as_json: bool, out: TextIO) -> None:
    if as_json:
        print(json.dumps([r.public() for r in records]), file=out)
        return
    now = time.time()
    for r in records:
        state = r.refusal(now) or "active"
        allowed = ",".join(r.allowed) or "*"
        print(f"{r.id}  {r.prefix}…  {state:8}  {allowed}  {r.name}", file=out)
