"""The public surface of ``openresponses.observability``."""

from __future__ import annotations

import openresponses.observability as observability

EXPECTED = {
    "Drain", "JsonFormatter", "Metrics", "Ops", "RedactingFilter", "RequestRecord",
    "SecretMask", "ShuttingDown", "configure_logging", "current_request", "instrument",
}


def test_all_lists_exactly_the_public_names() -> None:
    assert set(observability.__all__) == EXPECTED
    for name in observability.__all__:
        assert getattr(observability, name) is not None
