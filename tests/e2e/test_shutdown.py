"""Graceful shutdown (drain, then fail what is left) and crash safety (kill -9, restart)."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any

import attrs
import httpx2
import trio

from openresponses.server import serve
from openresponses.store.sqlite import SqliteStore
from tests.e2e.conftest import CLIENT_KEY
from tests.e2e.live import AUTH, closed_port, faulty_config, post_stream, until
from tests.e2e.processes import collect_lines
from tests.fakes.faulty import FaultyUpstream
from tests.fakes.keys import FAULTY_PROVIDER_KEY
from tests.log_capture import CAPTURE

REPO = Path(__file__).resolve().parents[2]
OWNER = hashlib.sha256(CLIENT_KEY.encode()).hexdigest()
BODY = {"model": "faulty@m", "input": "hello"}


def read_stored(db: Path, response_id: str) -> dict[str, Any] | None:
    store = SqliteStore(str(db))
    try:
        record = store.get(OWNER, response_id)
        return None if record is None else record.response
    finally:
        store.close()


async def test_shutdown_lets_short_streams_finish_and_fails_the_rest(
    faulty: FaultyUpstream, tmp_path: Path
) -> None:
    config = faulty_config(tmp_path, faulty.url,
                           env={"OPENRESPONSES_SHUTDOWN_GRACE": "0.6"})
    faulty.queue("slow", "stall")
    outcomes: dict[str, list[dict[str, Any]]] = {}
    shutdown = trio.Event()
    async with trio.open_nursery() as nursery:
        binds = await nursery.start(partial(serve, config, host="127.0.0.1", port=0,
                                            shutdown=shutdown))
        root = binds[0]
        async with httpx2.AsyncClient(timeout=10) as http:
            created = trio.Semaphore(0)

            async def one(name: str) -> None:
                events = []
                async with http.stream("POST", f"{root}/v1/responses", headers=AUTH,
                                       json={**BODY, "stream": True}) as response:
                    async for line in response.aiter_lines():
                        if line.startswith("data: "):
                            events.append(json.loads(line[6:]))
                            if len(events) == 1:
                                created.release()
                outcomes[name] = events

            async with trio.open_nursery() as clients:
                clients.start_soon(one, "slow")
                await created.acquire()
                clients.start_soon(one, "stall")
                await created.acquire()
                started = trio.current_time()
                shutdown.set()
            elapsed = trio.current_time() - started
    assert outcomes["slow"][-1]["type"] == "response.completed"
    assert [e["type"] for e in outcomes["stall"][-2:]] == ["error", "response.failed"]
    assert outcomes["stall"][-2]["code"] == "server_shutting_down"
    assert 0.5 < elapsed < 3.0
    db = tmp_path / "gateway.db"
    for events in outcomes.values():
        final = events[-1]["response"]
        assert read_stored(db, final["id"]) == final


@attrs.define
class Gateway:
    """A ``python -m openresponses serve`` subprocess; its stderr lines are collected."""

    process: trio.Process
    root: str
    lines: list[str] = attrs.Factory(list)


@asynccontextmanager
async def subprocess_gateway(tmp_path: Path, faulty_url: str) -> AsyncIterator[Gateway]:
    """Start the gateway CLI on a free port (same store file every time); kill it at exit."""
    faulty_config(tmp_path, faulty_url)  # writes gateway.toml
    env = {
        "PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(REPO),
        "OPENRESPONSES_STORE": f"sqlite:///{tmp_path}/gateway.db",
        "OPENRESPONSES_CONFIG": str(tmp_path / "gateway.toml"),
        "OPENRESPONSES_SHUTDOWN_GRACE": "0.5", "OPENRESPONSES_UPSTREAM_RETRIES": "0",
        "FAULTY_KEY": FAULTY_PROVIDER_KEY,
    }
    port = closed_port()
    process = await trio.lowlevel.open_process(
        [sys.executable, "-m", "openresponses", "serve", "--host", "127.0.0.1",
         "--port", str(port)], env=env, cwd=tmp_path, stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    gateway = Gateway(process, f"http://127.0.0.1:{port}")
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(collect_lines, process, gateway.lines)
            await wait_healthy(gateway)
            yield gateway
            with trio.fail_after(10):
                await process.wait()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        CAPTURE.extend(gateway.lines)


async def wait_healthy(gateway: Gateway) -> None:
    async with httpx2.AsyncClient(timeout=1) as http:
        with trio.fail_after(15):
            while True:
                assert gateway.process.returncode is None, "\n".join(gateway.lines)
                try:
                    if (await http.get(f"{gateway.root}/ready")).status_code == 200:
                        return
                except httpx2.HTTPError:
                    pass
                await trio.sleep(0.05)


async def stream_until_done(http: httpx2.AsyncClient, root: str, seen: dict[str, Any]) -> None:
    """One streamed response; records ``created`` ids and ``completed`` final responses."""
    try:
        async with http.stream("POST", f"{root}/v1/responses", headers=AUTH,
                               json={**BODY, "stream": True}) as response:
            async for line in response.aiter_lines():
                if not line.startswith("data: "):
                    continue
                event = json.loads(line[6:])
                if event["type"] == "response.created":
                    seen["created"].add(event["response"]["id"])
                elif event["type"] == "response.completed":
                    seen["completed"][event["response"]["id"]] = event["response"]
    except httpx2.HTTPError:
        pass  # the gateway was killed under us


def check_database(db: Path) -> None:
    """SQLite says the file is intact and every stored body is a finished Response."""
    with sqlite3.connect(db) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        for (body,) in connection.execute("SELECT body FROM responses"):
            response = json.loads(body)
            assert response["status"] in ("completed", "failed", "incomplete")
        orphans = connection.execute(
            "SELECT count(*) FROM input_items WHERE response_id NOT IN (SELECT id FROM responses)"
        ).fetchone()
        assert orphans == (0,)


async def test_kill_9_loses_no_completed_response_and_sigterm_exits_cleanly(
    faulty: FaultyUpstream, tmp_path: Path
) -> None:
    faulty.default = "slow"
    seen: dict[str, Any] = {"created": set(), "completed": {}}
    async with subprocess_gateway(tmp_path, faulty.url) as first:
        async with httpx2.AsyncClient(timeout=10) as http, trio.open_nursery() as nursery:
            for _ in range(40):
                nursery.start_soon(stream_until_done, http, first.root, seen)
                await trio.sleep(0.01)
                if len(seen["completed"]) >= 8:
                    break
            with trio.fail_after(5):
                await until(lambda: len(seen["completed"]) >= 8)
            first.process.kill()  # SIGKILL, mid-flight
        assert first.process.returncode == -signal.SIGKILL
    unfinished = seen["created"] - set(seen["completed"])
    assert unfinished, "the kill should land while responses are in flight"
    check_database(tmp_path / "gateway.db")

    faulty.default = "stall"
    async with subprocess_gateway(tmp_path, faulty.url) as second:
        async with httpx2.AsyncClient(timeout=10) as http:
            for response_id, final in seen["completed"].items():
                got = await http.get(f"{second.root}/v1/responses/{response_id}", headers=AUTH)
                assert got.json() == final
            for response_id in unfinished:
                got = await http.get(f"{second.root}/v1/responses/{response_id}", headers=AUTH)
                assert got.status_code == 404 or got.json()["status"] in ("completed", "failed")
        events: list[dict[str, Any]] = []

        async def stalled() -> None:
            async with httpx2.AsyncClient(timeout=10) as http:  # closed once read
                outcome = await post_stream(http, second.root, BODY)
            events.extend(outcome.events)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(stalled)
            with trio.fail_after(5):
                await until(lambda: faulty.open_connections > 0)
            second.process.send_signal(signal.SIGTERM)
        with trio.fail_after(10):
            assert await second.process.wait() == 0
    assert [e["type"] for e in events[-2:]] == ["error", "response.failed"]
    final = events[-1]["response"]
    assert read_stored(tmp_path / "gateway.db", final["id"]) == final
    check_logs(first.lines + second.lines)


def check_logs(lines: list[str]) -> None:
    """Every line is a JSON object; requests have access lines; no secret appears."""
    records = [json.loads(line) for line in lines]
    access = [r for r in records if r["logger"] == "openresponses.access"]
    assert access
    assert all(r["request_id"] and "latency_ms" in r for r in access)
    assert any(r.get("key") == OWNER[:12] for r in access)
    text = "\n".join(lines)
    assert CLIENT_KEY not in text
    assert FAULTY_PROVIDER_KEY not in text
