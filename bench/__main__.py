"""``python -m bench`` (``just bench``): see bench/README.md.

``just bench`` runs everything and writes bench/results/<stamp>.{json,md,png};
``just bench --quick`` is a smoke run of a few seconds that exits 1 if anything failed;
``just bench profile`` profiles the gateway's hot path with py-spy;
``just bench cpu`` measures the gateway's CPU (or instructions) per request;
``just bench soak`` runs the soak alone (10,000 slow streams; ``--workers N``);
``just bench report bench/results/<stamp>.json`` renders a results file's md and png again.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import attrs
import orjson

from bench.measure import Plan
from bench.report import headline, markdown, meta, render_again, source, write
from bench.run import Options, Outcome, log, run
from bench.scenarios import SCENARIOS


def _csv(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="smoke run, a few seconds, no LiteLLM")
    p.add_argument("--seconds", type=float, default=10.0,
                   help="measured seconds per target and point, all rounds together")
    p.add_argument("--rounds", type=int, default=5,
                   help="slices per target and point, the targets taking turns")
    p.add_argument("--ramp", type=float, default=0.25,
                   help="unmeasured seconds at the start of every slice, at least")
    p.add_argument("--warmup", type=float, default=2.0,
                   help="warm-up seconds per target and point, before its first slice")
    p.add_argument("--targets", type=_csv, default=("direct", "floor", "ours", "litellm"))
    p.add_argument("--scenarios", type=_csv, default=None,
                   help="keys: responses-chat, responses-anthropic, chat (default: all)")
    p.add_argument("--streams", choices=("both", "stream", "non-stream"), default="both")
    p.add_argument("--concurrency", type=lambda v: tuple(int(x) for x in _csv(v)),
                   default=(1, 32, 128))
    p.add_argument("--soak-streams", type=int, default=10_000, help="0 skips the soak")
    p.add_argument("--soak-seconds", type=int, default=60)
    p.add_argument("--soak-targets", type=_csv, default=("ours",))
    p.add_argument("--soak-rate", type=int, default=100, help="streams opened per second")
    p.add_argument("--no-growth", action="store_true")
    p.add_argument("--growth-reps", type=int, default=100)
    return p


def options(args: argparse.Namespace) -> Options:
    scenarios = tuple(
        s for s in SCENARIOS
        if (args.scenarios is None or s.key in args.scenarios)
        and (args.streams == "both" or s.stream == (args.streams == "stream"))
    )
    if args.quick:
        return Options(
            quick=True, targets=tuple(t for t in args.targets if t != "litellm"),
            scenarios=tuple(s for s in SCENARIOS if s.key == "responses-chat"),
            concurrency=(8,),
            plan=Plan(seconds=1, warmup=0, probe_pause=0.05, rounds=2, ramp=0.25),
            soak_streams=200, soak_seconds=3, soak_rate=200, growth_reps=5, growth_depths=(1, 3),
            growth_sizes={"1KB": 1, "100KB": 100},
        )
    return Options(
        targets=args.targets, scenarios=scenarios, concurrency=args.concurrency,
        plan=Plan(seconds=args.seconds, warmup=args.warmup, rounds=max(1, args.rounds),
                  ramp=args.ramp),
        soak_streams=args.soak_streams,
        soak_seconds=args.soak_seconds, soak_targets=args.soak_targets,
        soak_rate=args.soak_rate,
        growth=not args.no_growth, growth_reps=args.growth_reps,
    )


def failures(outcome: Outcome) -> list[str]:
    found = [f"{r['target']} / {r['scenario']} c={r.get('concurrency')}: {r['errors']} errors "
             f"{r.get('error_detail') or r.get('error')}" for r in outcome.rows if r["errors"]]
    found += [f"soak {s['target']}: {s['errors']} errors {s['error_detail']}"
              for s in outcome.soak if s["errors"]]
    return found


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["profile"]:
        from bench.profile import main as profile_main

        return profile_main(argv[1:])
    if argv[:1] == ["soak"]:
        from bench.soak_run import main as soak_main

        return soak_main(argv[1:])
    if argv[:1] == ["cpu"]:
        from bench.cpu import main as cpu_main

        return cpu_main(argv[1:])
    if argv[:1] == ["report"] and len(argv) == 2:  # re-render a results file's md and png
        path = Path(argv[1])
        for written in render_again(orjson.loads(path.read_bytes()), path.stem):
            log(f"wrote {written}")
        return 0
    args = parser().parse_args(argv)
    opts = options(args)
    started, load, measured = time.time(), os.getloadavg(), source()
    outcome = run(opts)
    data = {"meta": meta(argv, started, load, measured),
            "options": attrs.asdict(opts, recurse=False, value_serializer=_plain),
            "headline": headline(outcome.rows), "rows": outcome.rows, "soak": outcome.soak,
            "growth": outcome.growth, "notes": outcome.notes}
    if opts.quick:
        print(markdown(data, None))
        bad = failures(outcome)
        for line in bad:
            log(f"FAILED {line}")
        log("quick run: " + ("FAILED" if bad else "ok"))
        return 1 if bad else 0
    stamp = time.strftime("%Y-%m-%d-%H%M", time.localtime(started))
    for path in write(data, stamp):
        log(f"wrote {path}")
    return 0


def _plain(_inst: object, _field: object, value: object) -> object:
    if isinstance(value, Plan):
        return attrs.asdict(value)
    if isinstance(value, tuple) and value and not isinstance(value[0], (int, str)):
        return [getattr(v, "name", str(v)) for v in value]
    return value


if __name__ == "__main__":
    sys.exit(main())
