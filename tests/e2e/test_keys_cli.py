"""A key made with ``openresponses keys create`` works on a gateway already serving from the
same store (a revocation by the CLI reaches it within the key cache's 5 s: see the unit tests
of ``KeyDirectory``)."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio

from openresponses.__main__ import main
from tests.e2e.keys_helpers import KEYS_MODE, create_response


@pytest.fixture
def gateway_extra_env() -> dict[str, str]:
    return KEYS_MODE


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main(["keys", *argv]) == 0
    return capsys.readouterr().out


async def test_a_key_created_by_the_cli_is_accepted_by_a_running_gateway(
    gateway_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("OPENRESPONSES_STORE", f"sqlite:///{tmp_path}/gateway.db")  # the same
    monkeypatch.delenv("OPENRESPONSES_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    out = await trio.to_thread.run_sync(cli, capsys, "create", "--name", "from-cli")
    key = out.strip().splitlines()[-1]
    assert (await create_response(gateway_url, key)).status_code == 200
    listed = await trio.to_thread.run_sync(cli, capsys, "list")
    assert "from-cli" in listed
    assert key not in listed
