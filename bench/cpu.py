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

Targets: ``ours``, ``floor``, ``ours-wN`` (``serve --workers N`` on both cores: the CPU of
the parent and every worker summed; under ``--callgrind`` valgrind follows the children and
each process's instructions are summed), and diagnosis variants: a suffix ``@0`` or ``@01``
names the cores the gateway runs on (``ours-w2@0``: both workers on the server's core, none
sharing one with the driver and the upstream; ``ours@01``: one worker sharing both), and
``ours-mp`` is one process with prometheus-client's multiprocess mode on (what ``--workers``
turns on in each worker). All the
targets are started first and the rounds alternate between them (round 1 of every target, then
round 2...), so a change in the machine's load falls on all of them alike; each row carries
the load average over its rounds.

Every answer is checked (status 200, a proper ending), as the probe does.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import attrs
import httpx2
import orjson
import trio

from bench import measure, probe, targets
from bench.growth import growth
from bench.run import log, prepare_process
from bench.scenarios import Scenario
from bench.targets import Server

_VALGRIND = ["valgrind", "--tool=callgrind", "--instr-atstart=no"]


async def drive(server: Server, scenario: Scenario, requests: int, concurrency: int) -> int:
    """Send ``requests`` requests, ``concurrency`` at a time; returns how many failed."""
    request = scenario.request("ours" if server.name.startswith("ours") else server.name)
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
    for dump in out_dir.glob(f"callgrind.out.{pid}.*"):  # "<pid>.<n>", "<pid>.<n>-<thread>"
        if keep is not None:
            keep.mkdir(parents=True, exist_ok=True)
            shutil.copy(dump, keep / dump.name)
        match = re.search(r"^(?:summary|totals): (\d+)", dump.read_text(errors="replace"),
                          re.MULTILINE)
        total += int(match.group(1)) if match else 0
    return total


def _row(server: Server, scenario: Scenario, args: argparse.Namespace) -> dict[str, Any]:
    return {"target": server.name, "scenario": scenario.name, "requests": args.requests,
            "concurrency": args.concurrency, "errors": 0}


class CallgrindMeter:
    """Instructions a server executes under callgrind between ``start`` and ``stop`` (or
    ``counts``), summed over its processes (the ``--workers`` parent and its workers): the
    meter of ``bench.growth`` (``--growth --callgrind``) and of ``count_instructions``."""

    unit = "minstr"

    def __init__(self, out_dir: Path, keep: Path | None) -> None:
        self.out_dir = out_dir
        self.keep = keep
        self._pids: list[int] = []

    def start(self, server: Server) -> None:
        self._pids = server.pids()
        for pid in self._pids:
            _callgrind(pid, "--instr=on")
            _callgrind(pid, "--zero")

    def counts(self) -> dict[int, int]:
        """Instructions per process since ``start``; counting is switched off again."""
        found = {pid: _instructions(self.out_dir, pid, self.keep) for pid in self._pids}
        for pid in self._pids:
            _callgrind(pid, "--instr=off")
        return found

    def stop(self, server: Server, reps: int) -> float:
        """Millions of instructions per request since ``start``."""
        return round(sum(self.counts().values()) / reps / 1e6, 3)


def count_instructions(server: Server, scenario: Scenario, args: argparse.Namespace,
                       out_dir: Path) -> dict[str, Any]:
    """One (target, mode) point under callgrind: warm up, then instructions per request,
    summed over the server's processes."""
    row = _row(server, scenario, args)
    row["errors"] = trio.run(drive, server, scenario, args.warmup, args.concurrency)
    meter = CallgrindMeter(out_dir, args.keep_callgrind)
    meter.start(server)
    row["errors"] += trio.run(drive, server, scenario, args.requests, args.concurrency)
    per_pid = meter.counts()
    row["minstr_per_req"] = round(sum(per_pid.values()) / args.requests / 1e6, 3)
    if len(per_pid) > 1:
        row["minstr_per_req_by_pid"] = {
            str(pid): round(n / args.requests / 1e6, 3) for pid, n in per_pid.items()}
    return row


_TICK = os.sysconf("SC_CLK_TCK")


def _counters(pid: int) -> tuple[float, float, int, int]:
    """(user s, system s: all threads; voluntary, involuntary context switches: the main
    thread, the event loop's) of ``pid``; zeros for a process gone meanwhile."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        switches = [0, 0]
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                    switches[line.startswith("non")] = int(line.split()[1])
    except (OSError, IndexError, ValueError):
        return 0.0, 0.0, 0, 0
    return int(fields[11]) / _TICK, int(fields[12]) / _TICK, switches[0], switches[1]


def _append(row: dict[str, Any], key: str, value: float) -> None:
    row.setdefault(key, []).append(round(value, 3))


def cpu_round(server: Server, scenario: Scenario, args: argparse.Namespace,
              row: dict[str, Any]) -> None:
    """One process-CPU round of ``row``'s point: ``args.requests`` requests; appended to the
    row's lists: the CPU of the server's whole process tree per request (``cpu_ms_rounds``),
    its system part, the ``--workers`` parent's own share, the event loops' context switches
    per request and the load average at the round's start."""
    pids = server.pids()
    before = [_counters(pid) for pid in pids]
    load = os.getloadavg()[0]
    row["errors"] += trio.run(drive, server, scenario, args.requests, args.concurrency)
    _account(row, pids, before, args.requests)
    _append(row, "load_avg", load)


def _account(row: dict[str, Any], pids: list[int], before: list[tuple[float, float, int, int]],
             requests: int) -> None:
    """Append what the processes spent since ``before``, per request, to the row."""
    spent = [[now - then for now, then in zip(_counters(pid), was, strict=True)]
             for pid, was in zip(pids, before, strict=True)]
    per_req = [sum(column) / requests for column in zip(*spent, strict=True)]
    _append(row, "cpu_ms_rounds", (per_req[0] + per_req[1]) * 1000)
    _append(row, "sys_ms_rounds", per_req[1] * 1000)
    _append(row, "ctx_switches_per_req", per_req[2] + per_req[3])
    if len(pids) > 1:
        _append(row, "parent_ms_rounds", (spent[0][0] + spent[0][1]) * 1000 / requests)
    row["cpu_ms_per_req"] = statistics.median(row["cpu_ms_rounds"])


def wrk_round(server: Server, upstream: Server, scenario: Scenario, args: argparse.Namespace,
              row: dict[str, Any]) -> None:
    """One round under wrk (``--wrk SECONDS``): the server saturated as in ``just bench``
    (already warm); appended to the row as ``cpu_round`` does, plus the requests/s."""
    load, pids = os.getloadavg()[0], server.pids()
    if server.name.startswith("ours"):  # what it is sent: the gateway's request
        server = attrs.evolve(server, name="ours")
    before = [_counters(pid) for pid in pids]
    point = measure.measure(server, upstream, scenario, args.concurrency,
                            measure.Plan(seconds=args.wrk, warmup=0.0, rounds=1, ramp=0.0),
                            args.workdir)
    _account(row, pids, before, max(point["requests"], 1))
    row["errors"] += point["errors"]
    _append(row, "rps_rounds", point["rps"])
    _append(row, "load_avg", load)


def measure_cpu(servers: list[Server], upstream: Server, scenario: Scenario,
                args: argparse.Namespace) -> list[dict[str, Any]]:
    """One mode, every target: warm each up, then ``args.rounds`` rounds taken in turn
    (target 1, target 2, ..., then again), so slow drifts of the machine's load hit all."""
    rows = [_row(server, scenario, args) for server in servers]
    for server, row in zip(servers, rows, strict=True):
        row["errors"] += trio.run(drive, server, scenario, args.warmup, args.concurrency)
    for _ in range(args.rounds):
        for server, row in zip(servers, rows, strict=True):
            if args.wrk:
                wrk_round(server, upstream, scenario, args, row)
            else:
                cpu_round(server, scenario, args, row)
            log(f"  {server.name}: {row['cpu_ms_rounds'][-1]} ms (load {row['load_avg'][-1]})")
    return rows


def starter(name: str, wrap: list[str]) -> Callable[[Path, Server], Server]:
    if name == "floor":
        return lambda workdir, upstream: targets.start_floor(workdir, upstream, wrap=wrap)
    if name == "ours-mp":
        return lambda workdir, upstream: _ours_multiprocess_metrics(workdir, upstream, wrap)
    match = re.fullmatch(r"ours(?:-w(\d+))?(?:@([01]+))?", name)
    workers = int(match.group(1) or 1) if match else 0
    if not match or match.group(1) == "1":
        raise SystemExit(f"cpu: unknown target {name!r} "
                         "(ours, ours-wN, ours-mp, floor; ours@01, ours-wN@0: cores)")
    cores = {int(core) for core in match.group(2)} if match.group(2) else None
    if workers > 1 and wrap:
        wrap = [wrap[0], "--trace-children=yes", *wrap[1:]]
    return lambda workdir, upstream: targets.start_ours(
        workdir, upstream, wrap=wrap, workers=workers, name=name, cores=cores)


def _ours_multiprocess_metrics(workdir: Path, upstream: Server, wrap: list[str]) -> Server:
    """One gateway process with prometheus-client's multiprocess mode on (diagnosis)."""
    directory = workdir / "metrics"
    directory.mkdir(parents=True)
    return targets.start_ours(workdir, upstream, wrap=wrap, name="ours-mp",
                              extra_env={"PROMETHEUS_MULTIPROC_DIR": str(directory)})


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench cpu", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--targets", default="ours,floor")
    p.add_argument("--scenario", default="responses-chat",
                   choices=("responses-chat", "responses-anthropic", "chat"))
    p.add_argument("--streams", choices=("both", "stream", "non-stream"), default="both")
    p.add_argument("--requests", type=int, default=None,
                   help="measured requests per round (default 2000; 300 with --callgrind)")
    p.add_argument("--warmup", type=int, default=None,
                   help="requests before counting (default 200; 2 with --per-chunk)")
    p.add_argument("--concurrency", type=int, default=None,
                   help="requests at once (default 32; 1 with --per-chunk)")
    p.add_argument("--rounds", type=int, default=3, help="process-CPU rounds (median)")
    p.add_argument("--callgrind", action="store_true", help="count instructions instead")
    p.add_argument("--wrk", type=float, default=0.0, metavar="SECONDS",
                   help="load each round with wrk for SECONDS instead of --requests from the "
                        "Python driver (the server saturated, as in `just bench`)")
    p.add_argument("--keep-callgrind", type=Path, default=None, metavar="DIR",
                   help="copy each point's callgrind dump into DIR (for callgrind_annotate)")
    p.add_argument("--no-store", action="store_true",
                   help="send store: false (diagnosis: what storing costs)")
    p.add_argument("--growth", action="store_true",
                   help="instead: the growth points (chain depth, input size; bench.growth)")
    p.add_argument("--per-chunk", action="store_true",
                   help="instead: instructions per streamed chunk, one chunk per upstream read "
                        "(bench.per_chunk; needs --callgrind)")
    p.add_argument("--calls", action="store_true",
                   help="--per-chunk: count each function's calls per chunk under cProfile "
                        "instead of instructions (bench.chunk_calls)")
    p.add_argument("--chunk-delay", type=int, default=100, metavar="MS",
                   help="--per-chunk: milliseconds between the upstream's chunks")
    p.add_argument("--growth-reps", type=int, default=None,
                   help="requests per growth point (default 100; 20 with --callgrind)")
    return p


def run_growth(args: argparse.Namespace) -> int:
    """The growth table alone (one request at a time), ours against the floor: process CPU,
    or with ``--callgrind`` instructions (fewer reps: ~50x slower)."""
    prepare_process()
    workdir = Path(tempfile.mkdtemp(prefix="openresponses-growth-"))
    wrap = [*_VALGRIND, f"--callgrind-out-file={workdir}/callgrind.out.%p"] \
        if args.callgrind else []
    meter = CallgrindMeter(workdir, args.keep_callgrind) if args.callgrind else None
    reps = args.growth_reps or (20 if args.callgrind else 100)
    upstream = targets.start_upstream(workdir)
    try:
        ours = targets.start_ours(workdir / "ours", upstream, wrap=wrap)
        floor = targets.start_floor(workdir / "floor", upstream, wrap=wrap)
        try:
            result = growth(ours, floor, upstream, reps=reps, big_reps=max(3, reps // 5),
                            meter=meter)
        finally:
            ours.stop(grace=120 if wrap else 10)
            floor.stop(grace=120 if wrap else 10)
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
    if args.per_chunk:
        args.requests = args.requests or 6
        args.warmup = 2 if args.warmup is None else args.warmup
        args.concurrency = args.concurrency or 1
        if args.calls:
            from bench import chunk_calls  # it builds on this module
            return chunk_calls.run_chunk_calls(args)
        from bench import per_chunk  # it builds on this module
        return per_chunk.run_per_chunk(args, _VALGRIND if args.callgrind else [])
    if args.requests is None:
        args.requests = 300 if args.callgrind else 2000
    args.warmup = 200 if args.warmup is None else args.warmup
    args.concurrency = args.concurrency or 32
    prepare_process()
    modes = {"both": (False, True), "stream": (True,), "non-stream": (False,)}[args.streams]
    workdir = Path(tempfile.mkdtemp(prefix="openresponses-cpu-"))
    wrap = [*_VALGRIND, f"--callgrind-out-file={workdir}/callgrind.out.%p"] \
        if args.callgrind else []
    args.workdir = workdir
    upstream = targets.start_upstream(workdir)
    servers: list[Server] = []
    rows: list[dict[str, Any]] = []
    try:
        for name in args.targets.split(","):
            log(f"starting {name}" + (" under callgrind" if wrap else ""))
            servers.append(starter(name, wrap)(workdir / name, upstream))
        for stream in modes:
            scenario = Scenario(args.scenario, stream, store=not args.no_store)
            if args.callgrind:
                found = [count_instructions(s, scenario, args, workdir) for s in servers]
            else:
                found = measure_cpu(servers, upstream, scenario, args)
            for row in found:
                log(f"  {row}")
            rows += found
    finally:
        for server in servers:
            server.stop(grace=120 if wrap else 10)
        upstream.stop()
    print(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode())
    return 1 if any(r["errors"] for r in rows) else 0
