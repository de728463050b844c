"""Starting and stopping the processes under test, each pinned to its core, on loopback only.

Every process is started in its own session with a minimal environment (no inherited keys);
``Server.stop`` ends that process group: SIGINT, then SIGKILL after a grace period.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import attrs
import httpx2

from bench import procstat
from bench.litellm_env import litellm_command, write_litellm_config

REPO = Path(__file__).resolve().parent.parent
PY = sys.executable
SERVER_CORE = {0}
DRIVER_CORE = {1}
# The cores this process could use when it started. The driver pins itself to DRIVER_CORE
# afterwards (run.prepare_process); the processes it starts must not inherit that, so whether
# to pin them is decided on this set, never on the driver's affinity of the moment.
MACHINE_CORES = frozenset(os.sched_getaffinity(0))


def pinned() -> bool:
    """Whether the server and the driver each get a core of their own (each process started
    is then pinned with taskset, a ``--workers`` gateway to both cores)."""
    return SERVER_CORE | DRIVER_CORE <= MACHINE_CORES


def free_port() -> int:
    """A free port below the ephemeral range, so client sockets never take it meanwhile."""
    low = 20000
    with contextlib.suppress(OSError, ValueError):
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low = min(low, int(f.read().split()[0]) - 2000)
    for _ in range(200):
        port = random.randrange(max(1024, low - 8000), low)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port found")


def base_env(home: Path, **extra: str) -> dict[str, str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home),
           "LANG": "C.UTF-8", "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
    env.update(extra)
    return env


@attrs.define
class Server:
    name: str
    url: str
    proc: subprocess.Popen[bytes] | None  # None: not ours to stop (direct = the upstream)
    log: Path
    bearer: str = "bench"
    pid_override: int | None = None

    @property
    def pid(self) -> int:
        if self.pid_override is not None:
            return self.pid_override
        assert self.proc is not None
        return self.proc.pid

    def pids(self) -> list[int]:
        return procstat.tree(self.pid)

    def stop(self, grace: float = 10.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGINT)
        try:
            self.proc.wait(grace)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)


def _spawn(name: str, argv: list[str], env: dict[str, str], workdir: Path,
           cores: set[int]) -> tuple[subprocess.Popen[bytes], Path]:
    log = workdir / f"{name}.log"
    if pinned():
        argv = ["taskset", "-c", ",".join(map(str, sorted(cores))), *argv]
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, env=env, cwd=workdir, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    return proc, log


def wait_ready(server: Server, path: str, deadline: float = 60.0) -> None:
    """Poll ``GET url+path`` until it answers 200; raise with the log's tail otherwise."""
    end = time.monotonic() + deadline
    with httpx2.Client(timeout=2) as client:
        while time.monotonic() < end:
            if server.proc is not None and server.proc.poll() is not None:
                break
            try:
                if client.get(server.url + path).status_code == 200:
                    return
            except httpx2.HTTPError:
                pass
            time.sleep(0.1)
    tail = server.log.read_text(errors="replace")[-2000:] if server.log.exists() else ""
    server.stop(1)
    raise RuntimeError(f"{server.name} did not become ready:\n{tail}")


def start_upstream(workdir: Path) -> Server:
    port = free_port()
    proc, log = _spawn("upstream", [PY, "-m", "bench.upstream", "--port", str(port)],
                       base_env(workdir), workdir, DRIVER_CORE)
    server = Server("upstream", f"http://127.0.0.1:{port}", proc, log)
    wait_ready(server, "/health")
    return server


def direct(upstream: Server) -> Server:
    return Server("direct", upstream.url, None, upstream.log, pid_override=upstream.pid)


def start_floor(workdir: Path, upstream: Server, max_connections: int = 1024, *,
                wrap: Sequence[str] = ()) -> Server:
    """The bare proxy; ``wrap``: a command to run it under (e.g. valgrind)."""
    port = free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    argv = [*wrap, PY, "-m", "bench.floor", "--upstream", upstream.url, "--port", str(port),
            "--max-connections", str(max_connections)]
    proc, log = _spawn("floor", argv, base_env(workdir), workdir, SERVER_CORE)
    server = Server("floor", f"http://127.0.0.1:{port}", proc, log)
    wait_ready(server, "/health", deadline=600 if wrap else 60)
    return server


def ours_config(workdir: Path, upstream: Server, max_connections: int) -> Path:
    path = workdir / "openresponses.toml"
    path.write_text(
        f'[server]\nstore = "sqlite:///{workdir}/bench.db"\n'
        f'[providers.groq]\nbase_url = "{upstream.url}/v1"\napi_key_env = "GROQ_API_KEY"\n'
        f"max_connections = {max_connections}\n"
        f'[providers.anthropic]\nbase_url = "{upstream.url}"\n'
        f'api_key_env = "ANTHROPIC_API_KEY"\nmax_connections = {max_connections}\n'
    )
    return path


def start_ours(workdir: Path, upstream: Server, max_connections: int = 1024, *,
               wrap: Sequence[str] = (), workers: int = 1, name: str = "",
               extra_env: Mapping[str, str] | None = None,
               cores: set[int] | None = None) -> Server:
    """``openresponses serve`` (one worker, or ``--workers N`` on every core: target
    ``ours-w2``) with groq and anthropic pointed at the fake; ``wrap``: a command to run it
    under (e.g. valgrind; with several workers it must follow the children); ``name``,
    ``extra_env`` and ``cores``: diagnosis variants (``bench cpu``'s ``ours-mp``,
    ``ours-w2@0``, ``ours@01``)."""
    port = free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    config = ours_config(workdir, upstream, max_connections)
    settings = {"GROQ_API_KEY": "bench-upstream-key", "ANTHROPIC_API_KEY": "bench-upstream-key",
                "OPENRESPONSES_PROVIDER_MAILBOX": str(max(1024, max_connections)),
                "OPENRESPONSES_RATE_LIMIT_IP_PER_MINUTE": "0",
                "OPENRESPONSES_RATE_LIMIT_KEY_PER_DAY": "0", "OPENRESPONSES_UPSTREAM_RETRIES": "0"}
    env = base_env(workdir, **{**settings, **(extra_env or {})})  # extra_env wins (--gateway-env)
    argv = [*wrap, PY, "-m", "openresponses", "serve", "--host", "127.0.0.1", "--port", str(port),
            "--config", str(config)]
    if workers > 1:
        argv += ["--workers", str(workers)]
        name, cores = name or f"ours-w{workers}", cores or SERVER_CORE | DRIVER_CORE
    name, cores = name or "ours", cores or SERVER_CORE
    proc, log = _spawn(name, argv, env, workdir, cores)
    server = Server(name, f"http://127.0.0.1:{port}", proc, log)
    wait_ready(server, "/health", deadline=600 if wrap else 60)
    if workers > 1:
        _wait_logged(log, "serving on", workers + 1, deadline=600 if wrap else 60)
    return server


def _wait_logged(log: Path, text: str, count: int, deadline: float = 60.0) -> None:
    """Wait until ``text`` appears ``count`` times in the log (every worker is serving)."""
    end = time.monotonic() + deadline
    while log.read_text(errors="replace").count(text) < count:
        if time.monotonic() > end:
            raise RuntimeError(f"{log.name}: fewer than {count} {text!r} lines after {deadline}s")
        time.sleep(0.2)


def start_litellm(workdir: Path, upstream: Server, models: set[str]) -> Server:
    """The LiteLLM proxy from its own virtualenv, one worker, logging off, no database."""
    port = free_port()
    key = "sk-bench-" + os.urandom(16).hex()  # a throwaway local master key
    config = write_litellm_config(workdir, upstream.url, models)
    env = base_env(workdir, LITELLM_MASTER_KEY=key, LITELLM_LOG="ERROR",
                   LITELLM_LOCAL_MODEL_COST_MAP="True", LITELLM_DONT_SHOW_FEEDBACK_BOX="true")
    del env["PYTHONPATH"]
    proc, log = _spawn("litellm", litellm_command(config, port), env, workdir, SERVER_CORE)
    server = Server("litellm", f"http://127.0.0.1:{port}", proc, log, bearer=key)
    wait_ready(server, "/health/liveliness", deadline=120)
    return server
