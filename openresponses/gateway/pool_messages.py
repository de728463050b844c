"""The messages a ``ProviderPool`` actor serves, and the items it answers with.

A streamed model turn is a ``StreamTurn`` (its events are streamed back as they are read); a
non-stream one is a ``CallTurn`` answered with all its events in one reply. A ``RawRequest``
relays a body already in the provider's wire format (Chat Completions passthrough, a provider's
model list) and streams the answer back; ``CallRaw`` is its non-stream twin, answered in one
reply. Every answer starts with ``READY``: the upstream accepted the request.

A non-stream upstream call yields its items all at once, so streaming them back (a channel and
a consumer wake-up per read) is pure overhead: the ``Call*`` messages run the same request
through the same retries, keys and breaker, and ``gateway.turn_source`` reads their reply as a
channel (bench/results/2026-11-25-perf-2.md).
"""

from __future__ import annotations

from typing import Any, Literal

import attrs

from actors import Ask, StreamAsk
from openresponses.schema.model_call import ModelCall
from openresponses.schema.model_events import ModelEvent


@attrs.frozen
class UpstreamReady:
    """First item of every answer: the upstream accepted the request (2xx)."""


READY = UpstreamReady()
TurnEvent = ModelEvent | UpstreamReady
RawItem = bytes | dict[str, Any]


@attrs.frozen
class StreamTurn(StreamAsk[TurnEvent]):
    """Run one model turn; ``client_key`` is the caller's bearer (used when the server has no
    key of its own for this provider)."""

    call: ModelCall
    client_key: str | None = attrs.field(default=None, repr=False)
    # Fields merged over the body the protocol builds (parameters ``ModelCall`` does not
    # model, e.g. a Chat Completions request's ``stop`` as Anthropic ``stop_sequences``).
    extra_body: dict[str, Any] = attrs.field(factory=dict)


@attrs.frozen
class CallTurn(Ask[list[TurnEvent]]):
    """A non-stream model turn answered in one reply: ``READY`` and all its events."""

    call: ModelCall
    client_key: str | None = attrs.field(default=None, repr=False)
    extra_body: dict[str, Any] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class RawRequest(StreamAsk[RawItem | UpstreamReady]):
    """Send ``body`` (already in the provider's wire format) to ``path`` as is and relay the
    answer: ``READY``, then a JSON body as one dict or a stream's raw bytes as they arrive. An
    HTTP error is raised mapped by the protocol's ``map_error``, as for a turn."""

    method: Literal["GET", "POST"]
    path: str
    body: dict[str, Any] | None = None
    stream: bool = False
    client_key: str | None = attrs.field(default=None, repr=False)


@attrs.frozen(kw_only=True)
class CallRaw(Ask[list[RawItem | UpstreamReady]]):
    """A non-stream ``RawRequest`` answered in one reply: ``READY`` and the JSON body."""

    method: Literal["GET", "POST"]
    path: str
    body: dict[str, Any] | None = None
    client_key: str | None = attrs.field(default=None, repr=False)

    stream = False  # read as a ``RawRequest`` is (not an attrs field: never streamed)


PoolMessage = StreamTurn | CallTurn | RawRequest | CallRaw
