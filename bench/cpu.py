"""``python -m bench cpu``: the server's CPU per request, robust to a busy machine.

Requests/s moves with whatever else runs on the machine; the server's own CPU per request moves
much less. For each target (``ours``, ``floor``) and mode (non-stream, stream), a fixed number
of requests is sent at a fixed concurrency by a trio + httpx2 driver on the driver core, after
a warm-up, and the server is charged either

- its process CPU time (user + system of all its threads, from /proc) divided by the requests,
  the median of ``--rounds`` rounds; or, with ``--callgrind``,
- the instructions it executed (valgrind's callgrind, counting switched on after the warm-up
  with ``callgrind_control``), divided by the requests: deterministic to a few per cent, so a
  before/after comparison needs no quiet machine (the server runs ~50x slower under valgrind:
  keep ``--requests`` in the hundreds).

Every answer is checked (status 200, a proper ending), as the probe does.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import httpx2
import orjson
import trio

from bench import probe, procstat, targets
from bench.growth import growth
from bench.run import log, prepare_process
from bench.scenarios import Scenario
from bench.targets import Server

_VALGRIND = ["valgrind", "--tool=callgrind", "--instr-atstart=no"]


async def drive(server: Server, scenario: Scenario, requests: int, concurrency: int) -> int:
    """Send ``requests`` requests, ``concurrency`` at a time; returns how many failed."""
    request = scenario.request(server.name)
    body = orjson.dumps(request.body)
    headers = {"content-type": "application/json", "authorization": f"Bearer {server.bearer}"}
    stats = probe.ProbeStats()
    left = [requests]
    limits = httpx2.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx2.AsyncClient(timeout=600, limits=limits) as client:

        async def worker() -> None:
            while left[0] > 0:
                left[0] -= 1
                await probe.one(client, server.url + request.path, body, headers,
                                scenario.stream, stats)

        async with trio.open_nursery() as nursery:
            for _ in range(concurrency):
                nursery.start_soon(worker)
    if stats.errors:
        log(f"  {stats.errors} failed, first: {stats.first_error}")
    return stats.errors


def _callgrind(pid: int, *args: str) -> str:
    done = subprocess.run(["callgrind_control", *args, str(pid)], capture_output=True,
                          text=True, timeout=600, check=True)
    return done.stdout


def _instructions(out_dir: Path, pid: int, keep: Path | None) -> int:
    """Instructions counted since the last zeroing: dump, then sum the dumps' totals; the
    dumps are moved to ``keep`` (for ``callgrind_annotate``) if given."""
    for old in out_dir.glob(f"callgrind.out.{pid}.*"):
        old.unlink()
    _callgrind(pid, "--dump")
    total = 0
    for dump in out_dir.glob(f"callgrind.out.{pid}*"):
        if dump.name == f"callgrind.out.{pid}":
            continue
        if keep is not None:
            keep.mkdir(parents=True, exist_ok=True)
            shutil.copy(dump, keep / dump.name)
        match = re.search(r"^(?:summary|totals): (\d+)", dump.read_text(errors="replace"),
                          re.MULTILINE)
        total += int(match.group(1)) if match else 0
    return total


def measure(server: Server, scenario: Scenario, args: argparse.Namespace,
            out_dir: Path) -> dict[str, Any]:
    """One (target, mode) point: warm up, then CPU ms (or instructions) per request."""
    requests, conc = args.requests, args.concurrency
    errors = trio.run(drive, server, scenario, args.warmup, conc)
    row: dict[str, Any] = {"target": server.name, "scenario": scenario.name,
                           "requests": requests, "concurrency": conc}
    if args.callgrind:
        _callgrind(server.pid, "--instr=on")
        _callgrind(server.pid, "--zero")
        errors += trio.run(drive, server, scenario, requests, conc)
        total = _instructions(out_dir, server.pid, args.keep_callgrind)
        row["minstr_per_req"] = round(total / requests / 1e6, 3)
        _callgrind(server.pid, "--instr=off")
    else:
        samples = []
        for _ in range(args.rounds):
            pids = server.pids()
            cpu0 = procstat.cpu_seconds(pids)
            errors += trio.run(drive, server, scenario, requests, conc)
            samples.append((procstat.cpu_seconds(pids) - cpu0) * 1000 / requests)
        row["cpu_ms_per_req"] = round(statistics.median(samples), 3)
        row["cpu_ms_rounds"] = [round(s, 3) for s in samples]
    row["errors"] = errors
    return row


def _starter(name: str, wrap: list[str]) -> Callable[[Path, Server], Server]:
    if name == "ours":
        return lambda workdir, upstream: targets.start_ours(workdir, upstream, wrap=wrap)
    if name == "floor":
        return lambda workdir, upstream: targets.start_floor(workdir, upstream, wrap=wrap)
    raise SystemExit(f"cpu: unknown target {name!r} (ours, floor)")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench cpu", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--targets", default="ours,floor")
    p.add_argument("--scenario", default="responses-chat",
                   choices=("responses-chat", "responses-anthropic", "chat"))
    p.add_argument("--streams", choices=("both", "stream", "non-stream"), default="both")
    p.add_argument("--requests", type=int, default=None,
                   help="measured requests per round (default 2000; 300 with --callgrind)")
    p.add_argument("--warmup", type=int, default=200)
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--rounds", type=int, default=3, help="process-CPU rounds (median)")
    p.add_argument("--callgrind", action="store_true", help="count instructions instead")
    p.add_argument("--keep-callgrind", type=Path, default=None, metavar="DIR",
                   help="copy each point's callgrind dump into DIR (for callgrind_annotate)")
    p.add_argument("--no-store", action="store_true",
                   help="send store: false (diagnosis: what storing costs)")
    p.add_argument("--growth", action="store_true",
                   help="instead: the growth points (chain depth, input size; bench.growth)")
    p.add_argument("--growth-reps", type=int, default=100)
    return p


def run_growth(args: argparse.Namespace) -> int:
    """The growth table alone (process CPU, one request at a time), ours against the floor."""
    prepare_process()
    workdir = Path(tempfile.mkdtemp(prefix="openresponses-growth-"))
    upstream = targets.start_upstream(workdir)
    try:
        ours = targets.start_ours(workdir / "ours", upstream)
        floor = targets.start_floor(workdir / "floor", upstream)
        try:
            result = growth(ours, floor, upstream, reps=args.growth_reps,
                            big_reps=max(5, args.growth_reps // 5))
        finally:
            ours.stop()
            floor.stop()
    finally:
        upstream.stop()
    for row in result["rows"]:
        log(f"  {row}")
    print(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())
    return 0


def main(argv: Sequence[str]) -> int:
    args = parser().parse_args(argv)
    if args.growth:
        return run_growth(args)
    if args.requests is None:
        args.requests = 300 if args.callgrind else 2000
    prepare_process()
    modes = {"both": (False, True), "stream": (True,), "non-stream": (False,)}[args.streams]
    workdir = Path(tempfile.mkdtemp(prefix="openresponses-cpu-"))
    wrap = [*_VALGRIND, f"--callgrind-out-file={workdir}/callgrind.out.%p"] \
        if args.callgrind else []
    upstream = targets.start_upstream(workdir)
    rows = []
    try:
        for name in args.targets.split(","):
            log(f"starting {name}" + (" under callgrind" if wrap else ""))
            server = _starter(name, wrap)(workdir / name, upstream)
            try:
                for stream in modes:
                    scenario = Scenario(args.scenario, stream, store=not args.no_store)
                    row = measure(server, scenario, args, workdir)
                    log(f"  {row}")
                    rows.append(row)
            finally:
                server.stop(grace=120 if wrap else 10)
    finally:
        upstream.stop()
    print(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode())
    return 1 if any(r["errors"] for r in rows) else 0
