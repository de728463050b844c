"""The MCP client side of server-side tools: list a server's tools, call one.

One ``McpClientPool`` per gateway, owned by the ToolRunner actor. Each ``list_tools`` /
``call_tool`` opens its own session (transport → ``mcp.Client`` → handshake → request →
close): nothing stays open between calls, so there is no background task to own, no idle
session to expire, and a cancelled call takes its whole session (HTTP connection or stdio
process) with it. The cost is a handshake per call; listings are cached instead, per server
and header set, for ``list_ttl`` seconds.

Transports: streamable HTTP through httpx2; the legacy SSE transport for a URL whose path
ends in ``/sse``; stdio for servers declared with a ``command`` in the config file.
Network waits are bounded (connect 10 s, read 300 s); callers bound whole calls with
``trio.fail_after``. Header values (credentials) never reach an error, a repr or a log.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from functools import partial
from typing import Any

import attrs
import httpx2
import trio
from mcp import Client, StdioServerParameters
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from mcp_types import Implementation

from openresponses.errors import GatewayError
from openresponses.tools.mcp_config import (
    McpServer,
    mcp_server_from_tool,
    parse_declared_servers,
    redact_url,
)
from openresponses.tools.mcp_results import (
    error_text,
    execution_error,
    failure,
    redact,
    result_text,
    tool_dict,
)

__all__ = [
    "McpCallOutcome",
    "McpClientPool",
    "McpServer",
    "McpUnavailable",
    "mcp_server_from_tool",
    "parse_declared_servers",
]

_CLIENT_INFO = Implementation(name="openresponses", version="0.1.0")
_TIMEOUT = httpx2.Timeout(30.0, connect=10.0, read=300.0)
_MAX_PAGES = 50  # tools/list pages followed before giving up on a server's cursor
_MAX_LISTINGS = 512  # cached listings kept (expired ones go first, then the oldest)


class McpUnavailable(GatewayError):
    """An MCP server's tools could not be listed (OpenAI answers 424 for this)."""

    status = 424
    type = "external_connector_error"
    code = "http_error"

    def __init__(self, message: str, *, error: dict[str, Any]) -> None:
        super().__init__(message, param="tools")
        self.error = error  # the spec-shaped error object (see mcp_results)


@attrs.frozen
class McpCallOutcome:
    """A finished call: the output text, and the ``mcp_call`` ``error`` object or None."""

    output: str
    error: dict[str, Any] | None = None

    @property
    def error_text(self) -> str | None:
        return None if self.error is None else error_text(self.error)


def _secrets(server: McpServer) -> list[str]:
    values = [*server.headers.values(), *server.env.values()]
    return values + [part for v in values for part in v.split() if part != v]


def _hash(items: dict[str, str]) -> str:
    digest = hashlib.sha256()
    for key, value in sorted(items.items()):
        digest.update(f"{len(key)}:{key}{len(value)}:{value}".encode())
    return digest.hexdigest()


def _cache_key(server: McpServer) -> tuple[str, str]:
    """(where the server is, a hash of what it is sent): raw credentials are not kept."""
    target = server.url if server.url is not None else "\0".join(server.command or ())
    headers = {k.lower(): v for k, v in server.headers.items()}
    return target, _hash(headers) + _hash(server.env)


def _http_client(statuses: list[int], headers: dict[str, str] | None = None,
                 timeout: httpx2.Timeout | None = None,
                 auth: httpx2.Auth | None = None) -> httpx2.AsyncClient:
    """An httpx2 client that remembers the HTTP error statuses it saw (for error reports)."""

    async def seen(response: httpx2.Response) -> None:
        if response.status_code >= 400:
            statuses.append(response.status_code)

    return httpx2.AsyncClient(headers=headers, timeout=timeout or _TIMEOUT, auth=auth,
                              event_hooks={"response": [seen]})


def _is_sse(url: str) -> bool:
    path = redact_url(url) or ""
    return path.rstrip("/").endswith("/sse")


@asynccontextmanager
async def _session(server: McpServer, statuses: list[int]) -> AsyncIterator[Client]:
    """A connected ``mcp.Client`` for ``server``; closed (and its transport with it) on exit,
    also when cancelled."""
    async with AsyncExitStack() as stack:
        target: Any
        if server.command is not None:
            target = StdioServerParameters(command=server.command[0],
                                           args=list(server.command[1:]),
                                           env=dict(server.env) or None)
        elif server.url is not None and _is_sse(server.url):
            target = sse_client(server.url, headers=dict(server.headers), timeout=10.0,
                                sse_read_timeout=300.0,
                                httpx_client_factory=partial(_http_client, statuses))
        elif server.url is not None:
            http = await stack.enter_async_context(_http_client(statuses, dict(server.headers)))
            target = streamable_http_client(server.url, http_client=http)
        else:
            raise ValueError(f"MCP server {server.label!r} has neither url nor command")
        client = await stack.enter_async_context(
            Client(target, cache=None, client_info=_CLIENT_INFO))
        statuses.clear()  # a legacy server's 4xx to the version probe is not a failure
        yield client


async def _all_tools(client: Client) -> list[dict[str, Any]]:
    tools: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(_MAX_PAGES):
        page = await client.list_tools(cursor=cursor, cache_mode="bypass")
        tools += [tool_dict(tool) for tool in page.tools]
        cursor = page.next_cursor
        if cursor is None:
            break
    return tools


@attrs.define
class _Listing:
    expires: float
    tools: list[dict[str, Any]]


class McpClientPool:
    """Lists and calls MCP tools; caches listings. Not tied to a task: safe to use from any."""

    def __init__(self, *, list_ttl: float = 300.0) -> None:
        self._ttl = list_ttl
        self._listings: dict[tuple[str, str], _Listing] = {}
        self._locks: dict[tuple[str, str], trio.Lock] = {}

    async def list_tools(self, server: McpServer) -> list[dict[str, Any]]:
        """The server's tools (``mcp_list_tools`` shape), filtered by its allowed tools.

        Served from the cache when listed less than ``list_ttl`` seconds ago with the same
        headers; concurrent listings of one server share one request. Raises
        ``McpUnavailable`` when the server cannot be listed. Cancellation closes the session.
        """
        key = _cache_key(server)
        lock = self._locks.setdefault(key, trio.Lock())
        try:
            async with lock:
                listing = self._listings.get(key)
                if listing is None or listing.expires <= trio.current_time():
                    tools = await self._fetch(server)
                    listing = _Listing(trio.current_time() + self._ttl, tools)
                    self._store(key, listing)
        finally:
            if not lock.locked() and lock.statistics().tasks_waiting == 0:
                self._locks.pop(key, None)
        return [copy.deepcopy(tool) for tool in listing.tools if server.allows(tool)]

    async def _fetch(self, server: McpServer) -> list[dict[str, Any]]:
        statuses: list[int] = []
        try:
            async with _session(server, statuses) as client:
                return await _all_tools(client)
        except Exception as exc:  # trio.Cancelled is not an Exception: cancellation propagates
            error = redact(failure(exc, statuses), _secrets(server))
        raise McpUnavailable(f"Error retrieving tool list from MCP server: {server.label!r}. "
                             f"{error_text(error)}", error=error)

    def _store(self, key: tuple[str, str], listing: _Listing) -> None:
        now = trio.current_time()
        for stale in [k for k, v in self._listings.items() if v.expires <= now]:
            del self._listings[stale]
        while len(self._listings) >= _MAX_LISTINGS:
            del self._listings[next(iter(self._listings))]
        self._listings[key] = listing

    async def call(self, server: McpServer, name: str, arguments: dict[str, Any]
                   ) -> McpCallOutcome:
        """Call tool ``name``; every failure (an ``isError`` result, a JSON-RPC error, an
        unreachable or crashing server) comes back in ``error``, never raised. Cancelling the
        caller cancels the request and closes the session."""
        statuses: list[int] = []
        try:
            async with _session(server, statuses) as client:
                result = await client.call_tool(name, arguments)
        except Exception as exc:  # trio.Cancelled is not an Exception: cancellation propagates
            return McpCallOutcome("", redact(failure(exc, statuses), _secrets(server)))
        text = result_text(result)
        if result.is_error:
            return McpCallOutcome(text, execution_error(result))
        return McpCallOutcome(text)

    async def call_tool(self, server: McpServer, name: str, arguments: dict[str, Any]
                        ) -> tuple[str, str | None]:
        """``call`` as (output text, error text or None)."""
        outcome = await self.call(server, name, arguments)
        return outcome.output, outcome.error_text

    async def aclose(self) -> None:
        """Forget cached listings (no session outlives its call)."""
        self._listings.clear()
        self._locks.clear()
