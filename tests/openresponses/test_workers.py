"""The ``--workers`` parent on stand-in worker commands: it restarts workers that exit, gives up
(status 1) when they keep failing at start, forwards a stop and waits for every worker. Also the
settings that choose the number of workers. (tests/e2e/test_workers.py runs real gateways.)"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path

import pytest
import trio

from openresponses.__main__ import main
from openresponses.config import load_config
from openresponses.observability.logs import JsonFormatter
from openresponses.workers import Parent, listening_socket
from tests.e2e.live import until


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


async def test_workers_that_keep_failing_at_start_stop_the_gateway_with_status_1(
    caplog: pytest.LogCaptureFixture,
) -> None:
    parent = Parent(python("raise SystemExit(3)"), (), 2, max_fast_exits=2)
    with trio.fail_after(20):
        assert await parent.run() == 1
    assert any("exited at start 2 times in a row" in r.getMessage() for r in caplog.records)


async def test_a_worker_that_exits_is_started_again(tmp_path: Path) -> None:
    starts = tmp_path / "starts"
    parent = Parent(python(f"open({str(starts)!r}, 'a').write('.')"), (), 1,
                    max_fast_exits=1000)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(parent.run)
        with trio.fail_after(20):
            await until(lambda: starts.exists() and len(starts.read_text()) >= 3)
        parent.stop()
    assert parent.processes == {}


async def test_stop_signals_every_worker_and_waits_for_them(tmp_path: Path) -> None:
    drained = tmp_path / "drained"
    worker = python(  # drains for 0.3 s on SIGTERM, then exits 0
        "import signal, sys, time\n"
        "def drain(*_):\n"
        f"    time.sleep(0.3); open({str(drained)!r}, 'a').write('.'); sys.exit(0)\n"
        "signal.signal(signal.SIGTERM, drain)\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)\n")
    parent = Parent(worker, (), 3)
    outcome: list[int] = []

    async def run() -> None:
        outcome.append(await parent.run())

    async with trio.open_nursery() as nursery:
        nursery.start_soon(run)
        with trio.fail_after(20):
            await until(lambda: len(parent.processes) == 3)
        await trio.sleep(1.0)  # the stand-ins install their handler
        parent.stop()
    assert outcome == [0]
    assert drained.read_text() == "..."  # each drained before the parent returned


def test_workers_come_from_the_cli_env_or_file(tmp_path: Path) -> None:
    assert load_config(env={}, path=None).workers == 1
    assert load_config(env={"OPENRESPONSES_WORKERS": "4"}, path=None).workers == 4
    toml = tmp_path / "gateway.toml"
    toml.write_text('[server]\nworkers = 3\nrate_limit_on_error = "deny"\n'
                    'redis_url = "redis://cache:6379/1"\nredis_prefix = "gw:"\n')
    config = load_config(env={}, path=toml)
    assert (config.workers, config.rate_limit_on_error) == (3, "deny")
    assert (config.redis_url, config.redis_key_prefix) == ("redis://cache:6379/1", "gw:")
    with pytest.raises(ValueError, match="OPENRESPONSES_WORKERS"):
        load_config(env={"OPENRESPONSES_WORKERS": "0"}, path=None)
    with pytest.raises(SystemExit) as bad:
        main(["serve", "--workers", "0"])
    assert bad.value.code == 2


def test_the_listening_socket_is_bound_once_for_all_workers() -> None:
    with listening_socket("127.0.0.1", 0) as sock:
        port = sock.getsockname()[1]
        with pytest.raises(OSError, match="in use"), listening_socket("127.0.0.1", port):
            pass  # "address in use" at start, as with one process


def test_every_log_line_names_the_process_that_wrote_it() -> None:
    record = logging.LogRecord("openresponses", logging.INFO, __file__, 1, "hello", None, None)
    assert json.loads(JsonFormatter().format(record))["pid"] == os.getpid()
