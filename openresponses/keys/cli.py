"""``openresponses keys create|list|update|revoke``: manage gateway keys in the configured store.

Works on the store directly (SQLite's WAL lets it run beside a serving gateway, which sees a
change within its key cache's few seconds). ``create`` prints the key once; only its hash is
stored. ``update`` changes what its options name and leaves the rest as it is.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

from openresponses.config import Config
from openresponses.keys._record import KeyChange, KeyLimits, KeyRecord, new_key
from openresponses.store.base import Store, open_store

_LIMIT_OPTIONS = ("requests_per_minute", "requests_per_day", "tokens_per_minute")


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
    _add_update_command(actions)
    revoke = actions.add_parser("revoke", help="revoke a key by its id (key_…)")
    revoke.add_argument("key_id")


def _add_update_command(actions: Any) -> None:
    update = actions.add_parser(
        "update", help="change a key's name, allowed models or limits (the rest stays)")
    update.add_argument("key_id")
    update.add_argument("--name", default=None, help="a new name")
    models = update.add_mutually_exclusive_group()
    models.add_argument("--allow", action="append", default=None, metavar="GLOB",
                        help="the models it may use from now on (replaces the list); repeat")
    models.add_argument("--allow-all", action="store_true", help="let it use every model")
    for option in _LIMIT_OPTIONS:
        update.add_argument(f"--{option.replace('_', '-')}", type=_limit_or_default,
                            default=argparse.SUPPRESS, metavar="N|default",
                            help="a new limit; 0 = unlimited, 'default' = the gateway's")
    update.add_argument("--json", action="store_true", help="print the record as JSON")


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def _limit_or_default(text: str) -> int | None:
    return None if text == "default" else _count(text)


def run_key_command(args: argparse.Namespace, config: Config, out: TextIO | None = None) -> int:
    """Run ``keys <action>``, printing to ``out`` (stdout); the exit status (1: unknown id,
    2: an update that changes nothing)."""
    out = out or sys.stdout
    store = open_store(config.store_url)
    try:
        if args.action == "create":
            return _create(args, store.save_key, out)
        if args.action == "list":
            _list(store.list_keys(), args.json, out)
            return 0
        if args.action == "update":
            return _update(args, store, out)
        record = store.revoke_key(args.key_id)
        if record is None:
            return _unknown(args.key_id)
        print(f"revoked {record.id} ({record.name})", file=out)
        return 0
    finally:
        store.close()


def _unknown(key_id: str) -> int:
    print(f"openresponses: no key with id {key_id}", file=sys.stderr)
    return 1


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


def _update(args: argparse.Namespace, store: Store, out: TextIO) -> int:
    name = args.name.strip() if args.name is not None else None
    if name == "":
        print("openresponses: --name must not be empty", file=sys.stderr)
        return 2
    allowed = () if args.allow_all else tuple(args.allow) if args.allow is not None else None
    given = vars(args)
    change = KeyChange(name=name, allowed=allowed,
                       limits={option: given[option] for option in _LIMIT_OPTIONS
                               if option in given})
    if change.is_empty():
        print("openresponses: nothing to update (give --name, --allow, --allow-all or a limit)",
              file=sys.stderr)
        return 2
    record = store.update_key(args.key_id, change)
    if record is None:
        return _unknown(args.key_id)
    if args.json:
        print(json.dumps(record.public()), file=out)
    else:
        print(f"updated {record.id} ({record.name}): {_rights(record)}", file=out)
    return 0


def _rights(record: KeyRecord) -> str:
    limits = ", ".join(f"{name}={value}" for name, value in record.limits.to_dict().items()
                       if value is not None)
    return f"models {','.join(record.allowed) or '*'}; limits {limits or 'defaults'}"


def _list(records: list[KeyRecord], as_json: bool, out: TextIO) -> None:
    if as_json:
        print(json.dumps([r.public() for r in records]), file=out)
        return
    now = time.time()
    for r in records:
        state = r.refusal(now) or "active"
        allowed = ",".join(r.allowed) or "*"
        print(f"{r.id}  {r.prefix}…  {state:8}  {allowed}  {r.name}", file=out)
