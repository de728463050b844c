"""Anthropic error answers (E09-E13 and synthetic ones) mapped to our error envelope."""

from __future__ import annotations

import orjson
import pytest

from openresponses.errors import error_body
from openresponses.providers.anthropic import AnthropicProtocol
from tests.transcripts import load

PROTOCOL = AnthropicProtocol()


def envelope(kind: str, message: str) -> bytes:
    return orjson.dumps(
        {"type": "error", "error": {"type": kind, "message": message}, "request_id": "req_1"}
    )


@pytest.mark.parametrize(
    ("name", "status", "type_", "message"),
    [
        ("E09", 401, "authentication_error", "invalid x-api-key"),
        ("E10", 401, "authentication_error", "invalid x-api-key"),
        (
            "E11",
            400,
            "invalid_request_error",
            "messages.0: Input does not match the expected shape.",
        ),
        ("E12", 404, "not_found_error", "model: this-model-does-not-exist-12345"),
        ("E13", 404, "not_found_error", "model: this-model-does-not-exist-12345"),
    ],
)
def test_recorded_anthropic_errors_map_to_status_and_type(
    name: str, status: int, type_: str, message: str
) -> None:
    t = load(name)
    error = PROTOCOL.map_error(t.status, t.body, t.headers)
    assert (error.status, error.type, error.message) == (status, type_, message)


@pytest.mark.parametrize(
    ("http", "kind", "status", "type_", "code"),
    [
        (403, "permission_error", 403, "permission_error", None),
        (413, "request_too_large", 413, "invalid_request_error", "request_too_large"),
        (500, "api_error", 502, "server_error", "upstream_error"),
        (529, "overloaded_error", 503, "server_error", "overloaded"),
        (504, "timeout_error", 504, "server_error", "upstream_timeout"),
        (402, "billing_error", 429, "insufficient_quota", "insufficient_quota"),
        (418, "teapot_error", 418, "invalid_request_error", None),
        (500, "brand_new_error", 502, "server_error", "upstream_error"),
    ],
)
def test_error_types_map_to_our_statuses(
    http: int, kind: str, status: int, type_: str, code: str | None
) -> None:
    error = PROTOCOL.map_error(http, envelope(kind, "boom"), {})
    assert (error.status, error.type, error.code) == (status, type_, code)


def test_rate_limit_carries_retry_after() -> None:
    error = PROTOCOL.map_error(429, envelope("rate_limit_error", "slow down"), {"retry-after": "7"})
    assert (error.status, error.type, error.retry_after) == (429, "rate_limit_exceeded", 7.0)


def test_non_json_error_bodies_map_by_status() -> None:
    error = PROTOCOL.map_error(502, b"<html>Bad gateway</html>", {})
    assert (error.status, error.type) == (502, "server_error")
    assert "<html>" not in error.message


def test_key_like_strings_never_reach_the_mapped_message() -> None:
    key = "sk-ant-" + "api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"  # fake, split for scanners
    message = f"invalid x-api-key {key} (Bearer {key})"
    error = PROTOCOL.map_error(401, envelope("authentication_error", message), {})
    rendered = orjson.dumps(error_body(error)).decode()
    assert "AbCdEfGh" not in rendered
    assert error.status == 401
