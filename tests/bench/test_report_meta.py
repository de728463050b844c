"""The results file names the code a run measured: the commit as the run started."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from bench import report


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git repository standing in for this one (``report._git`` runs in it)."""
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "config", "user.email", "bench@example.invalid")
    _git(tmp_path, "config", "user.name", "bench")
    (tmp_path / "openresponses").mkdir()
    (tmp_path / "openresponses" / "app.py").write_text("x = 1\n")
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-q", "-m", "measured")
    monkeypatch.setattr(report, "RESULTS", tmp_path / "bench" / "results")
    return tmp_path


def _head(repo: Path) -> str:
    done = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], check=True,
                          capture_output=True, text=True)
    return done.stdout.strip()[:12]


def test_the_commit_and_tree_are_those_at_the_start_of_the_run(repo: Path) -> None:
    measured = report.source()
    at_start = _head(repo)
    (repo / "openresponses" / "app.py").write_text("x = 2\n")  # edited, then committed, mid-run
    _git(repo, "commit", "-q", "-am", "during the run")
    (repo / "openresponses" / "app.py").write_text("x = 3\n")
    meta = report.meta(["--quick"], 0.0, (0.0, 0.0, 0.0), measured)
    assert (meta["commit"], meta["dirty_tree"]) == (at_start, False)
    assert at_start != _head(repo)
    assert report.source()["dirty_tree"] is True
