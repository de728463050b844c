"""The store backends the tests run against: SQLite always, PostgreSQL where it is reachable.

``BACKENDS`` parametrizes a fixture; ``backend_url`` gives a URL for one test's own database
(a file in ``tmp_path``, or a fresh PostgreSQL schema dropped afterwards). PostgreSQL comes from
``tests.services.postgres_url``: skipped where unreachable, a failure under
``OPENRESPONSES_REQUIRE_SERVICES=1``.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import psycopg
from psycopg import sql

from tests.services import postgres_url

BACKENDS = ["sqlite-memory", "sqlite-file", "postgresql"]
FILE_BACKENDS = ["sqlite-file", "postgresql"]  # those a second store can open again


def with_schema(url: str, schema: str) -> str:
    """``url`` with libpq options selecting ``schema`` (``-c search_path=schema``)."""
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options={quote(f'-c search_path={schema}', safe='')}"


@contextlib.contextmanager
def postgres_schema() -> Iterator[str]:
    """The URL of a fresh PostgreSQL schema (created by the store that opens it), dropped with
    everything in it afterwards."""
    base = postgres_url()
    schema = f"test_{uuid.uuid4().hex[:16]}"
    try:
        yield with_schema(base, schema)
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
                sql.Identifier(schema)))


@contextlib.contextmanager
def backend_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """A store URL of the ``backend`` (one of ``BACKENDS``) private to one test."""
    if backend == "postgresql":
        with postgres_schema() as url:
            yield url
    elif backend == "sqlite-file":
        yield f"sqlite:///{tmp_path / 'store.db'}"
    elif backend == "sqlite-memory":
        yield "sqlite:///:memory:"
    else:
        raise AssertionError(f"unknown backend {backend}")
