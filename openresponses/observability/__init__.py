"""Operability: Prometheus metrics, structured JSON logs, request ids, graceful drain.

``Ops`` (metrics + drain + actor statistics) is built at start-up and handed to the app and
the run; nothing here keeps global state beyond the ``current_request`` context variable.
"""

from openresponses.observability.http import instrument as instrument
from openresponses.observability.lifecycle import Drain as Drain
from openresponses.observability.lifecycle import ShuttingDown as ShuttingDown
from openresponses.observability.logs import JsonFormatter as JsonFormatter
from openresponses.observability.logs import RedactingFilter as RedactingFilter
from openresponses.observability.logs import RequestRecord as RequestRecord
from openresponses.observability.logs import SecretMask as SecretMask
from openresponses.observability.logs import configure_logging as configure_logging
from openresponses.observability.logs import current_request as current_request
from openresponses.observability.metrics import Metrics as Metrics
from openresponses.observability.observer import Ops as Ops

__all__ = [
    "Drain",
    "JsonFormatter",
    "Metrics",
    "Ops",
    "RedactingFilter",
    "RequestRecord",
    "SecretMask",
    "ShuttingDown",
    "configure_logging",
    "current_request",
    "instrument",
]
