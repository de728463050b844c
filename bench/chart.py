"""The chart of a results file: ``python -m bench.chart results.json out.png``.

Runs in the bench's tools virtualenv (matplotlib only: no project imports, stdlib json).
Top row: requests/s per scenario (OpenResponses, with ``--workers 2`` when the run had it, the
bare-proxy floor, LiteLLM), with OpenResponses' ratios (the headline's) written over its bars
and two workers' over one worker's over theirs. Bottom row: server CPU per
request, p50 latency added over the upstream at concurrency 1, and the growth of CPU per turn.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.ticker import FuncFormatter, LogLocator

COLORS = {"ours": "#1f77b4", "ours-w2": "#8fbbd9", "floor": "#9a9a9a", "litellm": "#d95f02",
          "direct": "#c7c7c7"}
LABELS = {"ours": "OpenResponses", "ours-w2": "OpenResponses --workers 2",
          "floor": "bare quart-trio proxy (floor)", "litellm": "LiteLLM proxy",
          "direct": "upstream direct"}
SHORT = {"responses-chat": "resp→chat", "responses-anthropic": "resp→anth", "chat": "chat"}
KEYS = {"responses-chat": "/v1/responses → Chat Completions",
        "responses-anthropic": "/v1/responses → Anthropic", "chat": "/v1/chat/completions"}


def _get(rows: list[dict[str, Any]], target: str, key: str, stream: bool, c: int) -> Any:
    for row in rows:
        if (row["target"], row["key"], row["stream"], row.get("concurrency")) == (
                target, key, stream, c):
            return row
    return None


def _vs(headline: list[dict[str, Any]], row: dict[str, Any], ref: dict[str, Any],
        column: str) -> float:
    """``row``'s requests/s over ``ref``'s: the headline's ``column`` (the median of the
    rounds' paired ratios) for rows measured in rounds, else the ratio of the rows' rps."""
    if "rps_rounds" in row:
        for line in headline:
            if (line["scenario"], line["concurrency"]) == (row["scenario"], row["concurrency"]):
                found = line.get(column)
                if found:
                    return float(found)
    return float(row["rps"] / ref["rps"])


def _notes(rows: list[dict[str, Any]], headline: list[dict[str, Any]], target: str, key: str,
           stream: bool, c: int) -> list[str]:
    """The ratios written over ``target``'s bar: ours against the floor and LiteLLM, two
    workers against one."""
    row = _get(rows, target, key, stream, c)
    refs: tuple[tuple[str, str, str], ...]
    if target == "ours-w2":
        refs = (("ours", "w2_vs_ours", "{:.1f}x one worker"),)
    else:
        refs = (("floor", "ours_vs_floor", "{:.0%} of floor"),
                ("litellm", "ours_vs_litellm", "{:.1f}x LiteLLM"))
    notes = []
    for other, column, text in refs:
        ref = _get(rows, other, key, stream, c)
        if ref and ref.get("rps"):
            notes.append(text.format(_vs(headline, row, ref, column)))
    return notes


def _throughput(ax: Any, rows: list[dict[str, Any]], key: str, conc: list[int],
                headline: list[dict[str, Any]]) -> None:
    groups = [(s, c) for s in (False, True) for c in conc if c > 1]
    shown = [t for t in ("ours", "ours-w2", "floor", "litellm")
             if any(r["target"] == t for r in rows)]
    width = 0.8 / max(1, len(shown))
    for i, target in enumerate(shown):
        placed = []
        for g, (stream, c) in enumerate(groups):
            row = _get(rows, target, key, stream, c)
            if row and row.get("rps"):
                placed.append((g + (i - (len(shown) - 1) / 2) * width, row["rps"], stream, c))
        ax.bar([p[0] for p in placed], [p[1] for p in placed], width, color=COLORS[target],
               label=LABELS[target])
        if target not in ("ours", "ours-w2"):
            continue
        for x, y, stream, c in placed:
            ax.annotate("\n".join(_notes(rows, headline, target, key, stream, c)), (x, y),
                        textcoords="offset points", xytext=(0, 3), ha="center", va="bottom",
                        fontsize=7 if target == "ours" else 6)
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels([f"{'stream' if s else 'non-stream'}\nc={c}" for s, c in groups],
                       fontsize=8)
    ax.set_title(KEYS.get(key, key), fontsize=10)
    ax.set_ylabel("requests/s")
    ax.margins(y=0.25)
    ax.grid(axis="y", alpha=0.3)


def _log_axis(ax: Any) -> None:
    """A log y axis labelled with plain numbers (1, 2, 5, 10, ...); a panel without a positive
    value (a partial run: ``--concurrency 1`` has no c=32 bars) stays linear."""
    values = [patch.get_height() for patch in ax.patches]
    values += [y for line in ax.lines for y in line.get_ydata()]
    if not any(value > 0 for value in values):
        return
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_minor_locator(LogLocator(base=10, subs=()))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _pos: f"{value:g}"))


def _cpu(ax: Any, rows: list[dict[str, Any]], keys: list[str]) -> None:
    shown = [t for t in ("ours", "floor", "litellm") if any(r["target"] == t for r in rows)]
    groups = [(k, s) for k in keys for s in (False, True)]
    width = 0.8 / max(1, len(shown))
    for i, target in enumerate(shown):
        xs, ys = [], []
        for g, (key, stream) in enumerate(groups):
            row = _get(rows, target, key, stream, 32)
            if row and row.get("cpu_ms_per_req"):
                xs.append(g + (i - (len(shown) - 1) / 2) * width)
                ys.append(row["cpu_ms_per_req"])
        ax.bar(xs, ys, width, color=COLORS[target])
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels([f"{SHORT.get(k, k)}\n{'stream' if s else 'json'}" for k, s in groups],
                       fontsize=7)
    ax.set_title("server CPU per request, c=32 (ms)", fontsize=10)
    _log_axis(ax)
    ax.grid(axis="y", alpha=0.3)


def _latency(ax: Any, rows: list[dict[str, Any]], keys: list[str]) -> None:
    shown = [t for t in ("ours", "floor", "litellm") if any(r["target"] == t for r in rows)]
    groups = [(k, s) for k in keys for s in (False, True)]
    width = 0.8 / max(1, len(shown))
    for i, target in enumerate(shown):
        xs, ys = [], []
        for g, (key, stream) in enumerate(groups):
            row, base = _get(rows, target, key, stream, 1), _get(rows, "direct", key, stream, 1)
            if row and base and row.get("p50_ms") is not None and base.get("p50_ms") is not None:
                xs.append(g + (i - (len(shown) - 1) / 2) * width)
                ys.append(max(0.01, row["p50_ms"] - base["p50_ms"]))
        ax.bar(xs, ys, width, color=COLORS[target])
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels([f"{SHORT.get(k, k)}\n{'stream' if s else 'json'}" for k, s in groups],
                       fontsize=7)
    ax.set_title("p50 latency added over the upstream, c=1 (ms)", fontsize=10)
    _log_axis(ax)
    ax.grid(axis="y", alpha=0.3)


def _growth(ax: Any, growth: dict[str, Any] | None) -> None:
    ax.set_title("OpenResponses CPU per request (ms)", fontsize=10)
    if not growth:
        ax.text(0.5, 0.5, "no growth run", ha="center", transform=ax.transAxes)
        return
    rows = growth["rows"]
    xs = range(len(rows))
    ax.bar(xs, [r["cpu_ms"] for r in rows], 0.6, color=COLORS["ours"], label="OpenResponses")
    if all("floor_cpu_ms" in r for r in rows):
        ax.bar(xs, [r["floor_cpu_ms"] for r in rows], 0.3, color=COLORS["floor"],
               label="floor, same upstream bytes")
    for x, r in zip(xs, rows, strict=True):
        ax.annotate(f"{r['upstream_kb']:.0f} KB up", (x, r["cpu_ms"]), textcoords="offset points",
                    xytext=(0, 3), ha="center", fontsize=7)
    ax.set_xticks(list(xs))
    ax.set_xticklabels([r["point"] for r in rows], fontsize=8)
    ax.legend(fontsize=7, loc="upper left")
    _log_axis(ax)
    ax.grid(axis="y", alpha=0.3)


def render(data: dict[str, Any], out: str) -> None:
    rows = [r for r in data["rows"] if r.get("concurrency")]
    keys = [k for k in KEYS if any(r["key"] == k for r in rows)]
    conc = sorted({r["concurrency"] for r in rows})
    fig, axes = plt.subplots(2, max(3, len(keys)), figsize=(16, 9.5))
    for ax, key in zip(axes[0], keys, strict=False):
        _throughput(ax, rows, key, conc, data.get("headline") or [])
    for ax in axes[0][len(keys):]:
        ax.axis("off")
    _cpu(axes[1][0], rows, keys)
    _latency(axes[1][1], rows, keys)
    _growth(axes[1][2], data.get("growth"))
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper right", bbox_to_anchor=(0.995, 0.955), fontsize=9,
               ncol=len(labels))
    meta = data["meta"]
    workers = " (and OpenResponses with two)" if "OpenResponses --workers 2" in labels else ""
    fig.suptitle(f"OpenResponses vs the bare-stack floor and LiteLLM — {meta['date']}, "
                 f"{meta['machine']['cores']} cores, one worker each{workers}", x=0.01,
                 ha="left", fontsize=12)
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    fig.savefig(out, dpi=110)


def main() -> None:
    with open(sys.argv[1]) as f:
        data = json.load(f)
    render(data, sys.argv[2])


if __name__ == "__main__":
    main()
