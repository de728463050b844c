"""What only the PostgreSQL store does: versioned migrations (once, in order, safe when
processes start together), schema selection, and clean errors when the server is away."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from openresponses.store.base import StoredResponse, open_store
from openresponses.store.postgres import PostgresStore
from openresponses.store.postgres_migrations import SCHEMA_VERSION
from openresponses.store.postgres_pool import StoreClosed, StoreUnavailable
from tests.openresponses.store.backends import postgres_schema
from tests.openresponses.store.proxy import CuttableProxy, cuttable_proxy
from tests.openresponses.store.samples import record
from tests.services import postgres_url

PASSWORD = "s3cret-pw"


@pytest.fixture
def schema_url() -> Iterator[str]:
    with postgres_schema() as url:
        yield url


def on_port(url: str, port: int, *, password: str | None = None) -> str:
    """``url`` pointed at 127.0.0.1:``port`` (optionally with a password in it)."""
    parts = urlsplit(url)
    user = parts.username or "postgres"
    auth = f"{user}:{password}" if password else user
    return urlunsplit(parts._replace(netloc=f"{auth}@127.0.0.1:{port}"))


def applied(url: str) -> list[int]:
    """The versions recorded in the schema's migrations table, in order of application."""
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute("SELECT version FROM schema_migrations ORDER BY applied_at, version")
        return [version for (version,) in rows]


def test_opening_creates_the_schema_and_applies_each_migration_once(schema_url: str) -> None:
    store = PostgresStore(schema_url)
    store.close()
    assert (store.schema, store.version) == (store.schema, SCHEMA_VERSION)
    assert store.schema is not None
    assert store.schema.startswith("test_")
    again = PostgresStore(schema_url)
    again.close()
    assert applied(schema_url) == list(range(1, SCHEMA_VERSION + 1))
    with psycopg.connect(postgres_url(), autocommit=True) as conn:
        tables = {name for (name,) in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
            (store.schema,))}
    assert {"responses", "input_items", "chat_completions", "gateway_keys", "conversations",
            "response_events", "schema_migrations"} <= tables


def test_stores_opening_at_once_apply_each_migration_once(schema_url: str) -> None:
    barrier = threading.Barrier(4)
    outcomes: list[object] = []

    def open_one() -> None:
        barrier.wait()
        try:
            store = PostgresStore(schema_url)
        except BaseException as exc:  # reported to the test thread below
            outcomes.append(exc)
        else:
            outcomes.append(store.version)
            store.close()

    threads = [threading.Thread(target=open_one) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes == [SCHEMA_VERSION] * 4
    assert applied(schema_url) == list(range(1, SCHEMA_VERSION + 1))


def test_a_delete_from_a_session_on_another_search_path_is_counted(schema_url: str) -> None:
    store = PostgresStore(schema_url)
    try:
        store.save_batch([record("resp_0"), record("resp_1")])
        schema = store.schema
        assert schema is not None
        with psycopg.connect(postgres_url(), autocommit=True) as conn:  # search_path: public
            conn.execute(psycopg.sql.SQL("DELETE FROM {}.responses WHERE id = 'resp_0'").format(
                psycopg.sql.Identifier(schema)))
        tip = store.tip("alice", "resp_1")
        assert tip is not None
        assert tip.deletions == 1
    finally:
        store.close()


def test_a_schema_newer_than_the_code_is_refused(schema_url: str) -> None:
    PostgresStore(schema_url).close()
    with psycopg.connect(schema_url, autocommit=True) as conn:
        conn.execute("INSERT INTO schema_migrations (version) VALUES (%s)", (SCHEMA_VERSION + 1,))
    with pytest.raises(RuntimeError, match="newer"):
        PostgresStore(schema_url)


def test_both_url_schemes_open_the_store(schema_url: str) -> None:
    for url in (schema_url, schema_url.replace("postgresql://", "postgres://", 1)):
        store = open_store(url)
        try:
            store.save_batch([record("resp_1")])
            assert store.get("alice", "resp_1") == record("resp_1")
        finally:
            store.close()


def test_an_unreachable_server_is_a_clean_error_naming_no_url(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with cuttable_proxy(("127.0.0.1", 1)) as proxy:  # nothing listens on port 1
        url = on_port(postgres_url(), proxy.port, password=PASSWORD)
        with pytest.raises(StoreUnavailable) as caught:
            open_store(url)
    error = caught.value
    assert (error.status, error.code, error.type) == (503, "store_unavailable", "server_error")
    text = f"{error} {error!r} {error.to_dict()} {caplog.text}"
    assert PASSWORD not in text
    assert url not in text
    assert "postgresql://" not in text


def test_a_malformed_url_is_refused_without_echoing_it() -> None:
    with pytest.raises(ValueError, match="malformed") as caught:
        open_store(f"postgresql://user:{PASSWORD}%zz@127.0.0.1/db")
    assert PASSWORD not in str(caught.value)


def test_a_lost_server_fails_calls_cleanly_and_the_store_recovers(
    schema_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    target = urlsplit(postgres_url())
    with cuttable_proxy((target.hostname or "127.0.0.1", target.port or 5432)) as proxy:
        url = on_port(schema_url, proxy.port)
        store = PostgresStore(url, pool_timeout=1.0)
        try:
            store.save_batch([record("resp_1")])
            proxy.cut()
            with caplog.at_level(logging.WARNING), pytest.raises(StoreUnavailable):
                store.get("alice", "resp_1")
            with pytest.raises(StoreUnavailable):
                store.save_batch([record("resp_2")])
            proxy.restore()
            _eventually_readable(store, proxy)
            assert store.get("alice", "resp_2") is None  # the failed save stored nothing
        finally:
            store.close()
    assert "store unavailable" in caplog.text
    assert url not in caplog.text


def _eventually_readable(store: PostgresStore, proxy: CuttableProxy) -> None:
    """The pool reconnects in the background: the store reads again within a few tries."""
    for _ in range(20):
        try:
            assert store.get("alice", "resp_1") == record("resp_1")
            return
        except StoreUnavailable:
            continue
    raise AssertionError(f"store did not recover through the proxy on port {proxy.port}")


def test_a_closed_store_refuses_calls(schema_url: str) -> None:
    store = PostgresStore(schema_url)
    store.close()
    store.close()  # idempotent
    with pytest.raises(StoreClosed):
        store.get("alice", "resp_1")


def test_events_of_a_response_not_stored_are_refused(schema_url: str) -> None:
    store = PostgresStore(schema_url)
    try:
        with pytest.raises(ValueError, match="not stored"):
            store.append_events("resp_missing", [{"sequence_number": 0, "type": "x"}])
    finally:
        store.close()


def test_a_batch_giving_one_id_to_two_owners_is_refused_whole(schema_url: str) -> None:
    store = PostgresStore(schema_url)
    try:
        with pytest.raises(ValueError, match="another owner"):
            store.save_batch([record("resp_1"), record("resp_2"),
                              record("resp_1", owner="mallory")])
        assert store.get("alice", "resp_2") is None
    finally:
        store.close()


def test_a_nul_character_is_stored_as_the_replacement_character(schema_url: str) -> None:
    """PostgreSQL holds no U+0000: it becomes U+FFFD instead of failing the whole batch."""
    with_nul = StoredResponse(
        id="resp_nul", owner="alice", previous_response_id=None, created_at=1,
        response={"id": "resp_nul", "output_text": "a\x00b", "note": "\\u0000 stays text"},
        input_items=[{"id": "msg_\x00", "type": "message", "content": "c\x00"}],
    )
    store = PostgresStore(schema_url)
    try:
        store.save_batch([record("resp_1"), with_nul])
        found = store.get("alice", "resp_nul")
        assert found is not None
        assert found.response["output_text"] == "a\ufffdb"
        assert found.response["note"] == "\\u0000 stays text"
        assert found.input_items == [{"id": "msg_\ufffd", "type": "message",
                                      "content": "c\ufffd"}]
        assert store.get("alice", "resp_1") == record("resp_1")
    finally:
        store.close()
