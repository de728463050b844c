"""Upstream failures mapped to the gateway's error tree (``openresponses.errors``), in one place.

- ``map_openai_error``: an HTTP error answer with an OpenAI-like body (OpenAI, Groq, OpenRouter,
  Mistral, DeepSeek...; also Gemini's google.rpc and Anthropic's envelope, and non-JSON bodies).
- ``map_stream_error``: an error that arrives inside a 200 stream (Groq ``event: error``,
  Responses ``error`` / ``response.failed``).
- ``map_transport_error``: httpx2 / trio exceptions (connect errors, timeouts, broken streams).

Messages keep the provider's text, passed through ``redact`` so no credential is ever echoed;
transport errors use fixed messages (an exception's text may contain the URL).
"""

from __future__ import annotations

import email.utils
import re
import time
from collections.abc import Mapping
from typing import Any

import httpx2
import orjson
import trio

from openresponses.errors import (
    AuthenticationFailed,
    GatewayError,
    InvalidRequest,
    PermissionDenied,
    RateLimited,
    RequestTooLarge,
    UpstreamError,
    UpstreamUnavailable,
)

_REDACTED = "[redacted]"
_KEY_PATTERNS = re.compile(
    r"sk-ant-[A-Za-z0-9_\-]{6,}"
    r"|sk-[A-Za-z0-9_\-]{6,}"
    r"|gsk_[A-Za-z0-9]{6,}"
    r"|xai-[A-Za-z0-9]{10,}"
    r"|fw_[A-Za-z0-9]{10,}"
    r"|AIza[0-9A-Za-z_\-]{10,}"
    r"|(?i:bearer)\s+[^\s\"',;]+"
)
# A long token after a word that names a secret ("api_key=...", "key: ...", "token ...").
_LABELLED_SECRET = re.compile(
    r"(?i)\b((?:x-)?(?:api[-_ ]?)?(?:key|token|secret|password|authorization)s?)"
    r"(\"?\s*[:=]\s*\"?|\s+)"
    r"([A-Za-z0-9_\-.+/=]{16,})"
)

_BAD_REQUEST_CODES = frozenset({"tool_use_failed", "context_length_exceeded"})
_TYPE_BY_STATUS = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "invalid_request_error",
    429: "rate_limit_exceeded",
}


def redact(text: str) -> str:
    """``text`` with anything that looks like an API key or bearer token replaced."""
    text = _KEY_PATTERNS.sub(_REDACTED, text)
    return _LABELLED_SECRET.sub(lambda m: f"{m.group(1)}{m.group(2)}{_REDACTED}", text)


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``Retry-After`` (seconds or HTTP date)."""
    lower = {k.lower(): v for k, v in headers.items()}
    millis = lower.get("retry-after-ms")
    if millis:
        try:
            return max(float(millis) / 1000.0, 0.0)
        except ValueError:
            pass
    value = lower.get("retry-after")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


def map_openai_error(status: int, body: bytes, headers: Mapping[str, str]) -> GatewayError:
    """Map an upstream HTTP error answer to our error tree (status first, body for details)."""
    message, param, code, gemini_reason = _parse_body(status, body)
    wait = retry_after(headers)
    if status == 401 or gemini_reason == "API_KEY_INVALID":
        return AuthenticationFailed(message, code=code)
    if status in (400, 422):
        return InvalidRequest(message, param=param, code=code)
    if status == 403:
        return PermissionDenied(message, code=code)
    if status == 404:
        return UpstreamError(message, status=404, type="not_found_error", code=code)
    if status == 413:
        return RequestTooLarge(message)
    if status == 429:
        return RateLimited(message, code=code, retry_after=wait)
    if status in (408, 504):
        return UpstreamError(message, status=504, type="server_error", code=code)
    if status in (503, 529):
        code = code or "overloaded"
        return UpstreamError(message, status=503, type="server_error", code=code, retry_after=wait)
    if status >= 500:
        return UpstreamError(message, status=502, type="server_error", code=code, retry_after=wait)
    return UpstreamError(message, status=status, type="invalid_request_error", code=code)


def map_stream_error(error: Mapping[str, Any]) -> UpstreamError:
    """Map an in-band error object (``{"message","type","code","param","status_code"}``).

    The status is 502 (``server_error``) unless the object gives one (``status_code``, an
    integer ``code``) or a code that implies one (``rate_limit_exceeded``, ``invalid_*``).
    """
    message = _message(error) or "upstream stream failed"
    raw_code = error.get("code")
    code = raw_code if isinstance(raw_code, str) else None
    status = error.get("status_code")
    if not isinstance(status, int) and isinstance(raw_code, int):
        status = raw_code
    if not isinstance(status, int) or not 400 <= status <= 599:
        status = _status_for_code(code)
    if status == 422:
        status = 400
    elif status in (408, 504):
        status = 504
    elif status in (503, 529):
        status = 503
    elif status >= 500:
        status = 502
    param = error.get("param")
    return UpstreamError(
        message,
        status=status,
        type=_TYPE_BY_STATUS.get(status, "server_error"),
        code=code,
        param=param if isinstance(param, str) else None,
    )


def map_transport_error(exc: Exception) -> GatewayError:
    """Map an httpx2 / trio exception; the message never includes the exception's text."""
    if isinstance(exc, httpx2.TimeoutException | trio.TooSlowError | TimeoutError):
        return UpstreamUnavailable("upstream timed out", status=504, code="upstream_timeout")
    if isinstance(exc, httpx2.ConnectError):
        return UpstreamUnavailable("could not connect to upstream", status=502)
    if isinstance(exc, httpx2.RemoteProtocolError | httpx2.ReadError):
        return UpstreamUnavailable("upstream connection closed unexpectedly", status=502)
    return UpstreamUnavailable(f"upstream request failed ({type(exc).__name__})", status=502)


def _status_for_code(code: str | None) -> int:
    if code in ("rate_limit_exceeded", "rate_limit", "insufficient_quota"):
        return 429
    if code and (code.startswith("invalid_") or code in _BAD_REQUEST_CODES):
        return 400
    return 502


def _parse_body(status: int, body: bytes) -> tuple[str, str | None, str | None, str | None]:
    """(message, param, code, Gemini ErrorInfo reason) from any of the known envelopes."""
    fallback = f"upstream returned HTTP {status}"
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return _text_message(body, fallback), None, None, None
    if not isinstance(data, dict):
        return fallback, None, None, None
    error = data.get("error")
    if isinstance(error, str):
        return redact(error) or fallback, None, None, None
    if not isinstance(error, dict):
        error = data  # {"message": ...} or {"detail": ...}
    message = _message(error) or fallback
    param = error.get("param")
    code = error.get("code")
    if not isinstance(code, str):  # OpenRouter / Gemini put the HTTP status here
        rpc_status = error.get("status")  # Gemini: "RESOURCE_EXHAUSTED", "INVALID_ARGUMENT"
        code = rpc_status.lower() if isinstance(rpc_status, str) else None
    return message, param if isinstance(param, str) else None, code, _gemini_reason(error)


def _message(error: Mapping[str, Any]) -> str:
    """The provider's message (Groq's ``failed_generation`` left out), redacted."""
    message = error.get("message")
    if not isinstance(message, str):
        detail = error.get("detail")
        message = detail if isinstance(detail, str) else ""
    metadata = error.get("metadata")
    raw = metadata.get("raw") if isinstance(metadata, dict) else None
    if isinstance(raw, str) and raw and raw not in message:
        message = f"{message}: {raw}" if message else raw
    return redact(message.strip())


def _gemini_reason(error: Mapping[str, Any]) -> str | None:
    details = error.get("details")
    if not isinstance(details, list):
        return None
    for detail in details:
        if isinstance(detail, dict) and isinstance(detail.get("reason"), str):
            return str(detail["reason"])
    return None


def _text_message(body: bytes, fallback: str) -> str:
    text = body.decode("utf-8", "replace").strip()
    if not text or len(text) > 500 or "<" in text:  # empty, huge, or an HTML error page
        return fallback
    return f"{fallback}: {redact(text)}"
