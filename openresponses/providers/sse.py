"""An incremental Server-Sent Events decoder (bytes in, events out), pure and fast.

Follows the WHATWG event-stream rules that matter for LLM providers: CRLF / LF / CR line ends,
chunks split anywhere (even inside a UTF-8 character or between CR and LF), several ``data:``
lines joined with ``"\\n"``, comment lines (``: OPENROUTER PROCESSING``) ignored, ``data:`` with
or without the space, events without data skipped. Trailing whitespace after a JSON payload
(Anthropic pads its lines) is kept; JSON parsers accept it.

Work is done per complete line with ``bytes`` methods (no per-character loop): a chunk without a
line end is only buffered.
"""

from __future__ import annotations

import attrs


@attrs.define
class ServerSentEvent:
    """One dispatched event: its ``event:`` name (None if absent) and joined ``data:`` text.

    Not frozen: one is built for every streamed chunk, and a frozen class's ``__init__``
    takes twice as long (it sets each field through ``object.__setattr__``)."""

    event: str | None
    data: str


class SSEDecoder:
    """Feed raw bytes as they arrive; get back the events completed so far."""

    def __init__(self) -> None:
        self._partial: list[bytes] = []  # bytes of the current, unterminated line
        self._skip_lf = False  # the last chunk ended with CR: a leading LF belongs to it
        self._event: str | None = None
        self._data: list[str] = []

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """Decode ``chunk``; return the events it completes (possibly none)."""
        if not chunk:
            return []
        if self._skip_lf:
            self._skip_lf = False
            if chunk[:1] == b"\n":
                chunk = chunk[1:]
                if not chunk:
                    return []
        if not (self._partial or self._data or self._event is not None) and (
                chunk[-2:] == b"\n\n" and b"\r" not in chunk):
            single = _single_event(chunk)
            if single is not None:
                return [single]
        cut = max(chunk.rfind(b"\n"), chunk.rfind(b"\r"))
        if cut < 0:
            self._partial.append(chunk)
            return []
        complete = chunk[: cut + 1]
        if self._partial:
            self._partial.append(complete)
            complete = b"".join(self._partial)
            self._partial.clear()
        if cut + 1 < len(chunk):
            self._partial.append(chunk[cut + 1 :])
        elif complete[-1:] == b"\r":
            self._skip_lf = True
        return self._lines(complete.splitlines())

    def close(self) -> list[ServerSentEvent]:
        """The stream ended: dispatch a last event whose lines were all complete.

        An unterminated final line is dropped (it may be cut mid-JSON); a complete event that
        merely lacks the closing blank line is still delivered.
        """
        self._partial.clear()
        self._skip_lf = False
        return self._lines([b""])

    def _lines(self, lines: list[bytes]) -> list[ServerSentEvent]:
        events: list[ServerSentEvent] = []
        for line in lines:
            if not line:
                if self._data:
                    events.append(ServerSentEvent(self._event, "\n".join(self._data)))
                    self._data = []
                self._event = None
                continue
            if line[:1] == b":":
                continue  # a comment
            field, sep, value = line.partition(b":")
            if sep and value[:1] == b" ":
                value = value[1:]
            if field == b"data":
                self._data.append(value.decode("utf-8", "replace"))
            elif field == b"event":
                self._event = value.decode("utf-8", "replace") or None
            # ``id`` and ``retry`` are not used by any provider we speak to.
        return events


def _single_event(chunk: bytes) -> ServerSentEvent | None:
    """The event of a chunk that is exactly ``[event: NAME LF] data: TEXT LF LF`` (no CR), as
    a provider's stream mostly arrives one read at a time; None for any other chunk (the
    general path decodes it). The same event the general path builds, in fewer steps."""
    event = None
    if chunk[:7] == b"event: ":
        end = chunk.find(b"\n")
        event = chunk[7:end].decode("utf-8", "replace") or None
        chunk = chunk[end + 1 :]
    if chunk[:6] != b"data: " or chunk.find(b"\n") != len(chunk) - 2:
        return None
    return ServerSentEvent(event, chunk[6:-2].decode("utf-8", "replace"))
