"""Switching a new SQLite file to WAL when several processes open it at once
(``serve --workers N`` on a fresh database): the loser of the race waits instead of failing."""

from __future__ import annotations

import contextlib
import multiprocessing
import sqlite3
from collections.abc import Iterator
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

import pytest

from openresponses.store import sqlite_migrations
from openresponses.store.sqlite import SqliteStore
from openresponses.store.sqlite_migrations import enable_wal

ROUNDS = 200


class _Flaky(sqlite3.Connection):
    """A connection whose WAL switch fails ``failures`` times with ``error`` first."""

    failures = 0
    error = "database is locked"
    calls = 0

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        if sql == "PRAGMA journal_mode = WAL":
            self.calls += 1
            if self.calls <= self.failures:
                raise sqlite3.OperationalError(self.error)
        return super().execute(sql, *args)


@contextlib.contextmanager
def flaky(failures: int, error: str = "database is locked") -> Iterator[_Flaky]:
    conn = sqlite3.connect(":memory:", factory=_Flaky)
    conn.failures, conn.error = failures, error
    try:
        yield conn
    finally:
        conn.close()


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite_migrations, "_WAL_RETRY_S", 0.001)


def test_a_locked_switch_is_retried_until_it_succeeds() -> None:
    with flaky(failures=3) as conn:
        enable_wal(conn, timeout_s=5)
    assert conn.calls == 4


def test_a_lock_that_outlasts_the_timeout_is_raised() -> None:
    with flaky(failures=10**9) as conn, pytest.raises(sqlite3.OperationalError, match="locked"):
        enable_wal(conn, timeout_s=0.05)
    assert conn.calls > 1


def test_other_errors_are_raised_at_once() -> None:
    with flaky(failures=1, error="disk I/O error") as conn, pytest.raises(
            sqlite3.OperationalError, match="disk I/O"):
        enable_wal(conn, timeout_s=5)
    assert conn.calls == 1


def _open_each(paths: list[str], barrier: Barrier, errors: multiprocessing.Queue[str]) -> None:
    for path in paths:
        barrier.wait()
        try:
            SqliteStore(path).close()
        except Exception as exc:  # reported to the test, not raised in the child
            errors.put(repr(exc))


def test_processes_opening_new_files_together_all_succeed(tmp_path: Path) -> None:
    """Two processes open each of ``ROUNDS`` new files at the same moment. Before the retry,
    2-13 of 300 such opens failed with "database is locked" here."""
    paths = [str(tmp_path / f"race-{n}.db") for n in range(ROUNDS)]
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    errors: multiprocessing.Queue[str] = context.Queue()
    processes = [context.Process(target=_open_each, args=(paths, barrier, errors))
                 for _ in range(2)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
    assert [process.exitcode for process in processes] == [0, 0]
    found = []
    while not errors.empty():
        found.append(errors.get())
    assert found == []
    for path in paths:
        conn = sqlite3.connect(path)
        try:
            assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        finally:
            conn.close()
