"""``python -m bench soak`` (``just bench soak``): the soak alone, with its own fake upstream and
gateway, one worker or ``--workers N``; writes bench/results/soak-<stamp>.json.

One worker runs on core 0 with the upstream and the load clients on core 1, as in the rest of
the benchmark. With ``--workers N`` (N > 1) the gateway is given every core (its workers would
otherwise share one), so it shares them with the clients and the upstream: read the clients'
and the upstream's CPU columns beside its own.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import signal
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from bench import procstat, targets
from bench.soak import soak
from bench.targets import Server

RESULTS = Path(__file__).resolve().parent / "results"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench soak", description=__doc__)
    p.add_argument("--streams", type=int, default=10_000)
    p.add_argument("--hold", type=int, default=60, help="seconds all streams are open together")
    p.add_argument("--rate", type=int, default=200, help="streams opened per second")
    p.add_argument("--workers", type=int, default=1, help="gateway processes (serve --workers)")
    p.add_argument("--clients", type=int, default=None,
                   help="load-client processes (default one per 5,000 streams)")
    p.add_argument("--target", choices=("ours", "floor"), default="ours")
    p.add_argument("--no-write", action="store_true", help="print only, write no results file")
    p.add_argument("--keep", action="store_true", help="keep the work directory (server logs)")
    p.add_argument("--gateway-env", action="append", default=[], metavar="NAME=VALUE",
                   help="extra environment for the gateway (e.g. MALLOC_ARENA_MAX=2)")
    return p


def start_ours(workdir: Path, upstream: Server, max_connections: int, workers: int,
               extra_env: dict[str, str]) -> Server:
    """``targets.start_ours`` (groq pointed at the fake upstream, rate limits and retries off;
    one worker on core 0, ``--workers N`` on both cores, waited for until every worker
    serves), named ``ours`` in the results whatever its workers."""
    return targets.start_ours(workdir, upstream, max_connections, workers=workers, name="ours",
                              extra_env=extra_env)


def _terminate(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM: clean up (stop the servers) as on Ctrl-C


def run(args: argparse.Namespace) -> dict[str, Any]:
    signal.signal(signal.SIGTERM, _terminate)
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # inherited by the upstream
    workdir = Path(tempfile.mkdtemp(prefix="openresponses-soak-"))
    upstream = targets.start_upstream(workdir)
    server: Server | None = None
    try:
        if args.target == "ours":
            extra = dict(item.split("=", 1) for item in args.gateway_env)
            server = start_ours(workdir / "ours", upstream, args.streams + 256, args.workers,
                                extra)
        else:
            server = targets.start_floor(workdir / "floor", upstream, args.streams + 256)
        pinned = args.workers == 1 and targets.pinned()
        load = os.getloadavg()
        result = soak(server, upstream, args.streams, args.hold, args.rate,
                      clients=args.clients, client_cores=targets.DRIVER_CORE if pinned else None)
        result["load_before"] = [round(x, 2) for x in load]
        result["load_after"] = [round(x, 2) for x in os.getloadavg()]
        result["upstream_max_streams"] = _upstream_max(upstream)
        result["pinned"] = pinned
        return result
    finally:
        if server is not None:
            server.stop(grace=40)
        upstream.stop()
        if args.keep:
            print(f"logs kept in {workdir}", flush=True)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def _upstream_max(upstream: Server) -> int:
    import httpx2

    try:
        return int(httpx2.get(upstream.url + "/stats", timeout=5).json()["max_streams"])
    except (httpx2.HTTPError, ValueError, KeyError):
        return -1


def main(argv: Sequence[str]) -> int:
    args = parser().parse_args(argv)
    started = time.time()
    result = run(args)
    result["command"] = "python -m bench soak " + " ".join(argv)
    result["started"] = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started))
    result["cores"] = procstat.cores()
    for key, value in result.items():
        if key not in ("timeline_s_rssmb_streams", "timeline_columns"):
            print(f"{key}: {value}", flush=True)
    if not args.no_write:
        stamp = time.strftime("%Y-%m-%d-%H%M%S", time.localtime(started))
        path = RESULTS / f"soak-{stamp}.json"
        path.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
        print(f"wrote {path}", flush=True)
    return 1 if result["errors"] else 0
