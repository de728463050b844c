"""Background responses in SQLite: the schema (one migration) and ``SqliteEvents``, the part of
``SqliteStore`` that implements ``BackgroundStore``.

``response_events`` rows go with their response (``ON DELETE CASCADE``); ``background_jobs``
holds one row per queued or running background response; ``gateway_secrets`` holds the keys
the gateway makes for itself (never a client's key).
"""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

import orjson

from openresponses.store.background import BackgroundJob, Event, failure_events

# Gap-tolerant (IF NOT EXISTS): correct whichever schema version ends up applying it.
EVENTS_MIGRATION: tuple[str, ...] = (
    """CREATE TABLE IF NOT EXISTS response_events (
        response_id TEXT NOT NULL REFERENCES responses (id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        body BLOB NOT NULL,
        PRIMARY KEY (response_id, seq)
    ) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS background_jobs (
        response_id TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        runner TEXT NOT NULL,
        heartbeat_at REAL NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS background_jobs_runner ON background_jobs (runner)",
    "CREATE INDEX IF NOT EXISTS background_jobs_heartbeat ON background_jobs (heartbeat_at)",
    """CREATE TABLE IF NOT EXISTS gateway_secrets (
        name TEXT PRIMARY KEY,
        value BLOB NOT NULL
    )""",
)

_EVENTS = """
SELECT e.body FROM response_events AS e JOIN responses AS r ON r.id = e.response_id
WHERE e.response_id = ? AND r.owner = ? AND e.seq > ? ORDER BY e.seq
"""
_UNFINISHED = ("queued", "in_progress")


class SqliteEvents:
    """``BackgroundStore`` on the connections of ``SqliteStore`` (which defines them)."""

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError

    def _reader(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError

    def append_events(self, response_id: str, events: Sequence[Event]) -> None:
        if not events:
            return
        with self._transaction() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO response_events (response_id, seq, body) VALUES (?, ?, ?)",
                [(response_id, e["sequence_number"], orjson.dumps(e)) for e in events],
            )

    def response_events(self, owner: str, response_id: str, *, after: int) -> list[Event] | None:
        with self._reader() as conn:
            known = conn.execute("SELECT 1 FROM responses WHERE id = ? AND owner = ?",
                                 (response_id, owner)).fetchone()
            if known is None:
                return None
            rows = conn.execute(_EVENTS, (response_id, owner, after)).fetchall()
        return [orjson.loads(body) for (body,) in rows]

    def track_job(self, job: BackgroundJob) -> None:
        with self._transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO background_jobs (response_id, owner, runner, heartbeat_at)"
                " VALUES (?, ?, ?, ?)",
                (job.response_id, job.owner, job.runner, job.heartbeat_at),
            )

    def finish_job(self, response_id: str) -> None:
        with self._transaction() as conn:
            conn.execute("DELETE FROM background_jobs WHERE response_id = ?", (response_id,))

    def heartbeat(self, runner: str, now: float) -> None:
        with self._transaction() as conn:
            conn.execute("UPDATE background_jobs SET heartbeat_at = ? WHERE runner = ?",
                         (now, runner))

    def job_runners(self) -> list[str]:
        with self._reader() as conn:
            return [r for (r,) in conn.execute("SELECT DISTINCT runner FROM background_jobs")]

    def reap_jobs(self, stale_before: float, error: dict[str, Any],
                  runners: Sequence[str] = ()) -> list[str]:
        failed: list[str] = []
        marks = ", ".join("?" * len(runners))
        with self._transaction() as conn:
            stale = conn.execute(
                "SELECT response_id, owner FROM background_jobs WHERE heartbeat_at < ?"
                + (f" OR runner IN ({marks})" if runners else ""),
                (stale_before, *runners),
            ).fetchall()
            for response_id, owner in stale:
                if _fail(conn, response_id, owner, error):
                    failed.append(response_id)
                conn.execute("DELETE FROM background_jobs WHERE response_id = ?", (response_id,))
        return failed

    def cancel_response(self, owner: str, response_id: str) -> dict[str, Any] | None:
        with self._transaction() as conn:
            row = conn.execute("SELECT body FROM responses WHERE id = ? AND owner = ?",
                               (response_id, owner)).fetchone()
            if row is None:
                return None
            response: dict[str, Any] = orjson.loads(row[0])
            if response.get("status") in _UNFINISHED:
                response["status"] = "cancelled"
                conn.execute("UPDATE responses SET body = ? WHERE id = ?",
                             (orjson.dumps(response), response_id))
        return response

    def secret(self, name: str) -> bytes:
        with self._reader() as conn:
            row = conn.execute("SELECT value FROM gateway_secrets WHERE name = ?",
                               (name,)).fetchone()
        if row is None:
            with self._transaction() as conn:
                conn.execute("INSERT OR IGNORE INTO gateway_secrets (name, value) VALUES (?, ?)",
                             (name, secrets.token_bytes(32)))
                row = conn.execute("SELECT value FROM gateway_secrets WHERE name = ?",
                                   (name,)).fetchone()
        return bytes(row[0])


def _fail(conn: sqlite3.Connection, response_id: str, owner: str, error: dict[str, Any]) -> bool:
    """Mark the stored response failed if it is still unfinished; whether it was."""
    row = conn.execute("SELECT body FROM responses WHERE id = ? AND owner = ?",
                       (response_id, owner)).fetchone()
    if row is None:
        return False
    response = orjson.loads(row[0])
    if response.get("status") not in _UNFINISHED:
        return False
    response.update(status="failed", error=error)
    conn.execute("UPDATE responses SET body = ? WHERE id = ?",
                 (orjson.dumps(response), response_id))
    (last,) = conn.execute("SELECT COALESCE(MAX(seq), -1) FROM response_events "
                           "WHERE response_id = ?", (response_id,)).fetchone()
    conn.executemany(
        "INSERT INTO response_events (response_id, seq, body) VALUES (?, ?, ?)",
        [(response_id, e["sequence_number"], orjson.dumps(e))
         for e in failure_events(response, error, last)])
    return True
