"""Gateway keys: generation, hashing, records, globs, and the look-up cache."""

from __future__ import annotations

import hashlib
from typing import Any

import attrs
import pytest
import trio
import trio.testing

import openresponses.keys
from openresponses.keys import (
    KeyChange,
    KeyDirectory,
    KeyLimits,
    KeyRecord,
    generate_key,
    hash_key,
    model_allowed,
    new_key,
)


def test_keys_are_random_prefixed_and_long() -> None:
    keys = {generate_key() for _ in range(100)}
    assert len(keys) == 100
    for key in keys:
        assert key.startswith("or-")
        assert len(key) == 46


def test_hash_is_the_sha256_of_the_key() -> None:
    assert hash_key("or-abc") == hashlib.sha256(b"or-abc").hexdigest()


def test_a_new_record_holds_the_hash_never_the_key() -> None:
    key, record = new_key(name="ci", created_at=100, allowed=("groq@*",))
    assert record.hash == hash_key(key)
    assert key not in repr(record)
    assert record.hash not in repr(record)
    assert record.prefix == key[:8]
    assert record.id.startswith("key_")
    public = record.public()
    assert key not in str(public)
    assert record.hash not in str(public)
    assert public["allowed"] == ["groq@*"]
    assert public["limits"] == {"requests_per_minute": None, "requests_per_day": None,
                                "tokens_per_minute": None}


def record(**changes: Any) -> KeyRecord:
    base = KeyRecord(id="key_1", hash="h", name="n", prefix="or-x", created_at=0)
    return attrs.evolve(base, **changes)


def test_refusal_says_revoked_or_expired() -> None:
    assert record().refusal(now=1e9) is None
    assert record(revoked=True).refusal(now=0) == "revoked"
    assert record(expires_at=50).refusal(now=49.9) is None
    assert record(expires_at=50).refusal(now=50) == "expired"


@pytest.mark.parametrize(
    ("allowed", "model", "provider", "expected"),
    [
        ((), "openai@gpt-4o", "openai", True),
        (("groq@*",), "groq@llama-3.3", "groq", True),
        (("groq@*",), "openai@gpt-4o", "openai", False),
        (("openai@gpt-4o*",), "openai@gpt-4o-mini", "openai", True),
        (("openai@gpt-4o*",), "openai@o3", "openai", False),
        (("anthropic",), "claude@claude-sonnet-4-5", "anthropic", True),
        (("anthropic",), "groq@x", "groq", False),
        (("fast",), "fast", None, True),
        (("groq@*",), "fast", None, False),
    ],
)
def test_globs_match_the_model_or_its_provider(
    allowed: tuple[str, ...], model: str, provider: str | None, expected: bool
) -> None:
    assert model_allowed(allowed, model, provider) is expected
    assert record(allowed=allowed).allows(model, provider) is expected


def test_limits_round_trip_and_reject_bad_values() -> None:
    limits = KeyLimits(requests_per_minute=5, requests_per_day=0, tokens_per_minute=None)
    assert KeyLimits.from_dict(limits.to_dict()) == limits
    with pytest.raises(ValueError, match="requests_per_day"):
        KeyLimits.from_dict({"requests_per_day": -1})
    with pytest.raises(ValueError, match="tokens_per_minute"):
        KeyLimits.from_dict({"tokens_per_minute": True})


def test_a_change_sets_only_the_limits_it_names_and_keeps_the_rest() -> None:
    _, record = new_key(name="ci", created_at=7, allowed=("groq@*",),
                        limits=KeyLimits(requests_per_minute=5, requests_per_day=9))
    changed = KeyChange(limits={"requests_per_day": None, "tokens_per_minute": 0}).apply(record)
    assert changed.limits == KeyLimits(requests_per_minute=5, tokens_per_minute=0)
    assert (changed.name, changed.allowed, changed.hash) == ("ci", ("groq@*",), record.hash)
    assert KeyChange(name="cd", allowed=()).apply(record).allowed == ()
    assert KeyChange().is_empty()
    assert not KeyChange(allowed=()).is_empty()


@pytest.mark.parametrize("limits", [{"requests_per_hour": 1}, {"requests_per_day": -1},
                                    {"tokens_per_minute": 1.5}])
def test_a_change_refuses_unknown_or_bad_limits(limits: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=next(iter(limits))):
        KeyChange(limits=limits)


def test_package_exports_what_it_says() -> None:
    exported = set(openresponses.keys.__all__)
    assert exported == {"KEY_PREFIX", "KeyChange", "KeyDirectory", "KeyLimits", "KeyRecord",
                        "generate_key", "hash_key", "key_rights", "model_allowed", "new_key"}
    assert all(hasattr(openresponses.keys, name) for name in exported)


class CountingLookup:
    def __init__(self) -> None:
        self.calls = 0
        self.records: dict[str, KeyRecord] = {}

    async def __call__(self, key_hash: str) -> KeyRecord | None:
        self.calls += 1
        await trio.lowlevel.checkpoint()
        return self.records.get(key_hash)


async def test_directory_caches_hits_and_misses_for_the_ttl(
    autojump_clock: trio.testing.MockClock,
) -> None:
    lookup = CountingLookup()
    directory = KeyDirectory(lookup, ttl=5.0)
    assert await directory.find("h") is None
    assert await directory.find("h") is None
    assert lookup.calls == 1  # a miss is cached too (floods of bad keys stay cheap)
    lookup.records["h"] = record(hash="h")
    await trio.sleep(5.1)
    assert await directory.find("h") == record(hash="h")
    assert lookup.calls == 2


async def test_forget_makes_the_next_find_read_again() -> None:
    lookup = CountingLookup()
    directory = KeyDirectory(lookup, ttl=60.0)
    await directory.find("h")
    lookup.records["h"] = record(hash="h", revoked=True)
    directory.forget("h")
    found = await directory.find("h")
    assert found is not None
    assert found.revoked


async def test_directory_stays_bounded() -> None:
    lookup = CountingLookup()
    directory = KeyDirectory(lookup, ttl=60.0, max_entries=3)
    for n in range(10):
        await directory.find(f"h{n}")
    assert len(directory._cache) <= 3
