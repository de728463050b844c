"""Structured logs: one JSON object per line, secrets masked, the request id on every line.

- ``RequestRecord``: what the gateway knows about the request being served (id, key hash
  prefix, route, provider, model, status, latency, tokens). The HTTP middleware makes one per
  request and keeps it in the ``current_request`` context variable; the run's turn watcher adds
  the provider, model, tokens and timings. At the end the middleware logs it as the one access
  line of the request (logger ``openresponses.access``).
- ``JsonFormatter``: formats any log record as JSON, adding the process id, the current
  request id and the record's ``fields`` (``logger.info("...", extra={"fields": {...}})``).
- The access line skips the logging machinery (a ``LogRecord``, the caller lookup, the
  handler chain: 3/4 of its cost) while the only handler is the one ``configure_logging``
  installed: it is formatted by the same ``JsonFormatter`` code and written to the same stream
  under the handler's lock (``_AccessSink``). Any other setup (tests' capture, extra handlers)
  gets ordinary records.
- ``SecretMask``: masks bearer tokens and API keys (``providers.errors.redact``'s patterns)
  and, exactly, the provider keys configured on this gateway. The formatter applies it to every
  string it writes; ``RedactingFilter`` applies it for handlers with other formatters.

The client's bearer token is never logged: only the first 12 hex digits of its SHA-256 (the
prefix of the owner id that scopes its stored data).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import sys
import time
from collections.abc import Iterable
from contextvars import ContextVar
from typing import IO, Any
from urllib.parse import urlsplit

import attrs
import orjson

from openresponses.config import Config
from openresponses.providers.errors import redact

_REDACTED = "[redacted]"
_MASK_CACHE = 4096  # distinct short strings whose masked form is remembered
_MASK_CACHE_CHARS = 256
KEY_PREFIX_LEN = 12
_HEX_DIGITS = frozenset("0123456789abcdef")
# uuid.uuid4's bits: the version nibble set to 4, the variant to RFC 4122 (10xx).
_UUID4_CLEAR = ~((0xC000 << 48) | (0xF000 << 64))
_UUID4_SET = (0x8000 << 48) | (4 << 76)
access_logger = logging.getLogger("openresponses.access")


@attrs.define(kw_only=True)
class RequestRecord:
    """One request as the access log and the metrics see it."""

    request_id: str
    method: str
    path: str
    key: str | None  # hash prefix of the bearer token, never the token
    started: float  # time.perf_counter() at arrival
    route: str = "unmatched"
    status: int = 0
    completed: bool = False  # the last body byte was sent
    provider: str = ""
    model: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    upstream_seconds: float = 0.0
    ttft_seconds: float | None = None

    def fields(self, latency: float) -> dict[str, Any]:
        """The access line's fields."""
        fields: dict[str, Any] = {
            "request_id": self.request_id, "method": self.method, "path": self.path,
            "route": self.route, "status": self.status, "key": self.key,
            "latency_ms": round(latency * 1000, 3),
        }
        if not self.completed:
            fields["client_closed"] = True
        if self.provider:
            fields.update(provider=self.provider, model=self.model,
                          input_tokens=self.input_tokens, output_tokens=self.output_tokens,
                          upstream_ms=round(self.upstream_seconds * 1000, 3))
        if self.ttft_seconds is not None:
            fields["ttft_ms"] = round(self.ttft_seconds * 1000, 3)
        return fields


current_request: ContextVar[RequestRecord | None] = ContextVar(
    "openresponses_current_request", default=None
)


def key_hash_prefix(authorization: str | None) -> str | None:
    """The first hex digits of the SHA-256 of a bearer token (as ``auth.Caller.owner``)."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return hashlib.sha256(token.encode()).hexdigest()[:KEY_PREFIX_LEN]


class SecretMask:
    """Masks known secrets exactly, then anything ``redact`` recognizes as a key or token."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Longest first, so a key that contains another is masked whole.
        self._secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)
        # Most strings logged repeat (methods, routes, providers, models, messages): their
        # masked form is remembered, so the patterns run once per distinct short string. A
        # plain dict, emptied when full: a hit is one look-up (an ``lru_cache`` hit cost ~2k
        # instructions, nine a line). Callers on a hot path may look in it first themselves
        # (``JsonFormatter.entry``): a masked form is never empty for a non-empty string.
        self.remembered: dict[str, str] = {}

    def __call__(self, text: str) -> str:
        found = self.remembered.get(text)
        if found is not None:
            return found
        if len(text) > _MASK_CACHE_CHARS:
            return self._mask(text)
        if is_generated_request_id(text):  # unique per request: not worth remembering
            exact = self._exact(text)
            return exact if exact is text else redact(exact)
        if len(self.remembered) >= _MASK_CACHE:
            self.remembered.clear()
        masked = self.remembered[text] = self._mask(text)
        return masked

    def _exact(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, _REDACTED)
        return text

    def _mask(self, text: str) -> str:
        return redact(self._exact(text))


def new_request_id() -> str:
    """A fresh ``req_`` + 32 hex digits: a version-4 UUID's hex, as ``uuid.uuid4().hex``
    writes it, without building the ``UUID`` object (~12k instructions of Python)."""
    value = int.from_bytes(os.urandom(16)) & _UUID4_CLEAR | _UUID4_SET
    return f"req_{value:032x}"


def is_generated_request_id(text: str) -> bool:
    """Whether ``text`` has the shape of ``new_request_id``'s ids (``req_`` + 32 lowercase hex
    digits). No pattern of ``redact`` can match such a string (each needs letters that hex
    digits cannot spell, ``bearer`` an ``r`` after ``bea``), so unless an exact secret was
    replaced in it (``SecretMask``) the patterns need not run."""
    return len(text) == 36 and text.startswith("req_") and _HEX_DIGITS.issuperset(text[4:])


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ts, level, logger, message, request_id, fields, exc."""

    def __init__(self, mask: SecretMask | None = None) -> None:
        super().__init__()
        self._mask = mask or SecretMask()

    def format(self, record: logging.LogRecord) -> str:
        fields = getattr(record, "fields", None)
        entry = self.entry(record.created, record.levelname, record.name, record.getMessage(),
                           record.process, fields if isinstance(fields, dict) else None)
        mask = self._mask
        if record.exc_info:
            entry["exc"] = mask(self.formatException(record.exc_info))
        if record.stack_info:
            entry["stack"] = mask(self.formatStack(record.stack_info))
        return self.dumps(entry)

    def entry(self, created: float, level: str, logger: str, message: str, pid: int | None,
              fields: dict[str, Any] | None) -> dict[str, Any]:
        """A line's object: ts, level, logger, message, pid, request_id, then ``fields``."""
        mask = self._mask
        remembered = mask.remembered.get  # a string's masked form, without a call to mask
        entry: dict[str, Any] = {
            "ts": _timestamp(created),
            "level": level.lower(),
            "logger": logger,
            "message": remembered(message) or mask(message),
            "pid": pid,  # which worker wrote it (`serve --workers N`)
        }
        current = current_request.get()
        if current is not None:
            entry["request_id"] = current.request_id
        if fields is not None:
            for name, value in fields.items():
                if isinstance(value, str):
                    value = remembered(value) or mask(value)
                entry[str(name)] = value
        return entry

    def dumps(self, entry: dict[str, Any]) -> str:
        return orjson.dumps(entry, default=self._masked_repr).decode()

    def _masked_repr(self, value: Any) -> str:
        """What a value orjson cannot write becomes: its ``repr``, masked."""
        return self._mask(repr(value))


class _AccessSink:
    """Writes access lines straight to ``configure_logging``'s handler, formatted as its
    ``JsonFormatter`` would, while that handler is the only one they would reach."""

    def __init__(self, handler: logging.StreamHandler[Any], formatter: JsonFormatter) -> None:
        self.handler = handler
        self.formatter = formatter

    def usable(self) -> bool:
        handlers = logging.root.handlers
        return (len(handlers) == 1 and handlers[0] is self.handler and access_logger.propagate
                and not access_logger.handlers and not access_logger.disabled
                and self.handler.level == logging.NOTSET and not self.handler.filters
                and not access_logger.filters)

    def write(self, level: int, message: str, fields: dict[str, Any]) -> None:
        formatter, handler = self.formatter, self.handler
        line = formatter.dumps(formatter.entry(time.time(), logging.getLevelName(level),
                                               access_logger.name, message, os.getpid(),
                                               fields))
        with handler.lock or contextlib.nullcontext():
            handler.stream.write(line + handler.terminator)
            handler.flush()


_access_sink: _AccessSink | None = None


class RedactingFilter(logging.Filter):
    """Rewrites a record's message and exception text with the secrets masked (for handlers
    whose formatter is not a ``JsonFormatter``)."""

    def __init__(self, mask: SecretMask | None = None) -> None:
        super().__init__()
        self._mask = mask or SecretMask()

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self._mask(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._mask(record.exc_text)
        return True


def config_secrets(config: Config) -> list[str]:
    """Every secret the configuration holds: provider keys, the admin key, tool keys, the Redis
    URL and its password, the store URL's password."""
    secrets = [key for provider in config.providers.values() for key in provider.api_keys]
    for holder, name in ((config, "admin_key"), (config.tools, "brave_api_key"),
                         (config, "redis_url")):
        value = getattr(holder, name, None)
        if isinstance(value, str) and value:
            secrets.append(value)
    if config.redis_url:
        secrets.append(urlsplit(config.redis_url).password or "")
    store_password = urlsplit(config.store_url).password  # postgresql://user:password@host/db
    if store_password:
        secrets.append(store_password)
    return [secret for secret in secrets if secret]


def configure_logging(
    secrets: Iterable[str] = (), *, level: int = logging.INFO, stream: IO[str] | None = None
) -> logging.Handler:
    """Send every log record to ``stream`` (stderr) as masked JSON lines; returns the handler.

    Replaces the root logger's handlers (for the process entry point, not for libraries).
    """
    global _access_sink
    handler = logging.StreamHandler(stream or sys.stderr)
    formatter = JsonFormatter(SecretMask(secrets))
    handler.setFormatter(formatter)  # masks all it writes: no filter
    _access_sink = _AccessSink(handler, formatter)
    # httpx2 logs every upstream request at info; the access line already says it (provider,
    # model, upstream_ms), and formatting it cost ~3 % of a request's CPU.
    logging.getLogger("httpx2").setLevel(logging.WARNING)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    return handler


def log_access(
    record: RequestRecord, latency: float, extra: dict[str, Any] | None = None
) -> None:
    """Write the request's access line (level info; warning for 5xx), with ``extra`` fields
    (the WebSocket route adds its session's)."""
    level = logging.WARNING if record.status >= 500 else logging.INFO
    if not access_logger.isEnabledFor(level):
        return
    fields = record.fields(latency) if extra is None else {**record.fields(latency), **extra}
    sink = _access_sink
    if sink is not None and sink.usable():
        try:
            sink.write(level, f"{record.method} {record.path} {record.status}", fields)
            return
        except Exception:  # e.g. a closed stream: logging reports it in its own way
            pass
    access_logger.log(level, "%s %s %s", record.method, record.path, record.status,
                      extra={"fields": fields})


def _timestamp(created: float) -> str:
    """``YYYY-MM-DDTHH:MM:SS.mmmZ``. The second's text is remembered (log lines come in runs)
    and the milliseconds are looked up: ~8k instructions a line with ``strftime`` behind an
    ``lru_cache`` and a formatted integer, ~2k like this."""
    global _last_second
    epoch = int(created)
    seen, text = _last_second
    if epoch != seen:
        text = time.strftime("%Y-%m-%dT%H:%M:%S.", time.gmtime(epoch))
        _last_second = (epoch, text)
    return text + _MILLIS[int(created % 1 * 1000)]


_last_second = (-1, "")
# 1000 too: ``created % 1 * 1000`` can round up to it (written "1000", as "%03d" would).
_MILLIS = tuple(f"{ms:03d}Z" for ms in range(1001))
