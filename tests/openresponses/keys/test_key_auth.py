"""Authentication in passthrough and keys modes, and the per-key model check."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
import pytest

from openresponses.auth import Caller, authenticate, authorize_model
from openresponses.config import Config, load_config
from openresponses.errors import AuthenticationFailed, PermissionDenied
from openresponses.keys import KeyDirectory, KeyLimits, KeyRecord, hash_key, new_key


class Keys:
    def __init__(self, *records: KeyRecord) -> None:
        self.by_hash = {r.hash: r for r in records}

    async def __call__(self, key_hash: str) -> KeyRecord | None:
        return self.by_hash.get(key_hash)


def config(**env: str) -> Config:
    base: Mapping[str, str] = {"OPENRESPONSES_STORE": "sqlite:///:memory:"}
    return load_config(env={**base, **env}, path=None)


async def test_passthrough_accepts_any_bearer_and_keeps_it_forwardable() -> None:
    caller = await authenticate(config(), KeyDirectory(Keys()), "sk-provider-key")
    assert caller.owner == hash_key("sk-provider-key")
    assert caller.bearer == "sk-provider-key"
    assert caller.key_id is None


async def test_missing_bearer_is_401_in_both_modes() -> None:
    for mode in ("passthrough", "keys"):
        with pytest.raises(AuthenticationFailed) as caught:
            await authenticate(config(OPENRESPONSES_AUTH=mode), KeyDirectory(Keys()), None)
        assert caught.value.code == "missing_api_key"


async def test_keys_mode_resolves_a_gateway_key_and_forwards_nothing() -> None:
    key, record = new_key(name="ci", created_at=0, allowed=("groq@*",),
                          limits=KeyLimits(requests_per_day=7))
    caller = await authenticate(config(OPENRESPONSES_AUTH="keys"), KeyDirectory(Keys(record)),
                                key)
    assert caller == Caller(owner=record.hash, bearer="", key_id=record.id, key_name="ci",
                            allowed=("groq@*",), limits=KeyLimits(requests_per_day=7))


@pytest.mark.parametrize(
    ("change", "code"),
    [({}, "invalid_api_key"), ({"revoked": True}, "revoked_api_key"),
     ({"expires_at": 1}, "expired_api_key")],
)
async def test_keys_mode_refuses_unknown_revoked_and_expired_keys(
    change: dict[str, Any], code: str
) -> None:
    key, record = new_key(name="ci", created_at=0)
    known = Keys(attrs.evolve(record, **change)) if change else Keys()
    with pytest.raises(AuthenticationFailed) as caught:
        await authenticate(config(OPENRESPONSES_AUTH="keys"), KeyDirectory(known), key)
    assert caught.value.code == code
    assert key not in caught.value.message


def test_a_key_without_globs_may_use_any_model() -> None:
    authorize_model(config(), Caller(owner="o", bearer=""), "openai@gpt-4o")


@pytest.mark.parametrize(
    ("allowed", "model", "ok"),
    [
        (("groq@*",), "groq@llama", True),
        (("groq@*",), "openai@gpt-4o", False),
        (("anthropic",), "claude@claude-sonnet-4-5", True),  # a provider glob, alias resolved
        (("claude@*",), "anthropic@claude-sonnet-4-5", True),  # one provider, two names
        (("anthropic@claude-*",), "claude@claude-sonnet-4-5", True),
        (("claude@claude-*",), "anthropic@opus", False),
        (("claude@*",), "groq@llama", False),
        (("fast",), "fast", True),  # an alias by name
        (("groq@*", "openai@*"), "fast", True),  # every target allowed
        (("groq@*",), "fast", False),  # one target is not
    ],
)
def test_models_outside_the_globs_are_403(
    allowed: tuple[str, ...], model: str, ok: bool
) -> None:
    cfg = attrs.evolve(config(), models={"fast": ("groq@llama", "openai@gpt-4o")})
    caller = Caller(owner="o", bearer="", allowed=allowed)
    if ok:
        authorize_model(cfg, caller, model)
        return
    with pytest.raises(PermissionDenied) as caught:
        authorize_model(cfg, caller, model)
    assert caught.value.status == 403
    assert caught.value.type == "permission_error"
    assert caught.value.param == "model"
