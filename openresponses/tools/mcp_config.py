"""MCP servers as the gateway sees them: from a request's ``mcp`` tool or the config file.

A request tool ``{"type": "mcp", "server_label", "server_url", "headers", "authorization",
"allowed_tools", "require_approval"}`` names a remote server (streamable HTTP, or the legacy SSE
transport for a URL ending in ``/sse``). ``{"type": "mcp", "server_label": "<name>"}`` without
``server_url`` uses the server declared in the config file::

    [mcp_servers.docs]
    url = "https://mcp.example.com/mcp"
    headers = { Authorization = "Bearer ..." }
    require_approval = "never"

    [mcp_servers.files]
    command = ["npx", "-y", "@modelcontextprotocol/server-filesystem", "/srv"]
    env = { DEBUG = "0" }
    allowed_tools = ["read_file"]

Headers and env often carry credentials: they are never shown in a repr, an error or a log.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import attrs

from openresponses.errors import InvalidRequest
from openresponses.tools.ssrf import check_url_now

_LABEL = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


def redact_url(url: str | None) -> str | None:
    """``url`` without userinfo, query or fragment (where credentials hide)."""
    if url is None:
        return None
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        netloc = f"[{host}]" if ":" in host else host
        netloc += f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<invalid url>"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _redacted_repr(url: str | None) -> str:
    return repr(redact_url(url))


@attrs.frozen(kw_only=True)
class McpServer:
    """One MCP server and the rules a response uses it under."""

    label: str
    url: str | None = attrs.field(default=None, repr=_redacted_repr)  # streamable HTTP or SSE
    command: tuple[str, ...] | None = None  # a stdio server (config file only)
    env: dict[str, str] = attrs.field(factory=dict, repr=False)
    headers: dict[str, str] = attrs.field(factory=dict, repr=False)  # credentials
    allowed_tools: tuple[str, ...] | None = None
    read_only: bool = False  # only tools annotated ``readOnlyHint`` (allowed_tools filter)
    require_approval: str | dict[str, Any] = "always"
    declared: bool = False  # from the config file: trusted, not subject to the SSRF guard

    def allows(self, tool: Mapping[str, Any]) -> bool:
        """Whether a listed tool (``{"name", "annotations", ...}``) is offered to the model."""
        if self.allowed_tools is not None and tool.get("name") not in self.allowed_tools:
            return False
        return not self.read_only or _is_read_only(tool)

    def needs_approval(self, tool_name: str, *, read_only: bool = False) -> bool:
        """Whether calling ``tool_name`` needs the client's approval first.

        ``"always"`` / ``"never"`` apply to every tool. A filter object ``{"always": {...},
        "never": {...}}`` (each ``{"tool_names": [...], "read_only": bool}``) decides per tool:
        a ``never`` match runs freely, an ``always`` match asks; a tool neither names asks,
        unless only ``always`` was given (then only its tools ask). ``read_only`` is the tool's
        ``readOnlyHint``.
        """
        rule = self.require_approval
        if not isinstance(rule, dict):
            return rule != "never"
        if _filter_matches(rule.get("never"), tool_name, read_only):
            return False
        if _filter_matches(rule.get("always"), tool_name, read_only):
            return True
        return not ("always" in rule and "never" not in rule)


def _is_read_only(tool: Mapping[str, Any]) -> bool:
    annotations = tool.get("annotations")
    return isinstance(annotations, Mapping) and annotations.get("readOnlyHint") is True


def _filter_matches(spec: object, tool_name: str, read_only: bool) -> bool:
    if not isinstance(spec, Mapping):
        return False
    names = spec.get("tool_names")
    if names is not None and tool_name not in names:
        return False
    flag = spec.get("read_only")
    if flag is not None and bool(flag) != read_only:
        return False
    return names is not None or flag is not None


# --- validation shared by request tools and the config file --------------------------------


class _Bad(ValueError):
    """A bad field: ``where`` names it relative to the server (``.headers``, ...)."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(message)
        self.where = where
        self.message = message


def _str_map(value: object, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise _Bad(where, "must be an object of string values")
    return dict(value)


# Headers the HTTP client sets for the request it frames: a value given for one could cut the
# body short (content-length) or send it to another virtual host.
_FRAMING_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection",
                              "keep-alive", "upgrade", "te", "trailer", "expect",
                              "proxy-connection"})


def _headers(value: object) -> dict[str, str]:
    headers = _str_map(value, ".headers")
    for name, val in headers.items():
        if not _HEADER_NAME.match(name) or "\r" in val or "\n" in val:
            raise _Bad(".headers", "contains an invalid header name or value")
        if name.lower() in _FRAMING_HEADERS:
            raise _Bad(".headers", f"may not set {name!r}: the gateway frames the request")
    return headers


def _names(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise _Bad(where, "must be a list of tool names")
    return tuple(value)


def _tool_filter(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, Mapping) or set(value) - {"tool_names", "read_only"}:
        raise _Bad(where, "must be an object with tool_names and/or read_only")
    out: dict[str, Any] = {}
    if value.get("tool_names") is not None:
        out["tool_names"] = list(_names(value["tool_names"], f"{where}.tool_names"))
    if value.get("read_only") is not None:
        if not isinstance(value["read_only"], bool):
            raise _Bad(f"{where}.read_only", "must be a boolean")
        out["read_only"] = value["read_only"]
    return out


def _allowed(value: object) -> tuple[tuple[str, ...] | None, bool]:
    """``allowed_tools`` (names, or ``{"tool_names", "read_only"}``) → (names, read_only)."""
    if value is None:
        return None, False
    if isinstance(value, Mapping):
        spec = _tool_filter(value, ".allowed_tools")
        names = spec.get("tool_names")
        return (tuple(names) if names is not None else None), bool(spec.get("read_only"))
    return _names(value, ".allowed_tools"), False


def _approval(value: object) -> str | dict[str, Any]:
    if value is None:
        return "always"
    if value in ("always", "never"):
        return str(value)
    if not isinstance(value, Mapping) or set(value) - {"always", "never"}:
        raise _Bad(".require_approval", "must be 'always', 'never' or an object with "
                                        "'always' and/or 'never' filters")
    return {key: _tool_filter(spec, f".require_approval.{key}") for key, spec in value.items()}


def _rules(table: Mapping[str, Any]) -> dict[str, Any]:
    names, read_only = _allowed(table.get("allowed_tools"))
    return {"allowed_tools": names, "read_only": read_only,
            "require_approval": _approval(table.get("require_approval"))}


# --- request tools ----------------------------------------------------------------------------


def mcp_server_from_tool(
    tool: Mapping[str, Any],
    declared: Mapping[str, McpServer],
    *,
    allow_private: bool,
    param: str = "tools",
) -> McpServer:
    """The server a request's ``mcp`` tool names; a bad shape → ``InvalidRequest`` naming
    ``param`` (``tools[2]``) and the field. The URL gets the SSRF checks that need no DNS;
    ``ssrf.check_url`` does the rest before connecting (not needed for declared servers)."""
    try:
        return _from_tool(tool, declared, allow_private=allow_private, param=param)
    except _Bad as bad:
        raise InvalidRequest(f"Invalid MCP tool: {param}{bad.where} {bad.message}.",
                             param=f"{param}{bad.where}") from None


def _from_tool(tool: Mapping[str, Any], declared: Mapping[str, McpServer], *,
               allow_private: bool, param: str) -> McpServer:
    label = tool.get("server_label")
    if not isinstance(label, str) or not _LABEL.match(label):
        raise _Bad(".server_label", "must start with a letter and contain only letters, digits, "
                                    "'-' and '_' (at most 64)")
    for unsupported in ("connector_id", "tunnel_id"):
        if tool.get(unsupported) is not None:
            raise _Bad(f".{unsupported}", "is not supported by this gateway; give server_url")
    headers = _headers(tool.get("headers"))
    authorization = tool.get("authorization")
    if authorization is not None:
        if not isinstance(authorization, str) or "\n" in authorization or "\r" in authorization:
            raise _Bad(".authorization", "must be a string without line breaks")
        headers["Authorization"] = f"Bearer {authorization}"
    url = tool.get("server_url")
    if url is None:
        return _declared(label, declared, tool, headers)
    check_url_now(url, allow_private=allow_private, param=f"{param}.server_url")
    return McpServer(label=label, url=str(url).strip(), headers=headers, **_rules(tool))


def _declared(label: str, declared: Mapping[str, McpServer], tool: Mapping[str, Any],
              headers: dict[str, str]) -> McpServer:
    server = declared.get(label)
    if server is None:
        raise _Bad(".server_url", f"is required: no MCP server named {label!r} is declared on "
                                  "the gateway")
    rules = _rules(tool)  # the request's rules replace the declared ones it gives
    if tool.get("allowed_tools") is None:
        del rules["allowed_tools"], rules["read_only"]
    if tool.get("require_approval") is None:
        del rules["require_approval"]
    merged = {**server.headers, **headers} if server.url is not None else server.headers
    return attrs.evolve(server, headers=merged, **rules)


# --- the config file --------------------------------------------------------------------------


def _command(table: Mapping[str, Any]) -> tuple[str, ...] | None:
    command, args = table.get("command"), table.get("args")
    if command is None:
        return None
    parts = shlex.split(command) if isinstance(command, str) else command
    if not isinstance(parts, list | tuple) or not parts or not all(
        isinstance(p, str) for p in parts
    ):
        raise _Bad(".command", "must be a command line or a non-empty list of strings")
    if args is not None:
        parts = [*parts, *_names(args, ".args")]
    return tuple(parts)


def _declared_server(name: str, table: Mapping[str, Any]) -> McpServer:
    if not isinstance(table, Mapping):
        raise _Bad("", "must be a table")
    if not _LABEL.match(name):
        raise _Bad("", "has an invalid name (letters, digits, '-' and '_', starting with a letter)")
    url, command = table.get("url"), _command(table)
    if (url is None) == (command is None):
        raise _Bad("", "needs exactly one of url or command")
    if url is not None:
        try:
            check_url_now(url, allow_private=True)
        except InvalidRequest:
            raise _Bad(".url", "must be an http or https URL with a host") from None
    return McpServer(label=name, url=url, command=command, env=_str_map(table.get("env"), ".env"),
                     headers=_headers(table.get("headers")), declared=True, **_rules(table))


def parse_declared_servers(table: Mapping[str, Any]) -> dict[str, McpServer]:
    """The config file's ``[mcp_servers.NAME]`` tables; a bad one → ``ValueError`` naming it."""
    servers: dict[str, McpServer] = {}
    for name, entry in table.items():
        try:
            servers[name] = _declared_server(name, entry)
        except _Bad as bad:
            raise ValueError(f"mcp_servers.{name}{bad.where} {bad.message}") from None
    return servers
