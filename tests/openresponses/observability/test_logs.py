"""JSON log lines: fields, the current request id, secrets masked in every part."""

from __future__ import annotations

import io
import json
import logging
import os
import sys
import time
import uuid

import pytest

from openresponses.config import Config, ProviderConfig
from openresponses.observability.logs import (
    JsonFormatter,
    RedactingFilter,
    RequestRecord,
    SecretMask,
    _timestamp,
    config_secrets,
    configure_logging,
    current_request,
    is_generated_request_id,
    key_hash_prefix,
    log_access,
    new_request_id,
)
from openresponses.providers.errors import redact

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


class _Collecting(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _access_record() -> RequestRecord:
    record = RequestRecord(request_id="req_1", method="POST", path=f"/v1/x/{SECRET}",
                           key="abcdef123456", started=0.0)
    record.route, record.status, record.completed = "/v1/x/<id>", 200, True
    record.provider, record.model, record.input_tokens = "groq", "m", 3
    return record


def _access_lines(extra_handler: logging.Handler | None) -> list[dict[str, object]]:
    """The access line(s) written by ``configure_logging``'s handler."""
    stream = io.StringIO()
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    try:
        configure_logging([SECRET], stream=stream)
        if extra_handler is not None:
            root.addHandler(extra_handler)
        log_access(_access_record(), 0.0125)
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_the_access_line_is_written_directly_in_the_formatter_shape() -> None:
    direct = _access_lines(None)  # the handler is alone: the sink writes the line
    handler = _Collecting()
    via_logging = _access_lines(handler)  # another handler: an ordinary record for both
    assert len(handler.records) == 1
    assert handler.records[0].name == "openresponses.access"
    assert len(direct) == len(via_logging) == 1
    line, other = direct[0], via_logging[0]
    assert list(line) == list(other)  # same keys, same order
    assert {k: v for k, v in line.items() if k != "ts"} == {
        k: v for k, v in other.items() if k != "ts"}
    assert line["message"] == "POST /v1/x/[redacted] 200"
    assert line["path"] == "/v1/x/[redacted]"
    assert line["logger"] == "openresponses.access"
    assert line["level"] == "info"
    assert line["pid"] == os.getpid()
    assert line["latency_ms"] == 12.5


def test_a_disabled_access_logger_writes_no_line() -> None:
    access = logging.getLogger("openresponses.access")
    access.disabled = True  # as logging.config does to loggers it does not name
    try:
        assert _access_lines(None) == []
    finally:
        access.disabled = False


def test_a_new_request_id_is_a_version_4_uuid_in_hex() -> None:
    ids = {new_request_id() for _ in range(200)}
    assert len(ids) == 200
    for text in ids:
        assert text.startswith("req_")
        parsed = uuid.UUID(hex=text[4:])
        assert (parsed.version, parsed.variant, parsed.hex) == (4, uuid.RFC_4122, text[4:])
        assert is_generated_request_id(text)


@pytest.mark.parametrize("text", ["req_abc", "req_" + "A" * 32, "req_" + "g" * 32,
                                  "id_" + "a" * 33, "req_" + "a" * 33, "sk-" + "a" * 33])
def test_other_strings_are_not_taken_for_generated_request_ids(text: str) -> None:
    assert not is_generated_request_id(text)


def test_a_generated_request_id_is_masked_as_any_other_string() -> None:
    """Its short path (exact secrets only) gives what the patterns would give."""
    hex_secret = "0123456789abcdef"
    mask = SecretMask([hex_secret])
    special = ["req_" + "bea0" * 8, f"req_{hex_secret}{'f' * 16}",
               f"req_{'e' * 8}{hex_secret}{'e' * 8}"]
    for text in [new_request_id() for _ in range(200)] + special:
        assert mask(text) == redact(text.replace(hex_secret, "[redacted]"))
    assert mask(f"req_{hex_secret}{'f' * 16}") == "req_[redacted]" + "f" * 16


def test_remembered_masks_do_not_confuse_strings_and_stay_bounded() -> None:
    mask = SecretMask([SECRET])
    texts = [f"model-{i}" for i in range(5000)] + [f"key {SECRET}", "Bearer abc.def-ghi"]
    for _ in range(2):
        assert [mask(text) for text in texts] == [redact(text.replace(SECRET, "[redacted]"))
                                                  for text in texts]
    assert len(mask.remembered) <= 4096


@pytest.mark.parametrize("created", [0.0, 1.9995, 1765123456.001, 1765123456.9999999,
                                     1765123457.5])
def test_timestamps_are_iso_utc_with_milliseconds(created: float) -> None:
    second = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(int(created)))
    assert _timestamp(created) == f"{second}.{int(created % 1 * 1000):03d}Z"
