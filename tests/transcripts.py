"""Load the recorded provider exchanges in ``shared/transcripts`` (replay fixtures for tests).

The directory is ``$OPENRESPONSES_SHARED_DIR/transcripts`` if that variable is set, else
``shared/transcripts`` next to the repository. A transcript is named by its full id or its
unique prefix (``"A05"``).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import orjson

from openresponses.providers.base import StreamTranslator
from openresponses.providers.sse import SSEDecoder
from openresponses.schema.model_events import (
    Annotation,
    Finish,
    ItemDone,
    ModelEvent,
    OpaqueItem,
    ReasoningDelta,
    ReasoningEncrypted,
    ReasoningSummaryDelta,
    RefusalDelta,
    TextDelta,
    ToolCallDelta,
    ToolCallStart,
    Usage,
)


def transcripts_dir() -> Path:
    """Where the transcripts live (see the module docstring)."""
    shared = os.environ.get("OPENRESPONSES_SHARED_DIR")
    if shared:
        return Path(shared) / "transcripts"
    return Path(__file__).resolve().parents[1].parent / "shared" / "transcripts"


@attrs.frozen
class Transcript:
    """One recorded exchange; ``raw`` is the whole JSON file."""

    id: str
    raw: dict[str, Any]

    @property
    def category(self) -> str:
        return str(self.raw["category"])

    @property
    def stream(self) -> bool:
        return bool(self.raw["stream"])

    @property
    def status(self) -> int:
        return int(self.raw["response"]["status"])

    @property
    def headers(self) -> dict[str, str]:
        return dict(self.raw["response"]["headers"])

    @property
    def body(self) -> bytes:
        """The response body as sent (a JSON object stored parsed is serialized again)."""
        body = self.raw["response"]["body"]
        return body.encode() if isinstance(body, str) else orjson.dumps(body)

    def json(self) -> dict[str, Any]:
        """The response body parsed as JSON (a non-stream answer or an error envelope)."""
        parsed = orjson.loads(self.body)
        assert isinstance(parsed, dict)
        return parsed

    def request_json(self) -> dict[str, Any]:
        """The recorded request body as JSON."""
        body = self.raw["request"]["body"]
        parsed = orjson.loads(body) if isinstance(body, str) else body
        assert isinstance(parsed, dict)
        return parsed


def transcript_ids(prefix: str = "") -> list[str]:
    """Ids of the transcripts whose id starts with ``prefix`` (e.g. a category ``"B"``)."""
    return [i for i in _all_ids() if i.startswith(prefix)]


def load(name: str) -> Transcript:
    """The transcript with id ``name`` or whose id starts with ``name`` (which must be unique)."""
    matches = [i for i in _all_ids() if i == name] or transcript_ids(name)
    if len(matches) != 1:
        raise LookupError(f"{name!r} names {len(matches)} transcripts in {transcripts_dir()}")
    return _load(matches[0])


@functools.cache
def _load(transcript_id: str) -> Transcript:
    raw = orjson.loads((transcripts_dir() / f"{transcript_id}.json").read_bytes())
    return Transcript(transcript_id, raw)


def _all_ids() -> list[str]:
    return sorted(p.stem for p in transcripts_dir().glob("[A-Z][0-9][0-9]_*.json"))


def chunks(data: bytes, size: int) -> Iterator[bytes]:
    """``data`` cut into pieces of ``size`` bytes (the last may be shorter)."""
    for start in range(0, len(data), size):
        yield data[start : start + size]


def replay(translator: StreamTranslator, body: bytes, chunk_size: int = 7) -> list[ModelEvent]:
    """Feed ``body`` through ``SSEDecoder`` in small chunks and ``translator``; close both."""
    decoder = SSEDecoder()
    events: list[ModelEvent] = []
    for piece in chunks(body, chunk_size):
        for sse in decoder.feed(piece):
            events += translator.feed(sse.event, sse.data)
    for sse in decoder.close():
        events += translator.feed(sse.event, sse.data)
    return events + translator.close()


@attrs.define
class Summary:
    """What a list of events adds up to, per item key (for assertions)."""

    text: dict[str, str] = attrs.field(factory=dict)
    refusal: dict[str, str] = attrs.field(factory=dict)
    reasoning: dict[str, str] = attrs.field(factory=dict)
    summaries: dict[str, list[str]] = attrs.field(factory=dict)
    encrypted: dict[str, str] = attrs.field(factory=dict)
    calls: dict[str, tuple[str, str, str]] = attrs.field(factory=dict)  # call_id, name, args
    annotations: list[dict[str, Any]] = attrs.field(factory=list)
    opaque: list[dict[str, Any]] = attrs.field(factory=list)
    done: list[str] = attrs.field(factory=list)
    usage: list[Usage] = attrs.field(factory=list)
    finish: list[str] = attrs.field(factory=list)

    @property
    def all_text(self) -> str:
        return "".join(self.text.values())


def summarize(events: list[ModelEvent]) -> Summary:
    """Fold ``events`` into a ``Summary`` (text joined per key, calls with their arguments)."""
    s = Summary()
    for e in events:
        match e:
            case TextDelta(key, delta):
                s.text[key] = s.text.get(key, "") + delta
            case RefusalDelta(key, delta):
                s.refusal[key] = s.refusal.get(key, "") + delta
            case ReasoningDelta(key, delta):
                s.reasoning[key] = s.reasoning.get(key, "") + delta
            case ReasoningSummaryDelta(key, index, delta):
                parts = s.summaries.setdefault(key, [])
                parts.extend([""] * (index + 1 - len(parts)))
                parts[index] += delta
            case ReasoningEncrypted(key, blob, _):
                s.encrypted[key] = blob
            case ToolCallStart(key, call_id, name):
                s.calls[key] = (call_id, name, "")
            case ToolCallDelta(key, delta):
                call_id, name, args = s.calls[key]  # a delta before its start is a bug
                s.calls[key] = (call_id, name, args + delta)
            case Annotation(_, annotation):
                s.annotations.append(annotation)
            case OpaqueItem(item):
                s.opaque.append(item)
            case ItemDone(key):
                s.done.append(key)
            case Usage():
                s.usage.append(e)
            case Finish(reason):
                s.finish.append(reason)
    return s
