"""wrk (Debian's package) as the load driver: a Lua script per request, JSON out of ``done``.

wrk is closed-loop: each connection sends its next request when the previous answer ended, so
latency under saturation is that of a closed system (no coordinated-omission correction; wrk2,
the open-loop fork, is not packaged by Debian).
"""

from __future__ import annotations

import shutil
import signal
import subprocess
from pathlib import Path
from typing import Any

import attrs
import orjson
import trio

from bench.scenarios import Request

_DONE = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"max":%d,"mean":%f}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean))
end
"""


@attrs.frozen
class WrkResult:
    requests: int
    duration: float  # seconds
    errors: dict[str, int]
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise RuntimeError("wrk is not installed: apt-get update && apt-get install -y wrk")
    return found


def _lua_string(value: str) -> str:
    return "[==[" + value + "]==]"


def write_script(path: Path, request: Request, bearer: str) -> Path:
    """A wrk Lua script that POSTs ``request`` with ``bearer``."""
    body = orjson.dumps(request.body).decode()
    path.write_text(
        'wrk.method = "POST"\n'
        f"wrk.body = {_lua_string(body)}\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
        f'wrk.headers["Authorization"] = {_lua_string("Bearer " + bearer)}\n' + _DONE
    )
    return path


def argv(url: str, script: Path, connections: int, seconds: float, timeout: float,
         pin: str | None) -> list[str]:
    cmd = [ensure_wrk(), "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s",
           f"--timeout={max(1, round(timeout))}s", "-s", str(script), url]
    return ["taskset", "-c", pin, *cmd] if pin else cmd


def parse(output: str) -> WrkResult:
    for line in output.splitlines():
        if line.startswith("BENCH_JSON "):
            data: dict[str, Any] = orjson.loads(line.removeprefix("BENCH_JSON "))
            lat = data["latency_us"]
            return WrkResult(
                requests=data["requests"], duration=data["duration_us"] / 1e6,
                errors=data["errors"], p50_ms=lat["p50"] / 1e3, p90_ms=lat["p90"] / 1e3,
                p99_ms=lat["p99"] / 1e3, max_ms=lat["max"] / 1e3,
            )
    raise RuntimeError(f"wrk printed no result:\n{output[-2000:]}")


async def run(url: str, script: Path, connections: int, seconds: float, *,
              request_timeout: float = 30.0, pin: str | None = None) -> WrkResult:
    """Run wrk; cancelled → wrk is killed. Bounded by ``seconds`` + a margin."""
    cmd = argv(url, script, connections, seconds, request_timeout, pin)
    with trio.fail_after(seconds + request_timeout + 30):
        done = await trio.run_process(cmd, capture_stdout=True, capture_stderr=True,
                                      check=False)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr.decode()[-1000:]}")
    return parse(done.stdout.decode())


async def run_until(url: str, script: Path, connections: int, stop: trio.Event, out: Path, *,
                    limit: float, request_timeout: float = 30.0,
                    pin: str | None = None) -> WrkResult:
    """Run wrk until ``stop`` is set, then SIGINT it: wrk stops at once and still reports (its
    ``-d`` is whole seconds; this ends a run to the millisecond). Its output goes to ``out``;
    ``limit`` bounds its ``-d`` should this process die first. Cancelled (or wrk not done
    ``request_timeout`` + 30 s after SIGINT) → wrk is killed."""
    cmd = argv(url, script, connections, limit, request_timeout, pin)
    with out.open("wb") as sink:  # taskset execs wrk: the signal reaches wrk itself
        proc = await trio.lowlevel.open_process(cmd, stdout=sink, stderr=subprocess.STDOUT)
    try:
        await stop.wait()
        proc.send_signal(signal.SIGINT)
        with trio.fail_after(request_timeout + 30):
            await proc.wait()
    finally:
        if proc.returncode is None:
            proc.kill()
            with trio.CancelScope(shield=True):
                await proc.wait()
    output = await trio.Path(out).read_text(errors="replace")
    if proc.returncode != 0:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {output[-1000:]}")
    return parse(output)


def run_sync(url: str, script: Path, connections: int, seconds: float, *,
             pin: str | None = None) -> WrkResult:
    """``run`` without trio (warm-ups)."""
    cmd = argv(url, script, connections, seconds, 30.0, pin)
    done = subprocess.run(cmd, capture_output=True, check=False, timeout=seconds + 60)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr.decode()[-1000:]}")
    return parse(done.stdout.decode())
