"""The real backing services some tests need: PostgreSQL and Redis on 127.0.0.1.

Tests that need one call ``postgres_url()`` or ``redis_url()``. Where the service is not
reachable the test is skipped with the reason, unless ``OPENRESPONSES_REQUIRE_SERVICES=1`` (set
by ``.ci/run``), which turns the skip into a failure: CI must not pass by skipping.

The addresses default to this machine's services and may be moved with
``OPENRESPONSES_TEST_POSTGRES`` and ``OPENRESPONSES_TEST_REDIS``.
"""

from __future__ import annotations

import functools
import os
import socket
from urllib.parse import urlsplit

import pytest

POSTGRES_URL = os.environ.get(
    "OPENRESPONSES_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("OPENRESPONSES_TEST_REDIS", "redis://127.0.0.1:6379/0")


def services_required() -> bool:
    return os.environ.get("OPENRESPONSES_REQUIRE_SERVICES", "") not in ("", "0")


@functools.cache
def _reachable(url: str, default_port: int) -> str | None:
    """None if a TCP connection to the URL's host and port opens, else why not."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or default_port
    try:
        with socket.create_connection((host, port), timeout=2.0):
            return None
    except OSError as exc:
        return f"{host}:{port} is not reachable ({exc.__class__.__name__}: {exc})"


def _require(name: str, url: str, default_port: int) -> str:
    reason = _reachable(url, default_port)
    if reason is None:
        return url
    message = f"{name} needed: {reason}"
    if services_required():
        pytest.fail(f"{message}; OPENRESPONSES_REQUIRE_SERVICES=1 forbids skipping")
    pytest.skip(message)


def postgres_url() -> str:
    """The test PostgreSQL URL, or skip (fail under OPENRESPONSES_REQUIRE_SERVICES=1)."""
    return _require("PostgreSQL", POSTGRES_URL, 5432)


def redis_url() -> str:
    """The test Redis URL, or skip (fail under OPENRESPONSES_REQUIRE_SERVICES=1)."""
    return _require("Redis", REDIS_URL, 6379)
