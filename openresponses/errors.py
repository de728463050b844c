"""The gateway's error tree and the single OpenAI error renderer.

::

    GatewayError                      (status, type, code, param, message)
    ├── InvalidRequest                400 invalid_request_error
    │   └── PreviousResponseNotFound  400 invalid_request_error / previous_response_not_found
    ├── AuthenticationFailed          401 authentication_error
    ├── PermissionDenied              403 permission_error
    ├── NotFound                      404 not_found_error (invalid_request_error for OpenAI parity)
    ├── RequestTooLarge               413 invalid_request_error
    ├── RateLimited                   429 rate_limit_exceeded (+ Retry-After)
    ├── UpstreamError                 any status, mapped from a provider's error body
    ├── Overloaded                    503 server_error (a full mailbox: shed load at once)
    └── UpstreamUnavailable           502 / 504 server_error (connect errors, timeouts)

Foreign exceptions (httpx, drivers, provider error bodies) are mapped to these at the boundary
(``openresponses.gateway.upstream``); every HTTP and stream error is rendered by ``error_body``.
"""

from __future__ import annotations

from typing import Any


class GatewayError(Exception):
    """An error with everything needed to render an OpenAI error envelope."""

    status: int = 500
    type: str = "server_error"
    code: str | None = None

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        status: int | None = None,
        type: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        if type is not None:
            self.type = type
        self.retry_after = retry_after

    def to_dict(self) -> dict[str, Any]:
        """The inner ``error`` object: ``{"message","type","param","code"}``."""
        return {"message": self.message, "type": self.type, "param": self.param, "code": self.code}


class InvalidRequest(GatewayError):
    status = 400
    type = "invalid_request_error"


class PreviousResponseNotFound(InvalidRequest):
    code = "previous_response_not_found"

    def __init__(self, response_id: str) -> None:
        super().__init__(
            f"Previous response with id '{response_id}' not found.",
            param="previous_response_id",
        )


class PreviousResponseUnfinished(InvalidRequest):
    """The previous response is a background one still queued or running: its output is not
    known yet, so a turn after it would see a different history than the next one."""

    code = "previous_response_in_progress"

    def __init__(self, response_id: str, status: str) -> None:
        super().__init__(
            f"Previous response with id '{shown(response_id)}' is {status.replace('_', ' ')}; "
            "wait for it to finish before continuing from it.",
            param="previous_response_id",
        )


class AuthenticationFailed(GatewayError):
    status = 401
    type = "authentication_error"


class PermissionDenied(GatewayError):
    status = 403
    type = "permission_error"


class NotFound(GatewayError):
    status = 404
    type = "invalid_request_error"


class RequestTooLarge(GatewayError):
    status = 413
    type = "invalid_request_error"
    code = "request_too_large"


class RateLimited(GatewayError):
    status = 429
    type = "rate_limit_exceeded"
    code = "rate_limit"


class UpstreamError(GatewayError):
    """A provider answered with an error; status/type already mapped to ours."""


class Overloaded(GatewayError):
    status = 503
    type = "server_error"
    code = "overloaded"


class UpstreamUnavailable(GatewayError):
    status = 502
    type = "server_error"
    code = "upstream_unavailable"


def error_body(error: GatewayError) -> dict[str, Any]:
    """Render ``{"error": {...}}`` — the one envelope used everywhere."""
    return {"error": error.to_dict()}


def internal_error() -> GatewayError:
    """The error shown for a bug: no traceback, no detail that could leak a secret."""
    return GatewayError("The server had an error while processing your request.", code="internal")


def shown(value: str, limit: int = 64) -> str:
    """A client's string as a message, a log line or a header quotes it: printable ASCII only
    (anything else becomes ``?``: no line breaks to forge a header or a log line with), and at
    most ``limit`` characters (then ``...``)."""
    text = "".join(c if " " <= c <= "~" else "?" for c in value[:limit])
    return text + "..." if len(value) > limit else text
