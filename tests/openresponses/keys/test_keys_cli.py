"""``openresponses keys create|list|revoke`` against a store file."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from openresponses.__main__ import main
from openresponses.keys import hash_key
from openresponses.store.sqlite import SqliteStore


@pytest.fixture
def store_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "cli.db"
    monkeypatch.setenv("OPENRESPONSES_STORE", f"sqlite:///{path}")
    monkeypatch.delenv("OPENRESPONSES_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)  # no ./openresponses.toml
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    """Exit status and stdout (stderr stays readable through ``capsys``)."""
    status = main(["keys", *argv])
    captured = capsys.readouterr()
    print(captured.err, end="", file=sys.stderr)
    return status, captured.out


def test_create_prints_the_key_once_and_stores_its_hash(
    store_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out = run(capsys, "create", "--name", "ci bot", "--allow", "groq@*",
                      "--allow", "openai@gpt-4o*", "--requests-per-day", "50",
                      "--tokens-per-minute", "9000", "--expires-in-days", "1")
    assert status == 0
    key = out.strip().splitlines()[-1]
    assert key.startswith("or-")
    store = SqliteStore(str(store_path))
    try:
        record = store.find_key(hash_key(key))
    finally:
        store.close()
    assert record is not None
    assert record.name == "ci bot"
    assert record.allowed == ("groq@*", "openai@gpt-4o*")
    assert (record.limits.requests_per_day, record.limits.tokens_per_minute) == (50, 9000)
    assert record.expires_at is not None
    assert record.expires_at - record.created_at == 86_400
    assert key.encode() not in store_path.read_bytes()


def test_list_shows_records_never_keys_and_revoke_marks_them(
    store_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, created = run(capsys, "create", "--name", "alice", "--json")
    made = json.loads(created)
    status, listed = run(capsys, "list", "--json")
    assert status == 0
    [shown] = json.loads(listed)
    assert shown == {k: v for k, v in made.items() if k != "key"}
    assert made["key"] not in listed
    status, out = run(capsys, "revoke", made["id"])
    assert status == 0
    assert made["id"] in out
    _, table = run(capsys, "list")
    assert "revoked" in table
    assert "alice" in table


def test_revoking_an_unknown_id_fails(
    store_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _ = run(capsys, "revoke", "key_nope")
    assert status == 1
    assert "key_nope" in capsys.readouterr().err


def test_update_changes_what_its_options_name_and_keeps_the_rest(
    store_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, created = run(capsys, "create", "--name", "ci", "--allow", "groq@*",
                     "--requests-per-day", "50", "--tokens-per-minute", "9000", "--json")
    made = json.loads(created)
    status, out = run(capsys, "update", made["id"], "--requests-per-minute", "3",
                      "--requests-per-day", "default", "--allow", "openai@*", "--allow",
                      "claude@*", "--json")
    assert status == 0
    updated = json.loads(out)
    assert updated["limits"] == {"requests_per_minute": 3, "requests_per_day": None,
                                 "tokens_per_minute": 9000}
    assert (updated["name"], updated["allowed"]) == ("ci", ["openai@*", "claude@*"])
    status, out = run(capsys, "update", made["id"], "--name", "ci-nightly", "--allow-all")
    assert status == 0
    assert out.startswith(f"updated {made['id']} (ci-nightly): models *; limits ")
    store = SqliteStore(str(store_path))
    try:
        record = store.find_key(hash_key(made["key"]))
    finally:
        store.close()
    assert record is not None
    assert (record.name, record.allowed, record.limits.requests_per_minute) == (
        "ci-nightly", (), 3)


def test_update_refuses_an_unknown_id_nothing_to_do_and_bad_values(
    store_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _ = run(capsys, "update", "key_nope", "--name", "x")
    assert status == 1
    assert "key_nope" in capsys.readouterr().err
    _, created = run(capsys, "create", "--name", "ci", "--json")
    key_id = json.loads(created)["id"]
    status, _ = run(capsys, "update", key_id)
    assert status == 2
    assert "nothing to update" in capsys.readouterr().err
    for bad in (["--requests-per-minute", "-1"], ["--allow", "a", "--allow-all"]):
        with pytest.raises(SystemExit) as exited:
            run(capsys, "update", key_id, *bad)
        assert exited.value.code == 2
