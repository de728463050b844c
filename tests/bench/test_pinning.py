"""The benchmark pins what it starts even after the driver has pinned itself to its core."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bench import targets

# Run in a child: pinning the test process itself would slow the rest of the suite.
_CHILD = textwrap.dedent("""
    import os, pathlib, sys
    from bench import targets
    os.sched_setaffinity(0, targets.DRIVER_CORE)      # what run.prepare_process does
    print(targets.pinned())
    proc, _log = targets._spawn("probe", [sys.executable, "-c",
                                "import os; print(sorted(os.sched_getaffinity(0)))"],
                                targets.base_env(targets.REPO), pathlib.Path(sys.argv[1]),
                                targets.SERVER_CORE)
    proc.wait(30)
""")


@pytest.mark.skipif(not targets.pinned(), reason="needs cores 0 and 1")
def test_a_server_started_after_the_driver_pinned_itself_runs_on_its_core(
    tmp_path: Path,
) -> None:
    done = subprocess.run([sys.executable, "-c", _CHILD, str(tmp_path)], capture_output=True,
                          text=True, timeout=60, cwd=targets.REPO,
                          env={**os.environ, "PYTHONPATH": str(targets.REPO)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True"]
    assert (tmp_path / "probe.log").read_text().strip() == str(sorted(targets.SERVER_CORE))


def test_pinning_is_decided_on_the_cores_the_process_started_with(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(targets, "MACHINE_CORES", frozenset({0}))
    assert not targets.pinned()
    monkeypatch.setattr(targets, "MACHINE_CORES", frozenset({0, 1, 2}))
    assert targets.pinned()
