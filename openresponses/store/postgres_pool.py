"""PostgreSQL connections for ``PostgresStore``: the URL, the pool, and the driver's errors.

The store owns one ``psycopg_pool.ConnectionPool`` (sync: the storage actor calls the store from
worker threads). Pooled connections are in autocommit mode, so a read is one round trip; a write
is an explicit transaction. Each connection is checked when taken from the pool, so one that a
server restart broke is replaced instead of failing a request. JSON is (de)serialised with
orjson on every pooled connection.

NUL: PostgreSQL text and JSONB cannot hold the character U+0000, which SQLite stores. Rather
than fail a save (and with it every other save of its group commit), ``dumps`` and ``text``
store it as U+FFFD, the replacement character: the one way PostgreSQL records differ.

Errors: the driver's connection failures (server down, pool exhausted, connection lost) become
``StoreUnavailable`` here, in one place: a ``GatewayError`` with status 503 that the routes
render as an OpenAI error envelope. Its message, like every log line here, names the scheme
and the driver's reason, never the URL (it may carry a password).
"""

from __future__ import annotations

import contextlib
import logging
import re
import shlex
from collections.abc import Iterator
from typing import Any

import orjson
import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.types.json import set_json_dumps, set_json_loads
from psycopg_pool import ConnectionPool, PoolClosed

from openresponses.errors import GatewayError

logger = logging.getLogger("openresponses.store")

Connection = psycopg.Connection[tuple[Any, ...]]
_CONNECT_TIMEOUT = "10"  # seconds, unless the URL sets connect_timeout
# A JSON \u0000 escape: preceded by an even number of backslashes (odd would make it text).
_NUL_ESCAPE = re.compile(rb"(?<!\\)((?:\\\\)*)\\u0000")


class StoreUnavailable(GatewayError):
    """The PostgreSQL store cannot be reached (down, unreachable, or its pool is exhausted)."""

    status = 503
    type = "server_error"
    code = "store_unavailable"


class StoreClosed(RuntimeError):
    """The store was closed; raised to a call that reaches it afterwards."""


def conninfo_of(url: str) -> tuple[str, str | None]:
    """The libpq connection string for ``url`` and the schema its ``search_path`` names first.

    ``options=-c search_path=NAME`` in the URL selects the schema (created if missing);
    without it the server's default applies. Raises ``ValueError`` naming only the scheme.
    """
    try:
        params = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        raise ValueError("postgresql store URL is malformed") from None
    defaults = {} if "connect_timeout" in params else {"connect_timeout": _CONNECT_TIMEOUT}
    return make_conninfo(url, **defaults), _search_path_schema(str(params.get("options", "")))


def _search_path_schema(options: str) -> str | None:
    """The first schema of ``-c search_path=a,b`` (or ``--search_path=…``) in libpq options."""
    try:
        words = shlex.split(options)
    except ValueError:
        raise ValueError("postgresql store URL has malformed options") from None
    settings: list[str] = []
    for n, word in enumerate(words):
        if word == "-c" and n + 1 < len(words):
            settings.append(words[n + 1])
        elif word.startswith("-c") and len(word) > 2:
            settings.append(word[2:])
        elif word.startswith("--"):
            settings.append(word[2:])
    for setting in settings:
        name, _, value = setting.partition("=")
        if name.strip().replace("-", "_") == "search_path":
            first = value.split(",")[0].strip().strip('"')
            return first or None
    return None


def reason(exc: BaseException) -> str:
    """What went wrong, without the URL: the driver's last reason (libpq's text names the host
    and port at most, never the password), or the error's class."""
    text = str(exc).strip()
    last = text.rpartition("failed: ")[2].splitlines()[0].strip() if text else ""
    return f"{type(exc).__name__}: {last}" if last else type(exc).__name__


def unavailable(exc: BaseException) -> StoreUnavailable:
    """The error a caller sees for a driver's connection failure (logged once, here)."""
    why = reason(exc)
    logger.warning("postgresql store unavailable: %s", why)
    return StoreUnavailable(f"The response store is unavailable ({why}).")


def connect(conninfo: str) -> Connection:
    """One connection outside the pool (for migrations), autocommit, orjson for JSON."""
    try:
        conn = psycopg.connect(conninfo, autocommit=True)
    except psycopg.OperationalError as exc:
        raise unavailable(exc) from None
    _configure(conn)
    return conn


def dumps(value: Any) -> bytes:
    """JSON for a JSONB value (orjson; ``TypeError`` if it cannot be encoded), U+0000 made
    U+FFFD."""
    data = orjson.dumps(value)
    if b"\\u0000" in data:
        data = _NUL_ESCAPE.sub(rb"\1\\ufffd", data)
    return data


def text(value: str) -> str:
    """A text column's value, U+0000 made U+FFFD."""
    return value.replace("\x00", "\ufffd") if "\x00" in value else value


def _configure(conn: Connection) -> None:
    set_json_dumps(dumps, conn)
    set_json_loads(orjson.loads, conn)


class PgConnections:
    """The store's pool, handing out connections for one read or one transaction."""

    def __init__(self, conninfo: str, *, size: int, timeout: float) -> None:
        """Open the pool (connections are made in the background, as they are needed).

        ``timeout``: how long a call waits for a connection before ``StoreUnavailable``.
        """
        self._pool: ConnectionPool[Connection] = ConnectionPool(
            conninfo,
            min_size=1,
            max_size=size,
            kwargs={"autocommit": True},
            configure=_configure,
            check=ConnectionPool.check_connection,
            timeout=timeout,
            name="openresponses-store",
            open=False,
        )
        self._pool.open(wait=False)

    @contextlib.contextmanager
    def reader(self) -> Iterator[Connection]:
        """A pooled connection for reads (autocommit: each statement sees committed data)."""
        with self._mapped(), self._pool.connection() as conn:
            yield conn

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A pooled connection inside a transaction: committed when the block ends, rolled
        back (all of it) when it raises."""
        with self._mapped(), self._pool.connection() as conn, conn.transaction():
            yield conn

    @contextlib.contextmanager
    def _mapped(self) -> Iterator[None]:
        """Map the driver's connection failures to ``StoreUnavailable`` / ``StoreClosed``."""
        try:
            yield
        except PoolClosed:
            raise StoreClosed("the postgresql store is closed") from None
        except psycopg.OperationalError as exc:
            raise unavailable(exc) from None

    def close(self) -> None:
        self._pool.close()
