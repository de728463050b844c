"""Anthropic error envelopes → the gateway's error tree.

``{"type": "error", "error": {"type", "message"}, "request_id"}`` arrives as the body of an HTTP
error or as an ``event: error`` inside a 200 stream; both go through ``map_error_object``, which
maps by the error ``type`` (the HTTP status is only a fallback). Messages are redacted.

=====================  =======  ==================================
Anthropic type         status   our type / code
=====================  =======  ==================================
invalid_request_error  400      invalid_request_error
authentication_error   401      authentication_error
permission_error       403      permission_error
not_found_error        404      not_found_error
request_too_large      413      invalid_request_error / request_too_large
rate_limit_error       429      rate_limit_exceeded (+ Retry-After)
billing_error          429      insufficient_quota (as OpenAI reports it)
api_error              502      server_error / upstream_error
overloaded_error       503      server_error / overloaded
timeout_error          504      server_error / upstream_timeout
=====================  =======  ==================================
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from openresponses.errors import (
    AuthenticationFailed,
    GatewayError,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    RateLimited,
    RequestTooLarge,
    UpstreamError,
)
from openresponses.providers.errors import map_openai_error, redact, retry_after


def map_error(status: int, body: bytes, headers: Mapping[str, str]) -> GatewayError:
    """Map an HTTP error answer from Anthropic (never echoing credentials)."""
    error = _error_object(body)
    if error is None:  # not Anthropic's envelope (a proxy's page, an empty body): by status
        return map_openai_error(status, body, headers)
    return map_error_object(error, status=status, wait=retry_after(headers))


def map_error_object(
    error: Mapping[str, Any], *, status: int | None = None, wait: float | None = None
) -> GatewayError:
    """Map the inner ``error`` object (``{"type", "message"}``) of an HTTP or stream error."""
    kind = error.get("type")
    raw = error.get("message")
    message = redact(raw.strip()) if isinstance(raw, str) else ""
    message = message or f"Anthropic returned {kind or f'HTTP {status}'}"
    match kind:
        case "invalid_request_error":
            return InvalidRequest(message)
        case "authentication_error":
            return AuthenticationFailed(message)
        case "permission_error":
            return PermissionDenied(message)
        case "not_found_error":
            return NotFound(message, type="not_found_error")
        case "request_too_large":
            return RequestTooLarge(message)
        case "rate_limit_error":
            return RateLimited(message, retry_after=wait)
        case "billing_error":
            return RateLimited(message, type="insufficient_quota", code="insufficient_quota")
        case "api_error":
            return _server(message, 502, "upstream_error", wait)
        case "overloaded_error":
            return _server(message, 503, "overloaded", wait)
        case "timeout_error":
            return _server(message, 504, "upstream_timeout", wait)
    if status is not None and 400 <= status < 500:
        return UpstreamError(message, status=status, type="invalid_request_error")
    return _server(message, 502, "upstream_error", wait)


def _server(message: str, status: int, code: str, wait: float | None) -> UpstreamError:
    return UpstreamError(message, status=status, type="server_error", code=code, retry_after=wait)


def _error_object(body: bytes) -> Mapping[str, Any] | None:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    error = data.get("error") if isinstance(data, dict) else None
    return error if isinstance(error, dict) and isinstance(error.get("type"), str) else None
