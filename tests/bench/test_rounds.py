"""The benchmark's rounds: the targets' turns, a row's medians, the headline's paired ratios."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from bench import measure, run
from bench.measure import Load, Plan, Slice
from bench.report import headline, markdown
from bench.scenarios import Scenario
from bench.targets import Server
from bench.wrk import WrkResult

RESULTS = Path(__file__).resolve().parents[2] / "bench" / "results"
SCENARIO = Scenario("responses-chat", stream=False)


def server(name: str) -> Server:
    return Server(name=name, url="http://127.0.0.1:1", proc=None, log=Path("/dev/null"))


def load(name: str, slices: list[Slice], ramp: float = 0.5) -> Load:
    return Load(server(name), SCENARIO, 32, Path("request.lua"), ramp, slices=slices)


def test_targets_take_turns_in_rotated_order_each_warmed_up_before_its_first_slice(
        monkeypatch: pytest.MonkeyPatch) -> None:
    events: list[str] = []

    def prepare(srv: Server, *_args: Any) -> Load:
        events.append(f"warm {srv.name}")
        return load(srv.name, [])

    def take_slice(found: Load, _upstream: Server, _plan: Plan) -> Slice:
        events.append(found.server.name)
        found.slices.append(Slice(100, 1.0, 0.5, 0.0, None, 0))
        return found.slices[-1]

    monkeypatch.setattr(measure, "prepare", prepare)
    monkeypatch.setattr(measure, "take_slice", take_slice)
    rows = run.measure_point([server("a"), server("b"), server("c")], server("up"), SCENARIO,
                             32, Plan(seconds=4, rounds=4), Path("/nonexistent"))
    assert events == ["warm a", "a", "warm b", "b", "warm c", "c",
                      "b", "c", "a", "c", "a", "b", "a", "b", "c"]
    assert [row["target"] for row in rows] == ["a", "b", "c"]
    assert all(row["rounds"] == 4 and row["slice_s"] == 1.0 for row in rows)


def test_row_takes_the_median_of_the_rounds_and_keeps_each_round() -> None:
    slices = [Slice(requests, 2.0, requests * 0.002, 0.1, None, rss << 20)
              for requests, rss in ((1000, 60), (1200, 70), (400, 65))]  # a slow third round
    row = measure.row(load("ours", slices), Plan(seconds=6, rounds=3))
    assert row["rps_rounds"] == [500.0, 600.0, 200.0]
    assert row["rps"] == 500.0
    assert row["rps_spread_pct"] == 80.0  # (600 - 200) / 500
    assert row["cpu_ms_per_req"] == 2.0
    assert row["requests"] == 2600
    assert row["server_cpu_util"] == pytest.approx(5.2 / 6, abs=1e-3)
    assert row["peak_rss_mb"] == 70.0


def test_row_is_flagged_when_the_ramp_was_too_short_for_the_load_to_settle() -> None:
    def timed(p50_ms: float) -> Slice:
        result = WrkResult(requests=10, duration=2.0, errors={"read": 1}, p50_ms=p50_ms,
                           p90_ms=p50_ms, p99_ms=2 * p50_ms, max_ms=3 * p50_ms)
        return Slice(10, 2.0, 0.1, 0.0, result, 0)

    settled = measure.row(load("ours", [timed(200), timed(300)], ramp=0.5), Plan(rounds=2))
    assert settled["window_ok"]
    assert settled["p50_ms"] == 250.0
    assert settled["errors"] == 2
    assert settled["error_detail"]["read"] == 2
    unsettled = measure.row(load("litellm", [timed(1500)], ramp=2.0), Plan(rounds=1))
    assert not unsettled["window_ok"]


def rounds_row(target: str, c: int, rps: list[float]) -> dict[str, Any]:
    return {"target": target, "scenario": SCENARIO.name, "concurrency": c,
            "rps": sorted(rps)[len(rps) // 2], "rps_rounds": rps, "p50_ms": 1.0}


def test_headline_ratio_is_the_median_of_the_rounds_paired_ratios() -> None:
    # the machine slowed down in rounds 2 and 3: the ratio of the medians (90 / 100) would
    # mix the fast round of one target with a slow round of the other
    rows = [rounds_row("ours", 1, [100.0, 60.0, 90.0]),
            rounds_row("floor", 1, [200.0, 100.0, 100.0])]
    [line] = headline(rows)
    assert line["ours_vs_floor"] == 0.6
    assert line["ours_vs_floor_range"] == [0.5, 0.9]
    assert line["ours_vs_litellm"] is None


def test_headline_of_rows_without_rounds_is_the_ratio_of_their_rps() -> None:
    rows = [{"target": "ours", "scenario": SCENARIO.name, "concurrency": 1, "rps": 90.0},
            {"target": "floor", "scenario": SCENARIO.name, "concurrency": 1, "rps": 100.0}]
    [line] = headline(rows)
    assert line["ours_vs_floor"] == 0.9
    assert line["ours_vs_floor_range"] is None


def test_results_written_before_the_rounds_render_as_they_did() -> None:
    data = orjson.loads((RESULTS / "2026-11-25-1647.json").read_bytes())
    text = markdown(data, "2026-11-25-1647.png")
    assert text == (RESULTS / "2026-11-25-1647.md").read_text()
