"""What a server process costs, read from /proc: CPU seconds, RSS, pinning, its process tree."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable

_TICK = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


def tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (LiteLLM and wrappers may fork)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            with open(f"/proc/{entry}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo += children.get(current, [])
    return found


def cpu_seconds(pids: Iterable[int]) -> float:
    """User + system CPU of the processes (all their threads), in seconds."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            with open(f"/proc/{pid}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
    return total / _TICK


def rss_bytes(pids: Iterable[int]) -> int:
    """Resident set size of the processes, summed."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            with open(f"/proc/{pid}/statm", "rb") as f:
                total += int(f.read().split()[1]) * _PAGE
    return total


def peak_rss_bytes(pid: int) -> int:
    """The process's high-water mark (VmHWM) since it started."""
    with contextlib.suppress(OSError):
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    return 0


def pin(pid: int, cores: set[int]) -> None:
    """Move every thread of ``pid`` (and its descendants) to ``cores``."""
    for proc in tree(pid):
        with contextlib.suppress(OSError):
            for tid in os.listdir(f"/proc/{proc}/task"):
                with contextlib.suppress(OSError):
                    os.sched_setaffinity(int(tid), cores)


def cores() -> int:
    return len(os.sched_getaffinity(0))
