"""Gateways run as real processes (``python -m openresponses serve ...``) for the tests of
``--workers`` and of several gateways sharing a store: start, wait until ready, read their JSON
log lines, stop."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import attrs
import httpx2
import trio

from tests.e2e.live import closed_port, until
from tests.log_capture import CAPTURE

REPO = Path(__file__).resolve().parents[2]


@attrs.define
class GatewayProcess:
    """A gateway process; its stderr (JSON log lines) is collected as it comes."""

    process: trio.Process
    root: str
    lines: list[str] = attrs.Factory(list)

    def records(self) -> list[dict[str, Any]]:
        """The JSON log records so far. Lines that are not JSON objects are skipped: the
        workers share one stderr, and what a library prints before logging is configured (or
        a line torn by another process's write) is not a record."""
        return [record for record in map(_parse, list(self.lines)) if record is not None]

    def access(self, path_prefix: str) -> list[dict[str, Any]]:
        """The access lines of requests whose path starts with ``path_prefix``."""
        return [r for r in self.records() if r.get("logger") == "openresponses.access"
                and str(r.get("path", "")).startswith(path_prefix)]

    def answered_by(self, request_id: str) -> int | None:
        """The pid of the worker whose access line carries ``request_id`` (None: not yet)."""
        return next((r["pid"] for r in self.records() if r.get("logger") == "openresponses.access"
                     and r.get("request_id") == request_id), None)

    def worker_pids(self) -> list[int]:
        """The pids of the workers that said they were serving, in order."""
        return [r["worker_pid"] for r in self.records()
                if r.get("logger") == "openresponses.workers" and "worker_pid" in r
                and "serving" in r["message"]]


def _parse(line: str) -> dict[str, Any] | None:
    try:
        record = json.loads(line)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


def base_env(extra: dict[str, str]) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(REPO), **extra}


@asynccontextmanager
async def gateway_process(
    env: dict[str, str], cwd: Path, args: Sequence[str] = (), *, ready_workers: int = 0
) -> AsyncIterator[GatewayProcess]:
    """``openresponses serve`` on a free loopback port with ``env`` (plus PATH and PYTHONPATH),
    ready (``/ready`` answers 200, and ``ready_workers`` workers said they serve). At exit it is
    killed if still running; its lines join the session's log capture. Its temporary files
    (the ``--workers`` metrics directory) go in ``cwd``, so a killed parent leaves none behind."""
    port = closed_port()
    process = await trio.lowlevel.open_process(
        [sys.executable, "-m", "openresponses", "serve", "--host", "127.0.0.1", "--port",
         str(port), *args], env=base_env({"TMPDIR": str(cwd), **env}), cwd=cwd,
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    gateway = GatewayProcess(process, f"http://127.0.0.1:{port}")
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(collect_lines, process, gateway.lines)
            await wait_ready(gateway, ready_workers)
            yield gateway
            nursery.cancel_scope.cancel()
    finally:
        with trio.CancelScope(shield=True):
            if process.returncode is None:
                process.kill()
                await process.wait()
            for pid in gateway.worker_pids():
                kill_quietly(pid)
        CAPTURE.extend(gateway.lines)


async def collect_lines(process: trio.Process, lines: list[str]) -> None:
    assert process.stderr is not None
    buffer = b""
    async for chunk in process.stderr:
        buffer += chunk
        *complete, buffer = buffer.split(b"\n")
        lines += [line.decode() for line in complete if line]
    if buffer:
        lines.append(buffer.decode())


async def wait_ready(gateway: GatewayProcess, workers: int = 0) -> None:
    async with httpx2.AsyncClient(timeout=2) as http:
        with trio.fail_after(30):
            while True:
                assert gateway.process.returncode is None, "\n".join(gateway.lines)
                try:
                    ready = (await http.get(f"{gateway.root}/ready")).status_code == 200
                except httpx2.HTTPError:
                    ready = False
                if ready and len(gateway.worker_pids()) >= workers:
                    return
                await trio.sleep(0.05)


def alive(pid: int) -> bool:
    """Whether ``pid`` names a running process (a zombie is not running)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def environment(pid: int) -> dict[str, str]:
    """The environment process ``pid`` was started with."""
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    return dict(entry.decode().partition("=")[::2] for entry in raw.split(b"\0") if entry)


def kill_quietly(pid: int) -> None:
    """SIGKILL a worker left behind (checked by its command line: a pid may be reused)."""
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        if b"--listen-fd" in command and alive(pid):
            os.kill(pid, signal.SIGKILL)
    except OSError:
        pass


async def until_gone(pids: Sequence[int], seconds: float = 15) -> None:
    with trio.fail_after(seconds):
        await until(lambda: not any(alive(pid) for pid in pids))
