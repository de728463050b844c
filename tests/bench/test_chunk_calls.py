"""``bench cpu --per-chunk --calls``: call counts per streamed chunk, under cProfile."""

from __future__ import annotations

import argparse
import pstats
import subprocess
import sys
from pathlib import Path

import pytest

from bench import chunk_calls, cpu, targets


def test_one_chunk_calls_the_difference_over_the_extra_chunks_and_requests() -> None:
    short = {"decode": 25, "once": 8, "rare": 8}
    long = {"decode": 345, "once": 8, "rare": 9}
    # 8 requests of 20 and of 60 chunks: 320 extra chunks in all
    assert chunk_calls.calls_per_chunk(short, long, requests=8) == {"decode": 1.0}


def test_labels_name_files_from_site_packages_or_the_repository() -> None:
    site = "/x/.venv/lib/python3.11/site-packages/trio/_core/_run.py"
    assert chunk_calls.label((site, 2712, "unrolled_run")) == "trio/_core/_run.py:2712 unrolled_run"
    ours = str(targets.REPO / "openresponses" / "render.py")
    assert chunk_calls.label((ours, 45, "_frame")) == "openresponses/render.py:45 _frame"
    builtin = "<built-in method __new__ of type object at 0x7f088bc5ea00>"
    assert chunk_calls.label(("~", 0, builtin)) == "<built-in method __new__ of type object>"


def test_calls_come_from_cpu_per_chunk_with_one_stream_at_a_time(
        monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[argparse.Namespace] = []

    def run(args: argparse.Namespace) -> int:
        seen.append(args)
        return 0

    monkeypatch.setattr(chunk_calls, "run_chunk_calls", run)
    assert cpu.main(["--per-chunk", "--calls"]) == 0
    assert (seen[0].requests, seen[0].warmup, seen[0].concurrency) == (6, 2, 1)


def test_only_single_process_targets_can_be_profiled() -> None:
    args = cpu.parser().parse_args(["--per-chunk", "--calls", "--targets", "ours,ours-w2"])
    with pytest.raises(SystemExit, match="ours and floor only"):
        chunk_calls.run_chunk_calls(args)


def test_the_runner_writes_the_statistics_of_the_module_it_ran(tmp_path: Path) -> None:
    out = tmp_path / "platform.prof"
    done = subprocess.run(
        [sys.executable, "-m", "bench.cprofile_run", str(out), sys.executable, "-m",
         "platform", "--terse"],
        cwd=targets.REPO, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()  # the module ran, with its arguments
    functions = {key[2] for key in pstats.Stats(str(out)).stats}  # type: ignore[attr-defined]
    assert "platform" in functions
