"""``python -m bench profile``: where the gateway's CPU goes, with py-spy, under wrk load.

For each mode (non-stream, stream) the gateway is loaded at one concurrency while py-spy
samples the thread holding the GIL (``--gil``: Python CPU time; syscalls that release the GIL
and idle worker threads are not counted). The collapsed stacks are kept
(``results/profile-<stamp>-<mode>.raw``, for any flamegraph tool) and summarized in
``results/profile-<stamp>.md``: CPU by package (self, and with stdlib frames charged to
their caller), the top functions by self time,
and the gateway's own functions by inclusive time.
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import trio

from bench import targets, wrk
from bench.report import RESULTS, TOOLS
from bench.run import log, prepare_process
from bench.scenarios import Scenario

PY_SPY = "py-spy==0.4.3"
_AREAS = (
    ("openresponses", "openresponses"), ("actors", "actors"), ("hypercorn/", "hypercorn"),
    ("quart/", "quart"), ("quart_trio/", "quart"), ("flask/", "quart"), ("werkzeug/", "quart"),
    ("h11/", "h11"), ("httpx2/", "httpx2"), ("httpcore2/", "httpx2"), ("trio", "trio"),
    ("outcome", "trio"), ("sniffio/", "trio"), ("prometheus_client/", "prometheus_client"),
    ("logging/", "logging"), ("sqlite3", "sqlite"), ("orjson", "orjson"),
)
_PASS_THROUGH = frozenset({"stdlib", "logging"})  # charged to their caller


def ensure_py_spy() -> Path:
    binary = TOOLS / "bin" / "py-spy"
    if not binary.exists():
        if not (TOOLS / "bin" / "python").exists():
            subprocess.run(["python3", "-m", "venv", str(TOOLS)], check=True)
        subprocess.run([str(TOOLS / "bin" / "python"), "-m", "pip", "install", "-q",
                        "--disable-pip-version-check", PY_SPY], check=True)
    return binary


def area(frame: str) -> str:
    """The package a py-spy frame ``function (path)`` belongs to."""
    path = frame.rsplit("(", 1)[-1]
    for marker, name in _AREAS:
        if marker in path:
            return name
    return "stdlib"


def charged(frames: list[str]) -> str:
    """The package to charge a sample to: the leaf's, or for stdlib and logging frames (a
    context manager, an isinstance, a log record) the nearest caller's outside them."""
    for frame in reversed(frames):
        name = area(frame)
        if name not in _PASS_THROUGH:
            return name
    return area(frames[-1])


def summarize(raw: Path, top: int = 25) -> str:
    """Markdown tables of a collapsed-stack file."""
    own, inclusive, areas, charges = Counter[str](), Counter[str](), Counter[str](), Counter[str]()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [f for f in stack.split(";") if not f.startswith(("process ", "thread "))]
        if not frames:
            continue
        total += count
        own[frames[-1]] += count
        areas[area(frames[-1])] += count
        charges[charged(frames)] += count
        for frame in set(frames):
            inclusive[frame] += count
    if not total:
        return "no samples\n"

    def pct(n: int) -> str:
        return f"{100 * n / total:.1f}%"

    lines = [f"{total} samples.", "", "| package | self time | charged (stdlib to caller) |",
             "|---|---|---|"]
    lines += [f"| {name} | {pct(areas[name])} | {pct(charges[name])} |"
              for name, _ in (areas + charges).most_common()]
    lines += ["", "| function (self time) | share |", "|---|---|"]
    lines += [f"| `{name}` | {pct(n)} |" for name, n in own.most_common(top)]
    ours = [(f, n) for f, n in inclusive.most_common() if area(f) in ("openresponses", "actors")]
    lines += ["", "| gateway function (inclusive) | share |", "|---|---|"]
    lines += [f"| `{name}` | {pct(n)} |" for name, n in ours[:top]]
    return "\n".join(lines) + "\n"


async def _record(py_spy: Path, pid: int, seconds: float, out: Path, url: str, script: Path,
                  concurrency: int, rate: int) -> None:
    pin = ",".join(map(str, sorted(targets.DRIVER_CORE))) if targets.pinned() else None
    async with trio.open_nursery() as nursery:
        nursery.start_soon(lambda: wrk.run(url, script, concurrency, seconds + 3, pin=pin))
        await trio.sleep(1)
        cmd = [str(py_spy), "record", "--pid", str(pid), "--duration", str(int(seconds)),
               "--rate", str(rate), "--format", "raw", "--nolineno", "--gil", "--output", str(out)]
        with trio.fail_after(seconds + 60):
            await trio.run_process(cmd, capture_stdout=True, capture_stderr=True)


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench profile", description=__doc__)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--scenario", default="responses-chat",
                        choices=("responses-chat", "responses-anthropic", "chat"))
    parser.add_argument("--rate", type=int, default=250, help="samples per second")
    parser.add_argument("--target", default="ours", choices=("ours", "floor"),
                        help="floor: profile the bare proxy, for comparison")
    args = parser.parse_args(argv)
    prepare_process()
    py_spy = ensure_py_spy()
    stamp = time.strftime("%Y-%m-%d-%H%M")
    RESULTS.mkdir(exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="openresponses-profile-"))
    upstream = targets.start_upstream(workdir)
    sections = [f"# Gateway profile, {stamp}",
                f"`just bench profile {' '.join(argv)}`: py-spy {args.rate} Hz for "
                f"{args.seconds:.0f} s per mode, wrk at concurrency {args.concurrency}, "
                f"scenario {args.scenario}, target {args.target}, one worker."]
    try:
        start = targets.start_ours if args.target == "ours" else targets.start_floor
        ours = start(workdir, upstream)
        try:
            for stream in (False, True):
                scenario = Scenario(args.scenario, stream)
                request = scenario.request(args.target)
                script = wrk.write_script(workdir / "profile.lua", request, ours.bearer)
                wrk.run_sync(ours.url + request.path, script, args.concurrency, 2)
                mode = "stream" if stream else "non-stream"
                raw = RESULTS / f"profile-{stamp}-{args.target}-{mode}.raw"
                log(f"profiling {scenario.name} for {args.seconds:.0f} s")
                trio.run(_record, py_spy, ours.pid, args.seconds, raw, ours.url + request.path,
                         script, args.concurrency, args.rate)
                sections += [f"## {scenario.name}", f"Raw stacks: `{raw.name}`.", summarize(raw)]
        finally:
            ours.stop()
    finally:
        upstream.stop()
    out = RESULTS / f"profile-{stamp}.md"
    out.write_text("\n\n".join(sections))
    log(f"wrote {out}")
    return 0
