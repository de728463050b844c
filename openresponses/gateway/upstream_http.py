"""One provider's HTTP connections: httpx2 transports, driven without an ``AsyncClient``.

A provider pool sends every request through an ``httpx2.AsyncHTTPTransport`` (or the transport
a test injects) itself. ``AsyncClient`` would add, on every request, the merging of its URL,
headers and cookies, an auth flow, the redirect loop, event hooks and a log line, about 0.33 M
instructions of the ~6.5 M a stored non-stream turn costs the gateway (bench/results/
2026-12-07-transport.md), and none of it is wanted here:

- redirects are not followed by the client either (``follow_redirects`` is off by default);
- a cookie jar shared by every user's requests must not exist: a provider's cookies (every
  recorded OpenAI answer sets some) would be sent on behalf of the next user;
- the timeouts the client would attach to each request are attached here, once computed.

What the client did that the gateway keeps: proxies from the environment (``HTTPS_PROXY``,
``ALL_PROXY``, ``NO_PROXY``, resolved once per provider with the standard library), the
``Host`` header (``httpx2.Request`` sets it), a ``User-Agent``, and decoding of a compressed
answer (``accept-encoding: gzip, deflate``; ``Response.aread`` decodes).

A provider allowed many connections gets several transports, used round-robin: httpcore2's
pool scans every connection of its transport when a request starts and ends, so each is kept
small enough for the scans to stay cheap.
"""

from __future__ import annotations

import functools
import http.cookiejar
import importlib.metadata
import ssl
import urllib.request
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx2

from openresponses.config import ProviderConfig

SHARD_CONNECTIONS = 128  # connections per transport
_MAX_URLS = 256  # request URLs remembered per provider (a provider calls a handful of paths)
DEFAULT_HEADERS = {"user-agent": f"openresponses/{importlib.metadata.version('openresponses')}",
                   "accept-encoding": "gzip, deflate"}


@functools.cache
def _tls() -> ssl.SSLContext:
    """One TLS context shared by every provider: each one built loads the CA bundle (~40 ms a
    provider at start-up)."""
    return httpx2.create_ssl_context()


def cookieless_jar() -> http.cookiejar.CookieJar:
    """A cookie jar that keeps nothing, for an ``AsyncClient`` shared by every user's requests
    (the tool runner's): an upstream's ``set-cookie`` must not ride on the next user's call."""
    return http.cookiejar.CookieJar(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))


def environment_proxy(url: httpx2.URL) -> str | None:
    """The proxy the environment names for ``url`` (``<scheme>_proxy``, else ``all_proxy``,
    either case), or None: none set, or the host is excluded by ``no_proxy``."""
    proxies = urllib.request.getproxies()
    if not proxies or urllib.request.proxy_bypass(url.host):
        return None
    return proxies.get(url.scheme) or proxies.get("all")


class UpstreamHTTP:
    """A provider's transports (opened by ``open``, closed by ``aclose``) and its requests."""

    def __init__(self, config: ProviderConfig,
                 transport: httpx2.AsyncBaseTransport | None = None) -> None:
        self.config = config
        self._injected = transport
        self._transports: list[httpx2.AsyncBaseTransport] = []
        self._turn_no = 0  # round-robin over the transports
        self._base = httpx2.URL(config.base_url.rstrip("/") + "/")
        self._urls: dict[str, httpx2.URL] = {}
        timeout = httpx2.Timeout(config.read_timeout, connect=config.connect_timeout)
        self._extensions: dict[str, Any] = {"timeout": timeout.as_dict()}

    def open(self) -> None:
        """Open the transports: one per ``SHARD_CONNECTIONS`` allowed connections, splitting
        the provider's limit between them (just the injected one, if a test gave one)."""
        if self._injected is not None:
            self._transports = [self._injected]
            return
        total = self.config.max_connections
        shards = -(-total // SHARD_CONNECTIONS)
        each = -(-total // shards)
        limits = httpx2.Limits(max_connections=each, max_keepalive_connections=each,
                               keepalive_expiry=30.0)
        proxy = environment_proxy(self._base)
        self._transports = [httpx2.AsyncHTTPTransport(verify=_tls(), limits=limits, proxy=proxy)
                            for _ in range(shards)]

    async def aclose(self) -> None:
        transports, self._transports = self._transports, []
        for transport in transports:
            await transport.aclose()

    def url(self, path: str) -> httpx2.URL:
        """``path`` joined to the base URL as ``AsyncClient(base_url=...)`` joins it, built once
        per path."""
        url = self._urls.get(path)
        if url is None:
            url = httpx2.URL(path)
            if url.is_relative_url:
                url = self._base.copy_with(
                    raw_path=self._base.raw_path + url.raw_path.lstrip(b"/"))
            if len(self._urls) < _MAX_URLS:
                self._urls[path] = url
        return url

    async def _send(self, method: str, path: str, body: bytes | None,
                    headers: dict[str, str]) -> httpx2.Response:
        request = httpx2.Request(method, self.url(path), content=body,
                                 headers={**DEFAULT_HEADERS, **headers},
                                 extensions={**self._extensions})  # never shared
        self._turn_no += 1
        transport = self._transports[self._turn_no % len(self._transports)]
        response = await transport.handle_async_request(request)
        response.request = request
        return response

    async def read(self, method: str, path: str, body: bytes | None,
                   headers: dict[str, str]) -> httpx2.Response:
        """The whole answer, read (``content``) and its connection released."""
        response = await self._send(method, path, body, headers)
        try:
            await response.aread()
        finally:
            await response.aclose()
        return response

    @asynccontextmanager
    async def stream(self, method: str, path: str, body: bytes | None,
                     headers: dict[str, str]) -> AsyncIterator[httpx2.Response]:
        """The answer with its body still to read; closed on leaving (a stream cut short
        drops its connection)."""
        response = await self._send(method, path, body, headers)
        try:
            yield response
        finally:
            await response.aclose()
