"""Compaction items this gateway issues: their opaque ``encrypted_content``, and their expansion
into messages any provider understands.

``encrypted_content`` is ``orc1.<payload>.<mac>``: the payload is the base64url of a JSON
envelope ``{"v": 1, "summary": str, "items": [...]}`` (the summary of what was compacted, and
items kept verbatim), the mac its HMAC-SHA256 under the gateway's ``compaction`` secret (made
once and shared through the database, see ``store.background``). Clients treat it as opaque;
one altered or made elsewhere with our prefix is refused (400), never expanded.

Expansion, applied to every model context (``expand_context``): everything before the last of
our compaction items is dropped (the compaction stands for it) but system and developer
messages, and each of ours becomes a user message carrying the summary, followed by its kept
items. Compaction items of other origin
(e.g. OpenAI's own) are relayed to Responses upstreams, which can read them, and dropped for
the others, which cannot.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Sequence
from typing import Any

import orjson

from actors import ActorRef
from openresponses.errors import InvalidRequest
from openresponses.gateway.storage_background import GetSecret
from openresponses.schema.ids import new_id
from openresponses.schema.model_call import Item

PREFIX = "orc1."
SECRET_NAME = "compaction"
_VERSION = 1
SUMMARY_HEADER = ("[Context checkpoint] The earlier part of this conversation was compacted. "
                  "Summary of it:\n\n")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: bytes, payload: str) -> str:
    return _b64(hmac.new(secret, payload.encode(), hashlib.sha256).digest())


def seal(secret: bytes, summary: str, items: list[Item] | None = None) -> str:
    """The ``encrypted_content`` for a summary and the items kept verbatim."""
    payload = _b64(orjson.dumps({"v": _VERSION, "summary": summary, "items": items or []}))
    return f"{PREFIX}{payload}.{_mac(secret, payload)}"


def compaction_item(secret: bytes, summary: str, items: list[Item] | None = None) -> Item:
    """A ``compaction`` item (``CompactionBody``) with a fresh ``cmp_`` id."""
    return {"type": "compaction", "id": new_id("cmp"),
            "encrypted_content": seal(secret, summary, items)}


def _invalid(param: str = "input") -> InvalidRequest:
    return InvalidRequest(
        "Invalid compaction item: its encrypted_content was not issued by this gateway or was "
        "altered.", param=param, code="invalid_encrypted_content",
    )


def unseal(secret: bytes, content: str) -> dict[str, Any]:
    """The envelope of one of our compaction items; 400 if it was altered or forged."""
    payload, dot, mac = content.removeprefix(PREFIX).partition(".")
    # compare_digest takes ASCII strings only: any other MAC is simply not ours.
    if not dot or not mac.isascii() or not hmac.compare_digest(mac, _mac(secret, payload)):
        raise _invalid()
    try:
        envelope = orjson.loads(_unb64(payload))
    except (binascii.Error, ValueError):
        raise _invalid() from None
    if not isinstance(envelope, dict) or envelope.get("v") != _VERSION:
        raise _invalid()
    return envelope


def is_ours(item: Item) -> bool:
    content = item.get("encrypted_content")
    return (item.get("type") == "compaction" and isinstance(content, str)
            and content.startswith(PREFIX))


def summary_message(summary: str) -> Item:
    """The message a provider sees in place of a compaction item."""
    return {"type": "message", "id": new_id("msg"), "role": "user", "status": "completed",
            "content": [{"type": "input_text", "text": SUMMARY_HEADER + summary}]}


def is_instruction(item: Item) -> bool:
    """A system or developer message: kept before a compaction, never summarized away."""
    return item.get("type", "message") == "message" and item.get("role") in (
        "system", "developer")


def expand(secret: bytes, items: list[Item], *, api: str) -> list[Item]:
    """``items`` as a provider speaking ``api`` should see them (see the module docstring)."""
    last = max((i for i, item in enumerate(items) if is_ours(item)), default=None)
    if last is not None:  # system and developer messages are instructions: they stay
        items = [*filter(is_instruction, items[:last]), *items[last:]]
    out: list[Item] = []
    for item in items:
        if is_ours(item):
            envelope = unseal(secret, item["encrypted_content"])
            out.append(summary_message(str(envelope.get("summary", ""))))
            out += [i for i in envelope.get("items", []) if isinstance(i, dict)]
        elif item.get("type") == "compaction" and api != "responses":
            continue  # another issuer's compaction: only a Responses upstream can read it
        else:
            out.append(item)
    return out


def has_compaction(items: Sequence[Item]) -> bool:
    return any(item.get("type") == "compaction" for item in items)


async def expand_context(storage: ActorRef[Any], items: list[Item], *, api: str) -> list[Item]:
    """``expand`` with the gateway's secret; no storage call when there is no compaction item.

    Raises ``InvalidRequest`` for an altered or forged compaction item.
    """
    if not has_compaction(items):
        return items
    secret = await storage.ask(GetSecret(SECRET_NAME)) if any(map(is_ours, items)) else b""
    return expand(secret, items, api=api)


async def check_sealed(storage: ActorRef[Any], items: list[Item], field: str) -> None:
    """400 naming ``field[i].encrypted_content`` for a compaction item of ours that was
    altered or forged: items stored for later turns (a conversation's) are checked as they
    come, not when a turn reads them."""
    if not any(map(is_ours, items)):
        return
    secret = await storage.ask(GetSecret(SECRET_NAME))
    for i, item in enumerate(items):
        if is_ours(item):
            try:
                unseal(secret, item["encrypted_content"])
            except InvalidRequest:
                raise _invalid(f"{field}[{i}].encrypted_content") from None
