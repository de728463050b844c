"""The Anthropic Messages wire protocol (``POST {base}/v1/messages``), pure translation.

- ``anthropic_request``: a ``ModelCall`` → the request body (system, alternating turns, thinking
  blocks replayed verbatim, images and PDFs, thinking budget).
- ``anthropic_tools``: tools, tool_choice, and structured output as the forced ``JSON_TOOL``.
- ``anthropic_stream``: the SSE stream, or a non-stream body, → normalized ``ModelEvent``s.
- ``anthropic_errors``: Anthropic error envelopes → ``GatewayError``s.

Reasoning state round-trips through ``encrypted_content``: ``"anthropic:thinking:" + signature``
(the readable thinking stays in the reasoning item's ``content``) or ``"anthropic:redacted:" +
data``. Reasoning items without that prefix come from another provider and are not sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from openresponses.errors import GatewayError
from openresponses.providers.anthropic_errors import map_error
from openresponses.providers.anthropic_request import (
    REDACTED_PREFIX as REDACTED_PREFIX,
)
from openresponses.providers.anthropic_request import (
    THINKING_PREFIX as THINKING_PREFIX,
)
from openresponses.providers.anthropic_request import build_body
from openresponses.providers.anthropic_stream import AnthropicStreamTranslator, translate_body
from openresponses.providers.anthropic_tools import JSON_TOOL as JSON_TOOL
from openresponses.providers.unsupported import (
    refuse_hot_temperature,
    refuse_logprobs,
    refuse_penalties,
)
from openresponses.schema.model_call import ModelCall, UpstreamRequest
from openresponses.schema.model_events import ModelEvent

API_VERSION = "2023-06-01"
MESSAGES_PATH = "/v1/messages"  # under the base URL https://api.anthropic.com (SDK convention)


class AnthropicProtocol:
    """``WireProtocol`` for Anthropic Messages. Stateless: one instance serves every request."""

    family = "anthropic"

    def build_request(self, call: ModelCall) -> UpstreamRequest:
        """The ``/v1/messages`` request; raises ``InvalidRequest`` naming the param."""
        refuse_penalties(call, "Anthropic")
        refuse_hot_temperature(call, "Anthropic", 1.0)
        refuse_logprobs(call, "Anthropic")
        return UpstreamRequest(MESSAGES_PATH, build_body(call))

    def auth_headers(self, api_key: str) -> dict[str, str]:
        """``x-api-key`` plus the fixed version and content-type headers."""
        return {
            "x-api-key": api_key,
            "anthropic-version": API_VERSION,
            "content-type": "application/json",
        }

    def translate_response(self, body: dict[str, Any]) -> list[ModelEvent]:
        """A non-stream body → the events its stream would have given (ending in ``Finish``)."""
        return translate_body(body)

    def stream_translator(self) -> AnthropicStreamTranslator:
        """A fresh translator for one streamed turn."""
        return AnthropicStreamTranslator()

    def map_error(self, status: int, body: bytes, headers: Mapping[str, str]) -> GatewayError:
        """Map an Anthropic HTTP error answer; messages are redacted of key-like strings."""
        return map_error(status, body, headers)
