"""Gateway keys: generation, hashing, and the stored record (never the key itself).

A key is ``or-`` followed by 43 url-safe characters (256 random bits). It is shown once, when
created; the gateway keeps only its SHA-256 (a high-entropy secret needs no slow hash), which is
also the owner id of everything the key stores, exactly as in passthrough mode.
"""

from __future__ import annotations

import fnmatch
import hashlib
import secrets
from typing import Any

import attrs

KEY_PREFIX = "or-"
_SHOWN_CHARS = 8  # "or-" and 5 key characters: enough to tell keys apart in a list


def generate_key() -> str:
    """A fresh random gateway key (``or-…``)."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    """The hex SHA-256 of a bearer token: how keys are stored and how owners are named."""
    return hashlib.sha256(key.encode()).hexdigest()


@attrs.frozen(kw_only=True)
class KeyLimits:
    """Per-key limits. ``None``: the gateway default (per day) or none (per minute); 0: off."""

    requests_per_minute: int | None = None
    requests_per_day: int | None = None
    tokens_per_minute: int | None = None

    def to_dict(self) -> dict[str, int | None]:
        return attrs.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> KeyLimits:
        return cls(**{f: _limit(data.get(f), f) for f in _LIMIT_FIELDS})


_LIMIT_FIELDS = tuple(f.name for f in attrs.fields(KeyLimits))


def _limit(value: object, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer or null")
    return value


def model_allowed(allowed: tuple[str, ...], model: str, provider: str | None = None) -> bool:
    """Whether a glob of ``allowed`` matches ``model`` (as requested: ``provider@model`` or an
    alias) or, for a glob without ``@``, the name of the ``provider`` it resolves to.
    No globs: every model is allowed."""
    if not allowed:
        return True
    for pattern in allowed:
        if fnmatch.fnmatchcase(model, pattern):
            return True
        if provider is not None and "@" not in pattern and fnmatch.fnmatchcase(provider, pattern):
            return True
    return False


@attrs.frozen(kw_only=True)
class KeyRecord:
    """A gateway key as stored: its hash and its rights, never the key."""

    id: str  # "key_…": names the key in lists, logs and revocations
    hash: str = attrs.field(repr=False)
    name: str
    prefix: str  # the key's first characters, to recognise it in a list
    created_at: int
    allowed: tuple[str, ...] = ()  # globs over "provider@model", provider or alias; () = all
    limits: KeyLimits = KeyLimits()
    expires_at: int | None = None
    revoked: bool = False

    def refusal(self, now: float) -> str | None:
        """Why the key may not be used at ``now`` (revoked / expired), or None."""
        if self.revoked:
            return "revoked"
        if self.expires_at is not None and now >= self.expires_at:
            return "expired"
        return None

    def allows(self, model: str, provider: str | None = None) -> bool:
        """``model_allowed`` for this key's globs."""
        return model_allowed(self.allowed, model, provider)

    def public(self) -> dict[str, Any]:
        """The JSON shown by the admin API and the CLI (no hash, no key)."""
        return {
            "object": "gateway.key", "id": self.id, "name": self.name, "prefix": self.prefix,
            "created_at": self.created_at, "expires_at": self.expires_at,
            "revoked": self.revoked, "allowed": list(self.allowed),
            "limits": self.limits.to_dict(),
        }


def _check_limit_changes(_: object, __: object, value: dict[str, int | None]) -> None:
    for name, limit in value.items():
        if name not in _LIMIT_FIELDS:
            raise ValueError(f"unknown limit {name!r}")
        _limit(limit, name)


@attrs.frozen(kw_only=True)
class KeyChange:
    """What an update changes in a key record; None / absent: left as it is.

    ``limits`` names only the limits to set (a value of None: back to the default), so two
    admins changing different limits do not undo each other. The key itself, its id, hash,
    creation time and revocation never change here.
    """

    name: str | None = None
    allowed: tuple[str, ...] | None = None  # () = every model
    limits: dict[str, int | None] = attrs.field(factory=dict, validator=_check_limit_changes)

    def is_empty(self) -> bool:
        return self.name is None and self.allowed is None and not self.limits

    def apply(self, record: KeyRecord) -> KeyRecord:
        """``record`` with this change made."""
        limits = KeyLimits(**{**record.limits.to_dict(), **self.limits})
        return attrs.evolve(
            record, name=record.name if self.name is None else self.name,
            allowed=record.allowed if self.allowed is None else self.allowed, limits=limits,
        )


def key_rights(record: KeyRecord) -> dict[str, Any]:
    """The record's allowed globs and limits as the stores keep them (one JSON document)."""
    return {"allowed": list(record.allowed), "limits": record.limits.to_dict()}


def new_key(
    *,
    name: str,
    created_at: int,
    allowed: tuple[str, ...] = (),
    limits: KeyLimits = KeyLimits(),
    expires_at: int | None = None,
) -> tuple[str, KeyRecord]:
    """A fresh key and its record. The key is returned once, to be shown once."""
    key = generate_key()
    record = KeyRecord(
        id=f"key_{secrets.token_hex(12)}", hash=hash_key(key), name=name,
        prefix=key[:_SHOWN_CHARS], created_at=created_at, allowed=allowed, limits=limits,
        expires_at=expires_at,
    )
    return key, record
