"""Tool settings, read from the environment and the config file by ``config.load_config``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import attrs

from openresponses.tools.mcp_config import McpServer, parse_declared_servers


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


@attrs.frozen(kw_only=True)
class ToolSettings:
    brave_api_key: str | None = attrs.field(default=None, repr=False)
    brave_base_url: str = "https://api.search.brave.com"
    web_search: Literal["brave", "off"] = "brave"  # hosted web_search on non-OpenAI providers
    max_iterations: int = 16  # model turns per response
    strict: bool = False  # a hosted tool we cannot serve: 400 instead of a warning
    allow_private_urls: bool = False  # SSRF guard off (tests, trusted networks)
    timeout: float = 30.0  # seconds per server-side tool call
    concurrency: int = 32  # server-side tool calls running at once, gateway-wide
    # [mcp_servers.NAME] from the config file, parsed (and validated) at start-up
    mcp_servers: Mapping[str, McpServer] = attrs.field(factory=dict, repr=False)


def tool_settings(env: Mapping[str, str], file_data: Mapping[str, Any]) -> ToolSettings:
    """ToolSettings from ``env`` and the config file's ``[tools]`` / ``[mcp_servers.*]``."""
    table = file_data.get("tools", {})
    raw = env.get("OPENRESPONSES_WEB_SEARCH") or table.get("web_search", "brave")
    if raw not in ("brave", "off"):
        raise ValueError("OPENRESPONSES_WEB_SEARCH must be brave or off")
    web_search: Literal["brave", "off"] = "off" if raw == "off" else "brave"
    return ToolSettings(
        brave_api_key=env.get("BRAVE_API_KEY") or None,
        brave_base_url=(env.get("BRAVE_BASE_URL") or "https://api.search.brave.com").rstrip("/"),
        web_search=web_search,
        max_iterations=int(env.get("OPENRESPONSES_MAX_TOOL_ITERATIONS")
                           or table.get("max_iterations", 16)),
        strict=_flag(env.get("OPENRESPONSES_STRICT_TOOLS")) or bool(table.get("strict", False)),
        allow_private_urls=_flag(env.get("OPENRESPONSES_ALLOW_PRIVATE_URLS")),
        timeout=float(env.get("OPENRESPONSES_TOOL_TIMEOUT") or table.get("timeout", 30.0)),
        mcp_servers=parse_declared_servers(file_data.get("mcp_servers", {})),
    )
