"""Suite-wide: capture every log record (see ``tests/log_capture.py``) and run the secret grep
after everything else."""

from __future__ import annotations

import logging

import pytest

from tests.log_capture import CAPTURE

LAST = "test_no_key_appears_in_any_log_output"


def pytest_configure(config: pytest.Config) -> None:
    root = logging.getLogger()
    root.addHandler(CAPTURE)
    if root.getEffectiveLevel() > logging.INFO:
        root.setLevel(logging.INFO)


def pytest_unconfigure(config: pytest.Config) -> None:
    logging.getLogger().removeHandler(CAPTURE)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.name == LAST)  # stable: only the grep moves, to the end
