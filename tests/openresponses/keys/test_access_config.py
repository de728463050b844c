"""Configuration of auth, limits, retries, several keys per provider and model aliases."""

from __future__ import annotations

from pathlib import Path

import pytest

from openresponses.config import load_config


def test_defaults_match_the_documented_promises() -> None:
    config = load_config(env={}, path=None)
    assert config.auth == "passthrough"
    assert config.admin_key is None
    assert (config.rate_limit_ip_per_minute, config.rate_limit_key_per_day) == (100, 1000)
    assert config.trusted_proxies == ()
    assert config.upstream_retries == 2
    assert config.models == {}


def test_environment_overrides_and_the_admin_key_stays_out_of_repr() -> None:
    config = load_config(env={
        "OPENRESPONSES_AUTH": "keys", "OPENRESPONSES_ADMIN_KEY": "admin-secret-123456",
        "OPENRESPONSES_RATE_LIMIT_IP_PER_MINUTE": "0", "OPENRESPONSES_RATE_LIMIT_KEY_PER_DAY": "7",
        "OPENRESPONSES_UPSTREAM_RETRIES": "0",
    }, path=None)
    assert (config.auth, config.admin_key) == ("keys", "admin-secret-123456")
    assert (config.rate_limit_ip_per_minute, config.rate_limit_key_per_day) == (0, 7)
    assert config.upstream_retries == 0
    assert "admin-secret-123456" not in repr(config)


def test_an_unknown_auth_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="OPENRESPONSES_AUTH"):
        load_config(env={"OPENRESPONSES_AUTH": "open"}, path=None)


def test_the_file_declares_several_keys_and_model_aliases(tmp_path: Path) -> None:
    path = tmp_path / "openresponses.toml"
    path.write_text("""
[providers.groq]
api_keys_env = ["GROQ_A", "GROQ_B", "GROQ_MISSING"]

[models.fast]
targets = ["groq@llama-3.3-70b-versatile", "openai@gpt-4o-mini"]
""")
    config = load_config(env={"GROQ_A": "gsk_a", "GROQ_B": "gsk_b"}, path=path)
    assert config.providers["groq"].api_keys == ("gsk_a", "gsk_b")
    assert "gsk_a" not in repr(config)
    assert config.models == {"fast": ("groq@llama-3.3-70b-versatile", "openai@gpt-4o-mini")}


@pytest.mark.parametrize(
    "table",
    ['[models.fast]\ntargets = "groq@x"', "[models.fast]\ntargets = []",
     '[models.fast]\ntargets = ["groq"]', '[models."a@b"]\ntargets = ["groq@x"]'],
)
def test_bad_aliases_are_refused_readably(tmp_path: Path, table: str) -> None:
    path = tmp_path / "openresponses.toml"
    path.write_text(table)
    with pytest.raises(ValueError, match="targets"):
        load_config(env={}, path=path)
