"""``python -m bench cpu --per-chunk --callgrind``: what one more streamed chunk costs when the
chunks come one per upstream read, as a model's tokens do.

The stream scenarios of ``just bench`` get their 20 chunks from the fake upstream all at once:
one socket read carries them, and the gateway sends what it built from them in one write. A
real model sends a chunk every few tens of milliseconds, so each chunk is one read, one pass
through the translation and one write of its own; that per-chunk cost is what thousands of
open streams pay (the soak). Here each target streams ``--chunk-delay`` ms apart (the fake
upstream's ``d`` knob) twice, with 20 and with 60 chunks, at ``--concurrency`` (default 1, so
that no two chunks share a read or a scheduler round); the difference of the instructions
per request over the 40 extra chunks is the cost of one chunk, the request's own cost
cancelling out.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

import orjson

from bench import cpu, targets
from bench.run import log, prepare_process
from bench.scenarios import Scenario

SHORT, LONG = 20, 60  # chunks per stream: the two points the per-chunk cost is taken between


def per_chunk_rows(args: argparse.Namespace, wrap: list[str], workdir: Path
                   ) -> list[dict[str, Any]]:
    """One row per target (``bench cpu``'s targets): instructions per request at ``SHORT`` and
    ``LONG`` chunks, and per chunk."""
    upstream = targets.start_upstream(workdir)
    rows: list[dict[str, Any]] = []
    try:
        for name in args.targets.split(","):
            log(f"starting {name} under callgrind")
            server = cpu.starter(name, wrap)(workdir / name, upstream)
            try:
                rows.append(_row(server, args, workdir))
            finally:
                server.stop(grace=120)
            log(f"  {rows[-1]}")
    finally:
        upstream.stop()
    return rows


def _row(server: targets.Server, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    per_request: dict[int, float] = {}
    errors = 0
    for chunks in (SHORT, LONG):
        model = f"fake-c{chunks}-d{args.chunk_delay}"
        found = cpu.count_instructions(server, Scenario(args.scenario, True, model=model),
                                       args, workdir)
        per_request[chunks] = found["minstr_per_req"]
        errors += found["errors"]
    extra = per_request[LONG] - per_request[SHORT]
    return {"target": server.name, "scenario": f"{args.scenario} stream",
            "chunk_delay_ms": args.chunk_delay, "concurrency": args.concurrency,
            "requests": args.requests, "errors": errors,
            "minstr_per_req": {str(k): v for k, v in per_request.items()},
            "kinstr_per_chunk": round(extra / (LONG - SHORT) * 1000, 1)}


def run_per_chunk(args: argparse.Namespace, wrap: list[str]) -> int:
    """The per-chunk table (see the module docstring); needs ``--callgrind``."""
    if not wrap:
        raise SystemExit("cpu --per-chunk needs --callgrind (process CPU cannot see one chunk)")
    prepare_process()
    workdir = Path(tempfile.mkdtemp(prefix="openresponses-per-chunk-"))
    rows = per_chunk_rows(args, [*wrap, f"--callgrind-out-file={workdir}/callgrind.out.%p"],
                          workdir)
    print(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode())
    return 1 if any(row["errors"] for row in rows) else 0
