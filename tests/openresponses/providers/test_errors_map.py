"""Upstream error mapping: recorded error bodies E01-E20, redaction, Retry-After, transport."""

from __future__ import annotations

import email.utils
import json
import re
import time

import httpx2
import pytest
import trio

from openresponses.errors import (
    AuthenticationFailed,
    GatewayError,
    InvalidRequest,
    RateLimited,
    RequestTooLarge,
    UpstreamError,
    UpstreamUnavailable,
)
from openresponses.providers.errors import (
    map_openai_error,
    map_stream_error,
    map_transport_error,
    redact,
    retry_after,
)
from tests.transcripts import load, transcript_ids

KEY_LIKE = re.compile(r"sk-[A-Za-z0-9_-]{6,}|gsk_\w{6,}|AIza[\w-]{10,}|Bearer\s+\S+", re.I)

# id -> (class, status, type, code, param)
EXPECTED: dict[str, tuple[type[GatewayError], int, str, str | None, str | None]] = {
    "E01": (AuthenticationFailed, 401, "authentication_error", "invalid_api_key", None),
    "E02": (AuthenticationFailed, 401, "authentication_error", "invalid_api_key", None),
    "E03": (AuthenticationFailed, 401, "authentication_error", "invalid_api_key", None),
    "E04": (AuthenticationFailed, 401, "authentication_error", "invalid_api_key", None),
    "E05": (UpstreamError, 404, "not_found_error", "model_not_found", None),
    "E06": (InvalidRequest, 400, "invalid_request_error", "model_not_found", "model"),
    "E07": (InvalidRequest, 400, "invalid_request_error", "unsupported_parameter", "stop"),
    "E08": (InvalidRequest, 400, "invalid_request_error", "unsupported_value", "messages[0].role"),
    "E09": (AuthenticationFailed, 401, "authentication_error", None, None),
    "E10": (AuthenticationFailed, 401, "authentication_error", None, None),
    "E11": (InvalidRequest, 400, "invalid_request_error", None, None),
    "E12": (UpstreamError, 404, "not_found_error", None, None),
    "E13": (UpstreamError, 404, "not_found_error", None, None),
    "E14": (InvalidRequest, 400, "invalid_request_error", "tool_use_failed", None),
    "E15": (UpstreamError, 404, "not_found_error", "model_not_found", None),
    "E17": (RateLimited, 429, "rate_limit_exceeded", "rate_limit", None),
    "E18": (AuthenticationFailed, 401, "authentication_error", None, None),
    "E19": (RateLimited, 429, "rate_limit_exceeded", "resource_exhausted", None),
    "E20": (AuthenticationFailed, 401, "authentication_error", "invalid_argument", None),
}


def test_every_recorded_http_error_is_in_the_table() -> None:
    http_errors = {i[:3] for i in transcript_ids("E") if load(i).status >= 400}
    assert http_errors == set(EXPECTED)


@pytest.mark.parametrize("transcript_id", sorted(EXPECTED))
def test_recorded_error_maps_to_status_type_code_param(transcript_id: str) -> None:
    t = load(transcript_id)
    error = map_openai_error(t.status, t.body, t.headers)
    cls, status, type_, code, param = EXPECTED[transcript_id]
    assert isinstance(error, cls)
    assert (error.status, error.type, error.code, error.param) == (status, type_, code, param)
    assert error.message
    assert not KEY_LIKE.search(error.message)


@pytest.mark.parametrize(
    ("transcript_id", "fragment"),
    [
        ("E01", "Incorrect API key provided"),
        ("E05", "The model `this-model-does-not-exist-12345` does not exist"),
        ("E12", "model: this-model-does-not-exist-12345"),
        ("E17", "Provider returned error: google/gemini-2.0-flash-exp:free is temporarily"),
        ("E19", "Resource exhausted."),
        ("E20", "API key not valid."),
    ],
)
def test_the_providers_message_is_kept(transcript_id: str, fragment: str) -> None:
    t = load(transcript_id)
    assert fragment in map_openai_error(t.status, t.body, t.headers).message


def test_groq_failed_generation_is_left_out_of_the_message() -> None:
    t = load("E14")
    message = map_openai_error(t.status, t.body, t.headers).message
    assert message.startswith("Tool call validation failed")
    assert '"foo": "bar"' not in message


def test_groq_inband_error_event_maps_with_its_status_code() -> None:
    body = load("E16").body.decode()
    data = body[body.index("event: error") :].split("data: ", 1)[1].strip()
    error = map_stream_error(json.loads(data)["error"])
    assert isinstance(error, UpstreamError)
    assert (error.status, error.type, error.code) == (
        400,
        "invalid_request_error",
        "tool_use_failed",
    )


@pytest.mark.parametrize(
    ("status", "expected_status", "expected_type"),
    [
        (403, 403, "permission_error"),
        (408, 504, "server_error"),
        (413, 413, "invalid_request_error"),
        (422, 400, "invalid_request_error"),
        (500, 502, "server_error"),
        (502, 502, "server_error"),
        (503, 503, "server_error"),
        (504, 504, "server_error"),
        (529, 503, "server_error"),
    ],
)
def test_status_mapping(status: int, expected_status: int, expected_type: str) -> None:
    body = json.dumps({"error": {"message": "nope", "type": "x"}}).encode()
    error = map_openai_error(status, body, {})
    assert (error.status, error.type, error.message) == (expected_status, expected_type, "nope")


def test_413_is_request_too_large_and_overloaded_has_a_code() -> None:
    assert isinstance(map_openai_error(413, b"{}", {}), RequestTooLarge)
    assert map_openai_error(529, b"{}", {}).code == "overloaded"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"upstream connect error", "upstream returned HTTP 502: upstream connect error"),
        (b"<html><body>Bad gateway</body></html>", "upstream returned HTTP 502"),
        (b"", "upstream returned HTTP 502"),
        (b'{"detail": "Model is loading"}', "Model is loading"),
        (b'{"error": "plain string error"}', "plain string error"),
        (b"[1, 2]", "upstream returned HTTP 502"),
    ],
)
def test_odd_bodies_still_give_a_readable_message(body: bytes, message: str) -> None:
    assert map_openai_error(502, body, {}).message == message


@pytest.mark.parametrize(
    "secret",
    [
        "sk-proj-AbCdEf0123456789AbCdEf0123456789",
        "sk-ant-" + "api03-AbCdEf0123456789-AbCdEf",  # fake, split for secret scanners
        "gsk_AbCdEf0123456789AbCdEf0123456789",
        "AIzaSyA-AbCdEf0123456789AbCdEf0123456",
        "sk-or-v1-0123456789abcdef0123456789abcdef",
    ],
)
def test_key_like_strings_in_an_error_body_are_redacted(secret: str) -> None:
    body = json.dumps({"error": {"message": f"Incorrect API key provided: {secret}."}}).encode()
    for status in (400, 401, 429, 500):
        message = map_openai_error(status, body, {}).message
        assert secret not in message
        assert "[redacted]" in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Authorization: Bearer abc.def-ghi", "Authorization: [redacted]"),
        ("api_key=0123456789abcdef0123456789abcdef", "api_key=[redacted]"),
        ('"x-api-key": "0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d"', '"x-api-key": "[redacted]"'),
        ("key: dGhpcyBpcyBhIHNlY3JldCB0b2tlbg==", "key: [redacted]"),
        ("The model `gpt-4o` does not exist", "The model `gpt-4o` does not exist"),
        (
            "add your own key to accumulate your rate limits",
            "add your own key to accumulate your rate limits",
        ),
    ],
)
def test_redact(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_retry_after_in_seconds_milliseconds_and_http_date() -> None:
    assert retry_after({"Retry-After": "7"}) == 7.0
    assert retry_after({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    later = email.utils.formatdate(time.time() + 120, usegmt=True)
    seconds = retry_after({"retry-after": later})
    assert seconds is not None
    assert 100 < seconds <= 120
    assert retry_after({"retry-after": "soon"}) is None
    assert retry_after({}) is None


def test_rate_limit_carries_retry_after() -> None:
    error = map_openai_error(429, b'{"error": {"message": "slow"}}', {"Retry-After": "3"})
    assert isinstance(error, RateLimited)
    assert error.retry_after == 3.0


@pytest.mark.parametrize(
    ("exc", "status", "message"),
    [
        (
            httpx2.ConnectError("fail https://user:sk-secret@host/v1"),
            502,
            "could not connect to upstream",
        ),
        (httpx2.ConnectTimeout("slow"), 504, "upstream timed out"),
        (httpx2.ReadTimeout("slow"), 504, "upstream timed out"),
        (httpx2.PoolTimeout("slow"), 504, "upstream timed out"),
        (trio.TooSlowError(), 504, "upstream timed out"),
        (httpx2.RemoteProtocolError("peer closed"), 502, "upstream connection closed unexpectedly"),
        (httpx2.ReadError("reset"), 502, "upstream connection closed unexpectedly"),
        (
            httpx2.WriteError("reset https://h/?key=AIzaSecret"),
            502,
            "upstream request failed (WriteError)",
        ),
    ],
)
def test_transport_errors(exc: Exception, status: int, message: str) -> None:
    error = map_transport_error(exc)
    assert isinstance(error, UpstreamUnavailable)
    assert (error.status, error.type, error.message) == (status, "server_error", message)
