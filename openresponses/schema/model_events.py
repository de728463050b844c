"""Normalized model events: what every provider translation emits, whatever its wire protocol.

A provider module turns an upstream stream (or a non-stream body) into a sequence of these;
the event builder (``openresponses.gateway.builder``) turns them into OpenAI Responses events
and the final Response. Nothing provider-specific crosses this line.

``key`` names an output item *within one model turn*, as the provider identifies it (a content
block index, a tool-call index, an upstream item id...). The builder mints our own ids.
Items open on their first event and close on ``ItemDone`` or, at the latest, on ``Finish``.
"""

from __future__ import annotations

from typing import Any, Literal

import attrs

# "pause": the provider paused a long turn (Anthropic's pause_turn); the run continues it.
FinishReason = Literal["stop", "length", "tool_calls", "content_filter", "pause"]


@attrs.frozen
class TextDelta:
    """Visible assistant text for the message item ``key``."""

    key: str
    delta: str


@attrs.frozen
class RefusalDelta:
    """Refusal text for the message item ``key``."""

    key: str
    delta: str


@attrs.frozen
class Annotation:
    """An annotation (e.g. ``url_citation``) on the current text of message ``key``."""

    key: str
    annotation: dict[str, Any]


@attrs.frozen
class ReasoningDelta:
    """Readable reasoning text (``reasoning_text`` content) of the reasoning item ``key``."""

    key: str
    delta: str


@attrs.frozen
class ReasoningSummaryDelta:
    """Reasoning summary text, part ``index``, of the reasoning item ``key``."""

    key: str
    index: int
    delta: str


@attrs.frozen
class ReasoningEncrypted:
    """Opaque reasoning state to send back verbatim on a later turn (signature, encrypted blob).

    ``provider`` names the wire family that produced it, so a chain that switches provider can
    drop reasoning that the new provider would not understand.
    """

    key: str
    encrypted_content: str
    provider: str


@attrs.frozen
class ToolCallStart:
    """A function call item ``key`` begins; ``call_id`` is minted by the translator if absent."""

    key: str
    call_id: str
    name: str


@attrs.frozen
class ToolCallDelta:
    """A fragment of the JSON arguments of function call ``key``."""

    key: str
    delta: str


@attrs.frozen
class OpaqueItem:
    """A finished output item of a type relayed as is (e.g. ``web_search_call``).

    The builder replaces its ``id`` with one of ours.
    """

    item: dict[str, Any]


@attrs.frozen
class ItemDone:
    """The provider says item ``key`` is complete."""

    key: str


@attrs.frozen
class Usage:
    """Token usage of the turn. ``input_tokens`` includes cached (read) and cache-write
    tokens."""

    input_tokens: int
    output_tokens: int
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    cache_write_tokens: int = 0


@attrs.frozen
class Finish:
    """The turn ended normally. ``length``/``content_filter`` make the response incomplete."""

    reason: FinishReason


ModelEvent = (
    TextDelta
    | RefusalDelta
    | Annotation
    | ReasoningDelta
    | ReasoningSummaryDelta
    | ReasoningEncrypted
    | ToolCallStart
    | ToolCallDelta
    | OpaqueItem
    | ItemDone
    | Usage
    | Finish
)
