"""Every log record of the test run, formatted as the gateway's JSON log lines.

``tests/conftest.py`` installs ``CAPTURE`` on the root logger for the whole session; the
secret grep in ``tests/e2e/test_observability.py`` (moved to the end of the run) reads it.
Lines read from subprocess gateways are added with ``CAPTURE.extend``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from openresponses.observability.logs import JsonFormatter


class CaptureHandler(logging.Handler):
    """Keeps each record as the JSON line the gateway would write (secret patterns masked;
    exact keys are not known here, so a key that matches no pattern must never be logged)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(self.format(record))
        except Exception:  # a broken record must not break the test that logged it
            self.handleError(record)

    def extend(self, lines: Iterable[str]) -> None:
        self.lines.extend(lines)


CAPTURE = CaptureHandler()
