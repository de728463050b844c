"""``python -m bench cpu --per-chunk --calls``: the functions one streamed chunk calls.

Each target (``ours``, ``floor``: one process each) runs under cProfile
(``bench.cprofile_run``) twice, streaming 20 and then 60 chunks ``--chunk-delay`` ms apart,
``--concurrency`` at a time (default 1); the difference of each function's call count,
divided by the 40 extra chunks and the requests (warm-up included: both runs have the same),
is what one chunk calls. cProfile counts every resumption of a generator or a coroutine as a
call, so a frame that waits once per chunk counts 1 per chunk. The gateway's own counts
are exact; the scheduler's move with timing (the total by ~5 % between runs: 583 and 609 for
``ours``). The profiler makes the servers slower. On this stack a chunk's instructions follow
its calls (about 1.1-1.4 k instructions each against ``--per-chunk --callgrind``), which makes
this the map of where they go (bench/results/2026-12-08-chunk.md). With two targets, also
the functions the first calls more often per chunk than the second, most first.
"""

from __future__ import annotations

import argparse
import pstats
import re
import tempfile
from pathlib import Path
from typing import Any

import orjson
import trio

from bench import cpu, targets
from bench.per_chunk import LONG, SHORT
from bench.run import log, prepare_process
from bench.scenarios import Scenario

TOP = 40  # functions listed per target and in the difference
_ADDRESS = re.compile(r" at 0x[0-9a-f]+")


def label(key: tuple[str, int, str]) -> str:
    """``file:line function``, the file relative to site-packages or the repository."""
    path, line, function = key
    if path == "~":  # a builtin: its type's address differs between processes
        return _ADDRESS.sub("", function)
    path = path.split("site-packages/")[-1].removeprefix(str(targets.REPO) + "/")
    return f"{path}:{line} {function}"


def calls_per_chunk(short: dict[str, int], long: dict[str, int], requests: int
                    ) -> dict[str, float]:
    """Per function, the calls one chunk adds: (long - short) / extra chunks / requests;
    functions under 0.05 a chunk left out."""
    per = (LONG - SHORT) * requests
    found = {name: round((long.get(name, 0) - short.get(name, 0)) / per, 2)
             for name in long.keys() | short.keys()}
    return {name: calls for name, calls in found.items() if abs(calls) >= 0.05}


def _counts(name: str, chunks: int, upstream: targets.Server, args: argparse.Namespace,
            workdir: Path) -> tuple[dict[str, int], int]:
    out = workdir / f"{name}-{chunks}.prof"
    wrap = [targets.PY, "-m", "bench.cprofile_run", str(out)]
    server = cpu.starter(name, wrap)(workdir / f"{name}-{chunks}", upstream)
    scenario = Scenario(args.scenario, True, model=f"fake-c{chunks}-d{args.chunk_delay}")
    try:
        errors = trio.run(cpu.drive, server, scenario, args.warmup + args.requests,
                          args.concurrency)
    finally:
        server.stop(grace=60)
    stats: dict[Any, Any] = pstats.Stats(str(out)).stats  # type: ignore[attr-defined]
    counts: dict[str, int] = {}
    for key, (_, calls, *_rest) in stats.items():
        function = label(key)  # two builtins may differ only by the address it drops
        counts[function] = counts.get(function, 0) + calls
    return counts, errors


def _top(calls: dict[str, float]) -> list[list[Any]]:
    ranked = sorted(calls.items(), key=lambda item: item[1], reverse=True)
    return [[name, value] for name, value in ranked[:TOP]]


def run_chunk_calls(args: argparse.Namespace) -> int:
    """The per-chunk call table (see the module docstring), as JSON; 1 if a request failed."""
    names = args.targets.split(",")
    if any(name not in ("ours", "floor") for name in names):
        raise SystemExit("cpu --per-chunk --calls: targets ours and floor only (one process)")
    prepare_process()
    workdir = Path(tempfile.mkdtemp(prefix="openresponses-chunk-calls-"))
    upstream = targets.start_upstream(workdir)
    found: dict[str, dict[str, float]] = {}
    errors = 0
    try:
        for name in names:
            log(f"profiling {name}")
            short, failed_short = _counts(name, SHORT, upstream, args, workdir)
            long, failed_long = _counts(name, LONG, upstream, args, workdir)
            errors += failed_short + failed_long
            found[name] = calls_per_chunk(short, long, args.warmup + args.requests)
    finally:
        upstream.stop()
    report: dict[str, Any] = {
        name: {"calls_per_chunk": round(sum(calls.values()), 1), "top": _top(calls)}
        for name, calls in found.items()}
    if len(names) == 2:
        first, second = (found[name] for name in names)
        more = {key: round(first.get(key, 0) - second.get(key, 0), 2)
                for key in first.keys() | second.keys()}
        report[f"{names[0]} - {names[1]}"] = _top(more)
    report["errors"] = errors
    print(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode())
    return 1 if errors else 0
