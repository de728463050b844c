"""One frozen configuration object, built from the environment and an optional TOML file.

Everything the gateway reads from the outside world is read here, at the edge; the rest of the
code receives a ``Config`` and never looks at ``os.environ``.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import attrs

WireApi = Literal["chat", "responses", "anthropic"]


@attrs.frozen
class ProviderSpec:
    """A row of the built-in provider table."""

    api: WireApi
    base_url: str | None  # None: the base URL must be configured
    key_env: str | None  # None: a local server that needs no key


# name -> (wire protocol, default base URL, key env var).  README mirrors this table.
PROVIDER_TABLE: Mapping[str, ProviderSpec] = {
    "openai": ProviderSpec("responses", "https://api.openai.com/v1", "OPENAI_API_KEY"),
    "anthropic": ProviderSpec("anthropic", "https://api.anthropic.com", "ANTHROPIC_API_KEY"),
    "groq": ProviderSpec("chat", "https://api.groq.com/openai/v1", "GROQ_API_KEY"),
    "gemini": ProviderSpec(
        "chat", "https://generativelanguage.googleapis.com/v1beta/openai", "GEMINI_API_KEY"
    ),
    "mistral": ProviderSpec("chat", "https://api.mistral.ai/v1", "MISTRAL_API_KEY"),
    "deepseek": ProviderSpec("chat", "https://api.deepseek.com/v1", "DEEPSEEK_API_KEY"),
    "together": ProviderSpec("chat", "https://api.together.xyz/v1", "TOGETHER_API_KEY"),
    "xai": ProviderSpec("chat", "https://api.x.ai/v1", "XAI_API_KEY"),
    "openrouter": ProviderSpec("chat", "https://openrouter.ai/api/v1", "OPENROUTER_API_KEY"),
    "fireworks": ProviderSpec(
        "chat", "https://api.fireworks.ai/inference/v1", "FIREWORKS_API_KEY"
    ),
    "cerebras": ProviderSpec("chat", "https://api.cerebras.ai/v1", "CEREBRAS_API_KEY"),
    "ollama": ProviderSpec("chat", "http://127.0.0.1:11434/v1", None),
    "vllm": ProviderSpec("chat", None, None),
    "lmstudio": ProviderSpec("chat", None, None),
}

# Prefixes that name the same provider.
PROVIDER_ALIASES: Mapping[str, str] = {"claude": "anthropic"}


@attrs.frozen
class ProviderConfig:
    """A provider the gateway can call: where, how, and with which server-side keys."""

    name: str
    api: WireApi
    base_url: str
    api_keys: tuple[str, ...] = ()
    max_connections: int = 256
    connect_timeout: float = 10.0
    read_timeout: float = 600.0

    def __repr__(self) -> str:  # never print keys
        return f"ProviderConfig(name={self.name!r}, api={self.api!r}, base_url={self.base_url!r})"


@attrs.frozen
class Config:
    host: str = "0.0.0.0"
    port: int = 6644
    store_url: str = "sqlite:///./data/openresponses.db"
    providers: Mapping[str, ProviderConfig] = attrs.field(factory=dict)
    aliases: Mapping[str, str] = attrs.field(factory=lambda: dict(PROVIDER_ALIASES))
    max_body_bytes: int = 32 * 1024 * 1024
    provider_mailbox: int = 1024
    storage_mailbox: int = 4096
    shutdown_grace: float = 30.0

    def provider(self, prefix: str) -> ProviderConfig | None:
        """The provider a model prefix names (aliases resolved), or None."""
        return self.providers.get(self.aliases.get(prefix, prefix))


def _env_int(env: Mapping[str, str], name: str, default: int) -> int:
    value = env.get(name)
    return int(value) if value else default


def _env_float(env: Mapping[str, str], name: str, default: float) -> float:
    value = env.get(name)
    return float(value) if value else default


def _split_keys(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    return tuple(k.strip() for k in value.split(",") if k.strip())


def _builtin_providers(env: Mapping[str, str]) -> dict[str, ProviderConfig]:
    providers: dict[str, ProviderConfig] = {}
    for name, spec in PROVIDER_TABLE.items():
        upper = name.upper()
        base_url = env.get(f"{upper}_BASE_URL") or spec.base_url
        if base_url is None:
            continue  # local servers without a default address are off until configured
        keys = _split_keys(env.get(spec.key_env or f"{upper}_API_KEY"))
        providers[name] = ProviderConfig(name, spec.api, base_url.rstrip("/"), keys)
    return providers


def _file_provider(name: str, table: Mapping[str, Any], env: Mapping[str, str]) -> ProviderConfig:
    base = PROVIDER_TABLE.get(name)
    api = table.get("api") or (base.api if base else "chat")
    if api not in ("chat", "responses", "anthropic"):
        raise ValueError(f"providers.{name}.api must be chat, responses or anthropic")
    base_url = table.get("base_url") or env.get(f"{name.upper()}_BASE_URL")
    base_url = base_url or (base.base_url if base else None)
    if not base_url:
        raise ValueError(f"providers.{name} needs a base_url")
    keys: list[str] = list(_split_keys(env.get(str(table.get("api_key_env", "")))))
    keys += [env[k] for k in table.get("api_key_envs", []) if env.get(k)]
    if not keys and base and base.key_env:
        keys = list(_split_keys(env.get(base.key_env)))
    return ProviderConfig(
        name,
        api,
        str(base_url).rstrip("/"),
        tuple(keys),
        max_connections=int(table.get("max_connections", 256)),
        connect_timeout=float(table.get("connect_timeout", 10.0)),
        read_timeout=float(table.get("read_timeout", 600.0)),
    )


def load_config(
    env: Mapping[str, str] | None = None, path: str | os.PathLike[str] | None = None
) -> Config:
    """Build the Config from ``env`` (default ``os.environ``) and an optional TOML file.

    The file is ``path``, else ``$OPENRESPONSES_CONFIG``, else ``./openresponses.toml`` if present.
    Raises ``ValueError`` with a readable message for a bad file.
    """
    env = os.environ if env is None else env
    file_path = path or env.get("OPENRESPONSES_CONFIG")
    if file_path is None and Path("openresponses.toml").exists():
        file_path = "openresponses.toml"
    data: dict[str, Any] = {}
    if file_path is not None:
        with open(file_path, "rb") as f:
            data = tomllib.load(f)
    server = data.get("server", {})
    providers = _builtin_providers(env)
    for name, table in data.get("providers", {}).items():
        providers[name] = _file_provider(name, table, env)
    return Config(
        host=env.get("OPENRESPONSES_HOST") or server.get("host", "0.0.0.0"),
        port=_env_int(env, "OPENRESPONSES_PORT", int(server.get("port", 6644))),
        store_url=env.get("OPENRESPONSES_STORE")
        or server.get("store", "sqlite:///./data/openresponses.db"),
        providers=providers,
        max_body_bytes=_env_int(env, "OPENRESPONSES_MAX_BODY_BYTES", 32 * 1024 * 1024),
        provider_mailbox=_env_int(env, "OPENRESPONSES_PROVIDER_MAILBOX", 1024),
        shutdown_grace=_env_float(env, "OPENRESPONSES_SHUTDOWN_GRACE", 30.0),
    )
