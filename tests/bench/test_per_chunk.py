"""``bench cpu --per-chunk``: the cost of one streamed chunk, from two stream lengths."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest

from bench import cpu, per_chunk
from bench.scenarios import Scenario
from bench.targets import Server

SERVER = Server(name="ours", url="http://127.0.0.1:1", proc=None, log=Path("/dev/null"))


def test_one_chunk_costs_the_difference_over_the_extra_chunks(
        monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[tuple[str, bool, str]] = []

    def count(_server: Server, scenario: Scenario, _args: argparse.Namespace,
              _workdir: Path) -> dict[str, Any]:
        asked.append((scenario.key, scenario.stream, scenario.model))
        per_request = {"fake-c20-d50": 20.0, "fake-c60-d50": 44.0}[scenario.model]
        return {"minstr_per_req": per_request, "errors": 1 if "c60" in scenario.model else 0}

    monkeypatch.setattr(cpu, "count_instructions", count)
    args = cpu.parser().parse_args(["--per-chunk", "--callgrind", "--chunk-delay", "50"])
    args.requests, args.concurrency = 6, 1
    row = per_chunk._row(SERVER, args, Path("/tmp"))
    assert asked == [("responses-chat", True, "fake-c20-d50"),
                     ("responses-chat", True, "fake-c60-d50")]
    assert row["kinstr_per_chunk"] == 600.0  # (44 - 20) M / 40 chunks
    assert row["minstr_per_req"] == {"20": 20.0, "60": 44.0}
    assert row["errors"] == 1
    assert (row["chunk_delay_ms"], row["concurrency"]) == (50, 1)


def test_per_chunk_defaults_to_one_stream_at_a_time_and_few_requests(
        monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[argparse.Namespace] = []

    def run(args: argparse.Namespace, wrap: list[str]) -> int:
        seen.append(args)
        assert wrap[0] == "valgrind"
        return 0

    monkeypatch.setattr(per_chunk, "run_per_chunk", run)
    assert cpu.main(["--per-chunk", "--callgrind"]) == 0
    assert (seen[0].requests, seen[0].warmup, seen[0].concurrency) == (6, 2, 1)


def test_per_chunk_needs_callgrind() -> None:
    with pytest.raises(SystemExit, match="needs --callgrind"):
        per_chunk.run_per_chunk(cpu.parser().parse_args(["--per-chunk"]), [])
