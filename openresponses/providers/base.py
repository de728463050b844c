"""The contract every wire-protocol module in ``providers/`` fulfils: pure functions, no I/O.

The provider-pool actor owns the HTTP client; it asks a ``WireProtocol`` how to build the
upstream request, how to authenticate it, and how to translate what comes back into normalized
``ModelEvent``s (``schema.model_events``). Upstream error bodies are mapped to ``GatewayError``s
here too, so nothing provider-specific leaks past this package.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from openresponses.errors import GatewayError
from openresponses.schema.model_call import ModelCall, UpstreamRequest
from openresponses.schema.model_events import ModelEvent


class StreamTranslator(Protocol):
    """Stateful translation of one upstream SSE stream (one model turn)."""

    def feed(self, event: str | None, data: str) -> list[ModelEvent]:
        """Translate one SSE event (``event:`` name or None, joined ``data:`` text).

        Raises ``GatewayError`` for an in-band error event (e.g. a 200 stream ending in
        ``event: error``).
        """
        ...

    def close(self) -> list[ModelEvent]:
        """The upstream stream ended (EOF): flush what is pending.

        Must end with exactly one ``Finish`` over the whole stream unless the stream was cut
        short, in which case it raises ``UpstreamUnavailable`` (a truncated stream is an error).
        """
        ...


class WireProtocol(Protocol):
    """One wire protocol (Chat Completions, Responses, Anthropic Messages...)."""

    family: str  # "chat" | "responses" | "anthropic": tags ReasoningEncrypted.provider

    def build_request(self, call: ModelCall) -> UpstreamRequest:
        """The upstream request for this model turn (``stream`` taken from ``call.stream``).

        Raises ``InvalidRequest`` (naming the ``param``) for input the provider cannot take.
        """
        ...

    def auth_headers(self, api_key: str) -> dict[str, str]:
        """Headers that carry ``api_key`` (and any fixed protocol headers)."""
        ...

    def translate_response(self, body: dict[str, Any]) -> list[ModelEvent]:
        """Translate a non-stream JSON body into the same events a stream would give."""
        ...

    def stream_translator(self) -> StreamTranslator:
        """A fresh translator for one streamed turn."""
        ...

    def map_error(
        self, status: int, body: bytes, headers: Mapping[str, str]
    ) -> GatewayError:
        """Map an upstream HTTP error to our error tree (never echoing credentials)."""
        ...
