"""What the run asks of a provider for one model turn, in Responses terms.

``ModelCall`` is built by the run from the client's request and the stored chain; a provider
module translates it into its wire format. Items are Responses input items as plain dicts
(``{"type": "message", "role": ..., "content": [...]}``, ``function_call``,
``function_call_output``, ``reasoning`` ...), already normalized by ``schema.items``.
"""

from __future__ import annotations

from typing import Any

import attrs

Item = dict[str, Any]


@attrs.frozen(kw_only=True)
class ModelCall:
    provider: str  # the provider's configured name (e.g. "openai", "groq", "anthropic")
    model: str  # the upstream model name, prefix stripped
    input: list[Item]
    instructions: str | None = None
    tools: list[dict[str, Any]] = attrs.field(factory=list)  # flat Responses tool shapes
    tool_choice: str | dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    temperature: float | None = None
    top_p: float | None = None
    max_output_tokens: int | None = None
    text_format: dict[str, Any] | None = None  # the request's text.format
    reasoning: dict[str, Any] | None = None
    metadata: dict[str, str] | None = None
    user: str | None = None
    stream: bool = True
    penalties: dict[str, float] | None = None  # presence_penalty / frequency_penalty, as set
    top_logprobs: int | None = None
    # Top-level request fields relayed to Responses upstreams only: those this gateway does not
    # model, and those only a Responses upstream takes as they are (``service_tier``...).
    extra: dict[str, Any] = attrs.field(factory=dict)


@attrs.frozen
class UpstreamRequest:
    """An HTTP request a provider module wants sent: path under the base URL, JSON body."""

    path: str
    body: dict[str, Any]
    headers: dict[str, str] = attrs.field(factory=dict)
