"""Results: ``bench/results/<stamp>.json`` (everything), ``.md`` (tables) and ``.png`` (chart)."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import orjson

from bench.litellm_env import LITELLM_VERSION

RESULTS = Path(__file__).resolve().parent / "results"
TOOLS = Path(__file__).resolve().parent / ".venv-tools"
MATPLOTLIB = "matplotlib==3.11.2"


def _git(*args: str) -> str:
    done = subprocess.run(["git", *args], capture_output=True, text=True, check=False,
                          cwd=RESULTS.parent.parent)
    return done.stdout.strip()


def machine() -> dict[str, Any]:
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kb = int(f.readline().split()[1])
    versions: dict[str, str | None] = {}
    for name in ("hypercorn", "quart", "quart-trio", "httpx2", "trio", "orjson"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    versions["litellm"] = LITELLM_VERSION
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(mem_kb / 2**20, 1),
            "kernel": platform.release(), "python": platform.python_version(),
            "versions": versions}


def source() -> dict[str, Any]:
    """The commit a run measures, and whether the gateway's code differs from it: taken as
    the run starts, when its servers import the code (a commit made during a run of half an
    hour, or an edit, must not be credited with what was measured)."""
    return {"commit": _git("rev-parse", "HEAD")[:12],
            "dirty_tree": bool(_git("status", "--porcelain", "--", "openresponses", "actors"))}


def meta(argv: list[str], started: float, load_at_start: tuple[float, ...],
         measured: dict[str, Any]) -> dict[str, Any]:
    """The results file's ``meta``; ``measured``: ``source()`` as the run started."""
    return {"date": time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(started)),
            "command": "just bench " + " ".join(argv), **measured, "machine": machine(),
            "load_average_at_start": load_at_start, "load_average_at_end": os.getloadavg(),
            "duration_s": round(time.time() - started)}


def _find(rows: list[dict[str, Any]], target: str, scenario: str, c: int) -> dict[str, Any]:
    for row in rows:
        if (row["target"], row["scenario"], row.get("concurrency")) == (target, scenario, c):
            return row
    return {}


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a and b else None


def _paired(a: dict[str, Any], b: dict[str, Any]) -> list[float]:
    """Row ``a``'s requests/s over row ``b``'s, round by round: the two slices of a round
    were taken seconds apart, so each ratio compares the targets on the same machine. Empty
    for rows of results written before the rounds (or of unequal rounds)."""
    ours, theirs = a.get("rps_rounds") or [], b.get("rps_rounds") or []
    if len(ours) != len(theirs):
        return []
    return [x / y for x, y in zip(ours, theirs, strict=True) if y]


def _compare(a: dict[str, Any], b: dict[str, Any], key: str) -> dict[str, Any]:
    """``key``: the median of the paired ratios (else the ratio of the rows' requests/s);
    ``key_range``: their lowest and highest, the spread the median hides."""
    paired = _paired(a, b)
    if not paired:
        return {key: _ratio(a.get("rps"), b.get("rps")), f"{key}_range": None}
    return {key: round(statistics.median(paired), 2),
            f"{key}_range": [round(min(paired), 2), round(max(paired), 2)]}


def headline(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per scenario and concurrency: ours vs floor, LiteLLM and the upstream direct; each
    ratio the median of the rounds' paired ratios, with their range (``*_range``)."""
    out = []
    keys = sorted({(r["scenario"], r["concurrency"]) for r in rows if r.get("concurrency")},
                  key=lambda k: (k[0], k[1]))
    for scenario, c in keys:
        get = {t: _find(rows, t, scenario, c)
               for t in ("ours", "floor", "litellm", "direct", "ours-w2")}
        ours = get["ours"]
        added = None
        if ours.get("p50_ms") is not None and get["direct"].get("p50_ms") is not None:
            added = round(ours["p50_ms"] - get["direct"]["p50_ms"], 2)
        out.append({
            "scenario": scenario, "concurrency": c,
            **{f"{t}_rps": get[t].get("rps") for t in get},
            **_compare(ours, get["floor"], "ours_vs_floor"),
            **_compare(ours, get["litellm"], "ours_vs_litellm"),
            "ours_added_p50_ms": added,
            **_compare(get["ours-w2"], ours, "w2_vs_ours"),
        })
    return out


def _table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    def cell(value: Any) -> str:
        if isinstance(value, list) and len(value) == 2:  # a range
            return f"{value[0]} to {value[1]}"
        return "-" if value is None else str(value)

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(row.get(c)) for c in columns) + " |" for row in rows]
    return "\n".join(lines)


def markdown(data: dict[str, Any], png: str | None) -> str:
    m = data["meta"]
    mach = m["machine"]
    parts = [
        f"# OpenResponses benchmark, {m['date']}",
        f"`{m['command']}` at commit `{m['commit']}`" + (" (uncommitted changes)"
                                                         if m["dirty_tree"] else "")
        + f", {m['duration_s']} s.",
        f"Machine: {mach['cpu']}, {mach['cores']} cores, {mach['memory_gib']} GiB, Linux "
        f"{mach['kernel']}, Python {mach['python']}; load average at start "
        f"{', '.join(f'{x:.2f}' for x in m['load_average_at_start'])}, at end "
        f"{', '.join(f'{x:.2f}' for x in m['load_average_at_end'])} (other work shares "
        "the machine: see bench/README.md). Versions: "
        + ", ".join(f"{k} {v}" for k, v in mach["versions"].items()) + ".",
        "Server under test pinned to core 0; fake upstream, wrk and probe on core 1. "
        "OpenResponses and the floor run one worker each; LiteLLM `--num_workers 1`.",
    ]
    if png:
        parts.append(f"![throughput]({png})")
    rounds = any("rps_rounds" in row for row in data["rows"])  # else: written before them
    parts += ["## Headline: requests/s and ratios", _table(data["headline"], [
        "scenario", "concurrency", "ours_rps", "floor_rps", "litellm_rps", "direct_rps",
        "ours_vs_floor", *(["ours_vs_floor_range"] if rounds else []), "ours_vs_litellm",
        "ours_added_p50_ms", "w2_vs_ours"])]
    if rounds:
        parts.append(_method(data))
    parts += ["## Every measurement", _table(data["rows"], [
        "target", "scenario", "concurrency", "rps", *(["rps_spread_pct"] if rounds else []),
        "p50_ms", "p99_ms", "ttfb_p50_ms", "ttfb_p99_ms", "cpu_ms_per_req", "server_cpu_util",
        "upstream_cpu_util", "peak_rss_mb", "errors", "window_ok"])]
    if data.get("soak"):
        parts += ["## Soak", _table(data["soak"], [
            "target", "streams", "open_rate_per_s", "chunks", "peak_concurrent_upstream",
            "completed", "errors", "planned_s", "elapsed_s", "peak_rss_mb", "cpu_util",
            "ttfb_p50_ms", "ttfb_max_ms", "lag_p50_ms", "lag_p99_ms", "lag_max_ms"])]
        parts += [f"Soak errors ({s['target']}): `{s['error_detail']}`" for s in data["soak"]]
    if data.get("growth"):
        parts += ["## Growth (concurrency 1, non-stream, store: true)", _table(
            data["growth"]["rows"], ["point", "cpu_ms", "upstream_kb", "p50_ms",
                                     "floor_cpu_ms", "overhead_ms", "cpu_vs_turn1",
                                     "overhead_vs_turn1"])]
    if data.get("notes"):
        parts += ["## Notes"] + [f"- {note}" for note in data["notes"]]
    return "\n\n".join(parts) + "\n"


def _method(data: dict[str, Any]) -> str:
    plan = data.get("options", {}).get("plan", {})
    return (f"Each point's targets took turns: {plan.get('rounds')} rounds of "
            f"{plan.get('seconds', 0) / max(1, plan.get('rounds') or 1):g} s a target, the "
            "order rotated every round, each slice after a ramp of "
            f"{plan.get('ramp')} s at least (`ramp_s`). `rps` and `cpu_ms_per_req` are the "
            "medians of a target's rounds, `rps_spread_pct` their range over the median; a "
            "ratio is the median of the rounds' paired ratios, `*_range` their lowest and "
            "highest (bench/README.md).")


def ensure_tools() -> Path | None:
    """The chart's own virtualenv (matplotlib), created once; None if it cannot be."""
    python = TOOLS / "bin" / "python"
    try:
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(TOOLS)], check=True)
        probe = subprocess.run([str(python), "-c", "import matplotlib"], capture_output=True,
                               check=False)
        if probe.returncode != 0:
            subprocess.run([str(python), "-m", "pip", "install", "-q",
                            "--disable-pip-version-check", MATPLOTLIB], check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return python


def write(data: dict[str, Any], stamp: str) -> list[Path]:
    """Write json, png (when matplotlib can be had) and md; returns the paths written."""
    RESULTS.mkdir(exist_ok=True)
    json_path = RESULTS / f"{stamp}.json"
    json_path.write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2))
    return [json_path, *render_again(data, stamp)]


def render_again(data: dict[str, Any], stamp: str) -> list[Path]:
    """Write the png and md of ``RESULTS/<stamp>.json`` (holding ``data``)."""
    json_path = RESULTS / f"{stamp}.json"
    for row in data["rows"]:  # results written before the field existed
        if "window_ok" not in row and row.get("p99_ms") is not None:
            seconds = data.get("options", {}).get("plan", {}).get("seconds", 10)
            row["window_ok"] = row["p99_ms"] < seconds * 500
    written = []
    png_path = RESULTS / f"{stamp}.png"
    python = ensure_tools()
    png = None
    if python is not None:
        done = subprocess.run([str(python), "-m", "bench.chart", str(json_path), str(png_path)],
                              cwd=RESULTS.parent.parent, check=False)
        if done.returncode == 0:
            png = png_path.name
            written.append(png_path)
    md_path = RESULTS / f"{stamp}.md"
    md_path.write_text(markdown(data, png))
    written.append(md_path)
    return written
