"""``openresponses migrate [--config FILE]``: applies the configured store's migrations and
prints the version it is at; fails with the reason, never the URL."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from openresponses.__main__ import main
from openresponses.store import sqlite
from openresponses.store.postgres_migrations import SCHEMA_VERSION
from tests.openresponses.store.backends import postgres_schema
from tests.services import postgres_url


@pytest.fixture(autouse=True)
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENRESPONSES_STORE", raising=False)
    monkeypatch.delenv("OPENRESPONSES_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)  # no ./openresponses.toml


@pytest.fixture
def schema_url() -> Iterator[str]:
    with postgres_schema() as url:
        yield url


def test_migrate_brings_a_sqlite_file_to_the_current_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "data" / "store.db"
    monkeypatch.setenv("OPENRESPONSES_STORE", f"sqlite:///{path}")
    assert main(["migrate"]) == 0
    assert capsys.readouterr().out.strip() == (
        f"sqlite store schema is at version {sqlite.SCHEMA_VERSION}")
    with contextlib.closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA user_version").fetchone() == (sqlite.SCHEMA_VERSION,)


def test_migrate_applies_the_postgresql_migrations_from_a_config_file(
    tmp_path: Path, schema_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text(f'[server]\nstore = "{schema_url}"\n')
    for _ in range(2):  # a second run finds nothing left to do
        assert main(["migrate", "--config", str(config)]) == 0
        assert capsys.readouterr().out.strip() == (
            f"postgresql store schema is at version {SCHEMA_VERSION}")
    with psycopg.connect(schema_url, autocommit=True) as conn:
        rows = conn.execute("SELECT version FROM schema_migrations ORDER BY version").fetchall()
    assert [version for (version,) in rows] == list(range(1, SCHEMA_VERSION + 1))


def test_migrate_reports_an_unreachable_server_without_the_url(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    user = postgres_url().partition("://")[2].partition("@")[0].partition(":")[0]
    url = f"postgresql://{user}:s3cret-pw@127.0.0.1:1/test?connect_timeout=2"
    monkeypatch.setenv("OPENRESPONSES_STORE", url)
    assert main(["migrate"]) == 1
    captured = capsys.readouterr()
    assert "cannot migrate the postgresql store" in captured.err
    assert "s3cret-pw" not in captured.out + captured.err
    assert "127.0.0.1:1" not in captured.err


def test_migrate_refuses_a_store_newer_than_the_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "store.db"
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.execute(f"PRAGMA user_version = {sqlite.SCHEMA_VERSION + 1}")
    monkeypatch.setenv("OPENRESPONSES_STORE", f"sqlite:///{path}")
    assert main(["migrate"]) == 1
    assert "newer" in capsys.readouterr().err
