"""JSON log lines: fields, the current request id, secrets masked in every part."""

from __future__ import annotations

import io
import json
import logging
import sys

import pytest

from openresponses.config import Config, ProviderConfig
from openresponses.observability.logs import (
    JsonFormatter,
    RedactingFilter,
    RequestRecord,
    SecretMask,
    config_secrets,
    configure_logging,
    current_request,
    key_hash_prefix,
)

SECRET = "plain-looking-secret-42"


def make_record(msg: str, *args: object, exc: bool = False) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise ValueError(f"failed with {SECRET} and sk-abcdefghijkl")
        except ValueError:
            exc_info = sys.exc_info()
    return logging.LogRecord("openresponses.test", logging.ERROR, __file__, 1, msg, args,
                             exc_info)


def test_a_line_is_one_json_object_with_the_fields() -> None:
    record = make_record("hello %s", "world")
    record.fields = {"status": 200, "model": "m"}
    line = JsonFormatter().format(record)
    data = json.loads(line)
    assert "\n" not in line
    assert data["message"] == "hello world"
    assert (data["level"], data["logger"], data["status"], data["model"]) == (
        "error", "openresponses.test", 200, "m")
    assert data["ts"].endswith("Z")


def test_the_current_request_id_is_on_every_line() -> None:
    record = RequestRecord(request_id="req_abc", method="GET", path="/", key=None, started=0.0)
    token = current_request.set(record)
    try:
        data = json.loads(JsonFormatter().format(make_record("inside")))
    finally:
        current_request.reset(token)
    assert data["request_id"] == "req_abc"
    assert "request_id" not in json.loads(JsonFormatter().format(make_record("outside")))


@pytest.mark.parametrize(
    "text",
    [f"key {SECRET}", "Authorization: Bearer abc.def-ghi", "sk-ant-api03-abcdefghijk",
     "api_key=ABCDEFGHIJKLMNOPQRSTUV", "gsk_abcdefghijklmn"],
)
def test_secrets_are_masked_in_messages_args_fields_and_tracebacks(text: str) -> None:
    formatter = JsonFormatter(SecretMask([SECRET]))
    record = make_record("message %s", text, exc=True)
    record.fields = {"detail": text}
    line = formatter.format(record)
    for secret in (SECRET, "abc.def-ghi", "sk-ant-api03-abcdefghijk", "ABCDEFGHIJKLMNOPQRSTUV",
                   "gsk_abcdefghijklmn", "sk-abcdefghijkl"):
        assert secret not in line
    assert "[redacted]" in line


def test_the_filter_masks_records_for_any_formatter() -> None:
    record = make_record("using %s", SECRET, exc=True)
    RedactingFilter(SecretMask([SECRET])).filter(record)
    text = logging.Formatter().format(record)
    assert SECRET not in text
    assert "using [redacted]" in text


def test_configure_logging_writes_masked_json_to_the_stream() -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    try:
        configure_logging([SECRET], stream=stream)
        logging.getLogger("openresponses.x").info("the key is %s", SECRET)
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    data = json.loads(stream.getvalue())
    assert data["message"] == "the key is [redacted]"


def test_config_secrets_lists_every_configured_key() -> None:
    provider = ProviderConfig("groq", "chat", "http://x", ("k-one-1234", "k-two-5678"))
    config = Config(providers={"groq": provider})
    assert set(config_secrets(config)) >= {"k-one-1234", "k-two-5678"}


def test_key_hash_prefix_never_returns_the_token() -> None:
    prefix = key_hash_prefix("Bearer my-token")
    assert prefix is not None
    assert len(prefix) == 12
    assert "my-token" not in prefix
    assert key_hash_prefix("Basic abc") is None
    assert key_hash_prefix(None) is None


def test_a_masked_string_is_remembered_and_still_masked() -> None:
    mask = SecretMask([SECRET])
    assert mask(f"key {SECRET}") == mask(f"key {SECRET}") == "key [redacted]"
    long = "x" * 300 + SECRET  # past the remembered length: masked all the same
    assert SECRET not in mask(long)


def test_httpx2_request_lines_are_not_logged() -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    saved = (list(root.handlers), root.level, logging.getLogger("httpx2").level)
    try:
        configure_logging([], stream=stream)
        logging.getLogger("httpx2").info("HTTP Request: POST http://upstream 200 OK")
        logging.getLogger("httpx2").warning("a warning still goes out")
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        logging.getLogger("httpx2").setLevel(saved[2])
    assert "HTTP Request" not in stream.getvalue()
    assert "a warning still goes out" in stream.getvalue()
