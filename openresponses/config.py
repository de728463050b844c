"""One frozen configuration object, built from the environment and an optional TOML file.

Everything the gateway reads from the outside world is read here, at the edge; the rest of the
code receives a ``Config`` and never looks at ``os.environ``.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import attrs

from openresponses.tools.settings import ToolSettings, tool_settings

WireApi = Literal["chat", "responses", "anthropic"]
AuthMode = Literal["passthrough", "keys"]
OnError = Literal["allow", "deny"]  # rate limiting when its backend (Redis) cannot answer
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


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
    models: tuple[str, ...] = ()  # named in the config file: always listed by /v1/models

    def __repr__(self) -> str:  # never print keys
        return f"ProviderConfig(name={self.name!r}, api={self.api!r}, base_url={self.base_url!r})"


@attrs.frozen
class Config:
    host: str = "0.0.0.0"
    port: int = 6644
    # may carry a password: kept out of repr (config_secrets masks it in logs)
    store_url: str = attrs.field(default="sqlite:///./data/openresponses.db", repr=False)
    providers: Mapping[str, ProviderConfig] = attrs.field(factory=dict)
    aliases: Mapping[str, str] = attrs.field(factory=lambda: dict(PROVIDER_ALIASES))
    max_body_bytes: int = 32 * 1024 * 1024
    provider_mailbox: int = 1024
    storage_mailbox: int = 4096
    shutdown_grace: float = 30.0
    websocket_max_seconds: float = 3600.0  # a WebSocket on /v1/responses is closed after
    tools: ToolSettings = attrs.field(factory=ToolSettings)
    # Access: gateway keys, rate limits (0 = off), client addresses behind proxies.
    auth: AuthMode = "passthrough"
    admin_key: str | None = attrs.field(default=None, repr=False)
    rate_limit_ip_per_minute: int = 100
    rate_limit_key_per_day: int = 1000
    # Rate limits shared by processes in Redis (None: in memory, per process).
    redis_url: str | None = attrs.field(default=None, repr=False)  # may carry a password
    redis_key_prefix: str = "openresponses:ratelimit:"
    rate_limit_on_error: OnError = "allow"
    workers: int = 1  # `serve` processes sharing the port (openresponses.workers)
    trusted_proxies: tuple[IPNetwork, ...] = ()
    # Resilience: retries of failures before any output; model aliases with fallbacks.
    upstream_retries: int = 2
    models: Mapping[str, tuple[str, ...]] = attrs.field(factory=dict)
    # /v1/models: how long to wait for the providers' own lists, how long to keep them.
    models_timeout: float = 3.0
    models_cache_ttl: float = 300.0

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
    keys += [env[k] for k in table.get("api_keys_env", []) if env.get(k)]  # round-robin
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
        models=_model_names(name, table.get("models", [])),
    )


def _model_names(provider: str, value: Any) -> tuple[str, ...]:
    """``[providers.NAME] models = ["model", ...]``: upstream names, listed as NAME@model."""
    if not isinstance(value, list) or not all(isinstance(m, str) and m for m in value):
        raise ValueError(f"providers.{provider}.models must be a list of model names")
    return tuple(value)


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
        websocket_max_seconds=_env_float(env, "OPENRESPONSES_WEBSOCKET_MAX_SECONDS", 3600.0),
        tools=tool_settings(env, data),
        auth=_auth_mode(env.get("OPENRESPONSES_AUTH") or server.get("auth", "passthrough")),
        admin_key=env.get("OPENRESPONSES_ADMIN_KEY") or None,
        rate_limit_ip_per_minute=_env_int(env, "OPENRESPONSES_RATE_LIMIT_IP_PER_MINUTE", 100),
        rate_limit_key_per_day=_env_int(env, "OPENRESPONSES_RATE_LIMIT_KEY_PER_DAY", 1000),
        redis_url=_redis_url(env.get("OPENRESPONSES_REDIS_URL") or server.get("redis_url")),
        redis_key_prefix=env.get("OPENRESPONSES_REDIS_PREFIX")
        or server.get("redis_prefix", "openresponses:ratelimit:"),
        rate_limit_on_error=_on_error(env.get("OPENRESPONSES_RATE_LIMIT_ON_ERROR")
                                      or server.get("rate_limit_on_error", "allow")),
        workers=_workers(env.get("OPENRESPONSES_WORKERS") or server.get("workers", 1)),
        trusted_proxies=_networks(env.get("OPENRESPONSES_TRUSTED_PROXIES")),
        upstream_retries=_env_int(env, "OPENRESPONSES_UPSTREAM_RETRIES", 2),
        models=_model_aliases(data.get("models", {})),
        models_timeout=_env_float(env, "OPENRESPONSES_MODELS_TIMEOUT", 3.0),
        models_cache_ttl=_env_float(env, "OPENRESPONSES_MODELS_CACHE_TTL", 300.0),
    )


def _redis_url(value: Any) -> str | None:
    """``OPENRESPONSES_REDIS_URL``: redis://, rediss:// or unix://. The error never repeats
    the value (it may carry a password)."""
    if not value:
        return None
    if not isinstance(value, str) or not value.startswith(("redis://", "rediss://", "unix://")):
        raise ValueError("OPENRESPONSES_REDIS_URL must be a redis://, rediss:// or unix:// URL")
    return value


def _on_error(value: Any) -> OnError:
    if value == "allow":
        return "allow"
    if value == "deny":
        return "deny"
    raise ValueError("OPENRESPONSES_RATE_LIMIT_ON_ERROR must be allow or deny")


def _workers(value: Any) -> int:
    try:
        workers = int(value)
    except (TypeError, ValueError):
        workers = 0
    if workers < 1:
        raise ValueError("OPENRESPONSES_WORKERS must be a whole number of processes, 1 or more")
    return workers


def _auth_mode(value: str) -> AuthMode:
    if value == "passthrough":
        return "passthrough"
    if value == "keys":
        return "keys"
    raise ValueError("OPENRESPONSES_AUTH must be passthrough or keys")


def _networks(value: str | None) -> tuple[IPNetwork, ...]:
    """``OPENRESPONSES_TRUSTED_PROXIES``: comma-separated addresses or CIDR ranges."""
    networks = []
    for part in _split_keys(value):
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ValueError(f"OPENRESPONSES_TRUSTED_PROXIES: {part!r} is not an address or "
                             "CIDR range") from None
    return tuple(networks)


def _model_aliases(tables: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    """``[models.NAME] targets = ["provider@model", ...]``: an alias tried in order."""
    aliases: dict[str, tuple[str, ...]] = {}
    for name, table in tables.items():
        targets = table.get("targets") if isinstance(table, dict) else None
        if "@" in name or not isinstance(targets, list) or not targets or not all(
            isinstance(t, str) and all(t.partition("@")[::2]) for t in targets
        ):
            raise ValueError(f'models.{name} needs targets = ["provider@model", ...] '
                             "(and a name without '@')")
        aliases[name] = tuple(targets)
    return aliases
