"""LiteLLM proxy in its own virtualenv (``bench/.venv-litellm``), at a pinned PyPI version.

The config routes every ``groq@…`` name to LiteLLM's ``groq/`` provider (Chat Completions) and
every ``claude@…`` name to ``anthropic/`` (Messages), both at the fake upstream; no database,
no callbacks, message logging off, the cost map read locally (no fetch at start-up).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import orjson

LITELLM_VERSION = "1.106.12"
VENV = Path(__file__).resolve().parent / ".venv-litellm"
_STAMP = VENV / f".installed-{LITELLM_VERSION}"


def ensure_litellm(log: Callable[[str], None] = print) -> Path:
    """Create the virtualenv and install ``litellm[proxy]==LITELLM_VERSION`` once."""
    if _STAMP.exists():
        return VENV
    log(f"installing litellm[proxy]=={LITELLM_VERSION} into {VENV} (once, about a minute)")
    if not (VENV / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run([str(VENV / "bin" / "python"), "-m", "pip", "install", "-q",
                    "--disable-pip-version-check", f"litellm[proxy]=={LITELLM_VERSION}"],
                   check=True)
    _STAMP.touch()
    return VENV


def write_litellm_config(workdir: Path, upstream_url: str, models: set[str]) -> Path:
    """A YAML config (written as JSON, which YAML reads) listing ``models``."""
    entries = []
    for name in sorted(models):
        prefix, _, model = name.partition("@")
        if prefix == "claude":
            params = {"model": f"anthropic/{model}", "api_base": upstream_url}
        else:
            params = {"model": f"groq/{model}", "api_base": f"{upstream_url}/v1"}
        params["api_key"] = "bench-upstream-key"
        entries.append({"model_name": name, "litellm_params": params})
    config = {
        "model_list": entries,
        "litellm_settings": {"set_verbose": False, "turn_off_message_logging": True,
                             "drop_params": True, "callbacks": [], "success_callback": [],
                             "failure_callback": [], "request_timeout": 600},
        "general_settings": {"disable_spend_logs": True, "disable_error_logs": True},
    }
    path = workdir / "litellm.yaml"
    path.write_bytes(orjson.dumps(config, option=orjson.OPT_INDENT_2))
    return path


def litellm_command(config: Path, port: int) -> list[str]:
    return [str(VENV / "bin" / "litellm"), "--config", str(config), "--host", "127.0.0.1",
            "--port", str(port), "--num_workers", "1"]
