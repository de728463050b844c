"""Passthrough to OpenAI-compatible providers: the request as sent, the answer as received,
with our completion id and the client's model name (pure; the I/O is the provider pool's).

The body goes upstream unchanged except ``model`` (prefix stripped), ``store`` /
``metadata``, which are this gateway's business, and a stream's ``include_usage`` (always on
upstream; the usage reaches the client only if it asked). Each relayed chunk keeps every field the
provider sent (usage, ``x_groq``, ``obfuscation``...) but ``id`` and ``model``. An in-band error
(Groq's ``event: error``, an ``{"error": ...}`` chunk) is raised mapped, like any upstream error.

A non-stream body is also made to fit OpenAI's schema, which compatible servers bend (see
transcripts D01-D09): keys it requires are added as null (``logprobs``, ``content``,
``refusal``), and keys it types as non-null are dropped when null or not one of its values
(``tool_calls: null``, ``system_fingerprint: null``, Groq's ``service_tier: "on_demand"``).
"""

from __future__ import annotations

from typing import Any

import orjson

from openresponses.chat.request import ChatRequest
from openresponses.errors import UpstreamError, UpstreamUnavailable
from openresponses.providers.chat_response import raise_if_error
from openresponses.providers.errors import map_stream_error

JSON = dict[str, Any]
PATH = "/chat/completions"
_OURS = ("store", "metadata")
_SERVICE_TIERS = frozenset({"auto", "default", "flex", "scale", "priority", "fast"})
_NOT_NULL = ("tool_calls", "function_call", "annotations")


def upstream_body(request: ChatRequest, model: str) -> JSON:
    """The body sent upstream: the client's, with the upstream model name. A stream always
    asks for its usage (``include_usage``): the tokens are charged to the key's limit and
    logged; ``RelayedStream`` hides the usage from a client that did not ask for it."""
    body = {k: val for k, val in request.raw.items() if k not in _OURS}
    body["model"] = model
    if request.stream and not request.include_usage:
        options = body.get("stream_options")
        body["stream_options"] = {**(options if isinstance(options, dict) else {}),
                                  "include_usage": True}
    return body


def relabel(obj: JSON, completion_id: str, model: str) -> JSON:
    """``obj`` (a completion or chunk) with our id and the client's model, in place of theirs."""
    return {**obj, "id": completion_id, "model": model}


def relay_body(body: JSON, completion_id: str, model: str) -> JSON:
    """A non-stream answer relabelled and conformed; an in-band error or a body without
    choices raises."""
    raise_if_error(body)
    if not isinstance(body.get("choices"), list):
        raise UpstreamError("upstream response has no choices", status=502, code="bad_upstream")
    return conform(relabel(body, completion_id, model))


def conform(body: JSON) -> JSON:
    """``body`` fitted to OpenAI's ``CreateChatCompletionResponse`` (module docstring)."""
    body = dict(body)
    if body.get("system_fingerprint") is None:
        body.pop("system_fingerprint", None)
    if "service_tier" in body and body["service_tier"] not in _SERVICE_TIERS:
        body.pop("service_tier")
    body["choices"] = [_conform_choice(c) for c in body["choices"] if isinstance(c, dict)]
    return body


def _conform_choice(choice: JSON) -> JSON:
    choice = {"logprobs": None, **choice}
    message = choice.get("message")
    if isinstance(message, dict):
        message = {"content": None, "refusal": None, **message}
        choice["message"] = {k: val for k, val in message.items()
                             if not (k in _NOT_NULL and val is None)}
    return choice


class ChunkRelay:
    """Relabels one upstream stream, event by event, and knows whether it ended properly."""

    def __init__(self, completion_id: str, model: str) -> None:
        self.completion_id = completion_id
        self.model = model
        self.done = False  # ``[DONE]`` seen
        self._finished = False  # a finish_reason seen

    def feed(self, event: str | None, data: str) -> JSON | None:
        """The relabelled chunk for one SSE event (None for ``[DONE]`` and after it).

        Raises the mapped ``GatewayError`` for an in-band error or a malformed event.
        """
        if self.done:
            return None
        if data.strip() == "[DONE]":
            self.done = True
            return None
        try:
            chunk = orjson.loads(data)
        except orjson.JSONDecodeError:
            if event == "error":
                raise map_stream_error({"message": data.strip()}) from None
            raise UpstreamError("upstream sent a malformed stream event", status=502,
                                code="bad_upstream") from None
        if not isinstance(chunk, dict):
            raise UpstreamError("upstream sent a malformed stream event", status=502,
                                code="bad_upstream")
        raise_if_error(chunk)
        if event == "error":
            raise map_stream_error(chunk)
        for choice in chunk.get("choices") or []:
            if isinstance(choice, dict) and choice.get("finish_reason"):
                self._finished = True
        return relabel(chunk, self.completion_id, self.model)

    def close(self) -> None:
        """The upstream stream ended: fine after ``[DONE]`` or a finish reason, else raises."""
        if not (self.done or self._finished):
            raise UpstreamUnavailable("upstream stream ended before completion", status=502)
