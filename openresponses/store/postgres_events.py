"""Background responses in PostgreSQL: the schema (one migration) and ``PostgresEvents``, the
part of ``PostgresStore`` that implements ``BackgroundStore``.

``response_events`` rows go with their response (``ON DELETE CASCADE``); ``background_jobs``
holds one row per queued or running background response; ``gateway_secrets`` holds the keys
the gateway makes for itself (never a client's key). Reaping locks the stale jobs it takes
(``FOR UPDATE SKIP LOCKED``), so two processes reaping at once fail each response once.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from openresponses.store.background import BackgroundJob, Event, failure_events
from openresponses.store.postgres_pool import Connection

EVENTS_MIGRATION: tuple[str, ...] = (
    """CREATE TABLE response_events (
        response_id text COLLATE "C" NOT NULL REFERENCES responses (id) ON DELETE CASCADE,
        seq integer NOT NULL,
        body jsonb NOT NULL,
        PRIMARY KEY (response_id, seq)
    )""",
    """CREATE TABLE background_jobs (
        response_id text PRIMARY KEY,
        owner text NOT NULL,
        runner text NOT NULL,
        heartbeat_at double precision NOT NULL
    )""",
    "CREATE INDEX background_jobs_runner ON background_jobs (runner)",
    "CREATE INDEX background_jobs_heartbeat ON background_jobs (heartbeat_at)",
    """CREATE TABLE gateway_secrets (
        name text PRIMARY KEY,
        value bytea NOT NULL
    )""",
)

_APPEND = """
INSERT INTO response_events (response_id, seq, body)
SELECT %s, * FROM unnest(%s::integer[], %s::jsonb[])
ON CONFLICT (response_id, seq) DO UPDATE SET body = excluded.body
"""
# NULL when the response is unknown for the owner; else its events past the cursor, in order.
_EVENTS = """
SELECT (SELECT COALESCE(jsonb_agg(e.body ORDER BY e.seq), '[]'::jsonb)
        FROM response_events AS e WHERE e.response_id = r.id AND e.seq > %s)
FROM responses AS r WHERE r.id = %s AND r.owner = %s
"""
_STALE = """
SELECT response_id, owner FROM background_jobs
WHERE heartbeat_at < %s OR runner = ANY(%s)
ORDER BY response_id FOR UPDATE SKIP LOCKED
"""
_SECRET = "SELECT value FROM gateway_secrets WHERE name = %s"
# Fails the response only while it is unfinished; returns it (and its last event's number)
# if it did.
_FAIL = """
UPDATE responses SET body = body || jsonb_build_object('status', 'failed', 'error', %s::jsonb)
WHERE id = %s AND owner = %s AND body ->> 'status' IN ('queued', 'in_progress')
RETURNING body, (SELECT COALESCE(MAX(seq), -1) FROM response_events
                 WHERE response_id = responses.id)
"""


# Cancels the response only while it is unfinished (a save holding the row is waited for,
# and its result is what the WHERE sees); returns the cancelled body.
_CANCEL = """
UPDATE responses SET body = body || '{"status": "cancelled"}'::jsonb
WHERE id = %(id)s AND owner = %(owner)s AND body ->> 'status' IN ('queued', 'in_progress')
RETURNING body
"""
_BODY = "SELECT body FROM responses WHERE id = %(id)s AND owner = %(owner)s"


class PostgresEvents:
    """``BackgroundStore`` on the connections of ``PostgresStore`` (which defines them)."""

    def _transaction(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def _reader(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def append_events(self, response_id: str, events: Sequence[Event]) -> None:
        if not events:
            return
        seqs = [event["sequence_number"] for event in events]
        bodies = [Jsonb(event) for event in events]
        try:
            with self._transaction() as conn:
                conn.execute(_APPEND, (response_id, seqs, bodies))
        except psycopg.errors.ForeignKeyViolation:
            raise ValueError(f"response {response_id} is not stored") from None

    def response_events(self, owner: str, response_id: str, *, after: int) -> list[Event] | None:
        with self._reader() as conn:
            row = conn.execute(_EVENTS, (after, response_id, owner)).fetchone()
        events: list[Event] | None = row[0] if row else None
        return events

    def track_job(self, job: BackgroundJob) -> None:
        with self._transaction() as conn:
            conn.execute(
                "INSERT INTO background_jobs (response_id, owner, runner, heartbeat_at) "
                "VALUES (%s, %s, %s, %s) ON CONFLICT (response_id) DO UPDATE SET "
                "owner = excluded.owner, runner = excluded.runner, "
                "heartbeat_at = excluded.heartbeat_at",
                (job.response_id, job.owner, job.runner, job.heartbeat_at),
            )

    def finish_job(self, response_id: str) -> None:
        with self._transaction() as conn:
            conn.execute("DELETE FROM background_jobs WHERE response_id = %s", (response_id,))

    def heartbeat(self, runner: str, now: float) -> None:
        with self._transaction() as conn:
            conn.execute("UPDATE background_jobs SET heartbeat_at = %s WHERE runner = %s",
                         (now, runner))

    def job_runners(self) -> list[str]:
        with self._reader() as conn:
            rows = conn.execute("SELECT DISTINCT runner FROM background_jobs").fetchall()
        return [runner for (runner,) in rows]

    def reap_jobs(self, stale_before: float, error: dict[str, Any],
                  runners: Sequence[str] = ()) -> list[str]:
        failed: list[str] = []
        with self._transaction() as conn:
            stale = conn.execute(_STALE, (stale_before, list(runners))).fetchall()
            for response_id, owner in stale:
                row = conn.execute(_FAIL, (Jsonb(error), response_id, owner)).fetchone()
                if row is not None:
                    events = failure_events(row[0], error, row[1])
                    conn.execute(_APPEND, (response_id, [e["sequence_number"] for e in events],
                                           [Jsonb(e) for e in events]))
                    failed.append(response_id)
            if stale:
                conn.execute("DELETE FROM background_jobs WHERE response_id = ANY(%s)",
                             ([response_id for response_id, _ in stale],))
        return failed

    def cancel_response(self, owner: str, response_id: str) -> dict[str, Any] | None:
        ids = {"id": response_id, "owner": owner}
        with self._transaction() as conn:  # not cancelled: read as it is now (its own snapshot)
            row = conn.execute(_CANCEL, ids).fetchone() or conn.execute(_BODY, ids).fetchone()
        if row is None:
            return None
        response: dict[str, Any] = row[0]
        return response

    def secret(self, name: str) -> bytes:
        with self._reader() as conn:
            row = conn.execute(_SECRET, (name,)).fetchone()
        if row is None:
            with self._transaction() as conn:
                conn.execute("INSERT INTO gateway_secrets (name, value) VALUES (%s, %s) "
                             "ON CONFLICT (name) DO NOTHING", (name, secrets.token_bytes(32)))
                row = conn.execute(_SECRET, (name,)).fetchone()
        assert row is not None  # inserted above unless another process did first
        return bytes(row[0])
