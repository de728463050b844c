# OpenResponses: `just serve` and `just test` are all a user needs.
set shell := ["bash", "-euo", "pipefail", "-c"]

venv := ".venv"
py := venv / "bin/python"

# Create .venv and install the project with its dev extras (only when pyproject.toml changed).
setup:
    #!/usr/bin/env bash
    set -euo pipefail
    if [ ! -x {{py}} ]; then python3 -m venv {{venv}}; fi
    stamp={{venv}}/.installed
    if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
        {{py}} -m pip install -q --upgrade pip
        {{py}} -m pip install -q -e '.[dev]'
        touch "$stamp"
    fi

# Run the gateway on :6644 (extra args go to `openresponses serve`).
serve *ARGS: setup
    {{py}} -m openresponses serve {{ARGS}}

# Run the test suite (extra args go to pytest).
test *ARGS: setup
    {{py}} -m pytest {{ARGS}}

# ruff + mypy --strict.
lint: setup
    {{venv}}/bin/ruff check .
    {{venv}}/bin/mypy

# Benchmarks (see bench/README.md).
bench *ARGS: setup
    {{py}} -m bench {{ARGS}}
