"""The Chat Completions wire protocol (``family = "chat"``): OpenAI and every compatible server.

``ChatProtocol`` ties the pure pieces together: ``chat_request`` builds the body,
``chat_response`` translates answers and streams, ``errors`` maps error bodies. Provider quirks
are constructor flags (see ``registry.protocol_for_provider``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from openresponses.errors import GatewayError
from openresponses.providers.chat_prefix import PrefixCache
from openresponses.providers.chat_request import (
    chat_tools,
    encoded_chat_messages,
    response_format,
)
from openresponses.providers.chat_response import ChatStreamTranslator, translate_chat_response
from openresponses.providers.errors import map_openai_error
from openresponses.providers.unsupported import refuse_logprobs
from openresponses.schema.model_call import ModelCall, UpstreamRequest
from openresponses.schema.model_events import ModelEvent

__all__ = ["ChatProtocol", "ChatStreamTranslator"]


class ChatProtocol:
    """Responses ⇄ Chat Completions (``POST /chat/completions``).

    ``developer_role``: send ``developer`` messages as such (OpenAI) instead of as ``system``.
    ``max_completion_tokens``: send ``max_output_tokens`` as ``max_completion_tokens`` (OpenAI's
    reasoning models reject ``max_tokens``) instead of ``max_tokens``.
    """

    family: str = "chat"

    def __init__(
        self, *, developer_role: bool = False, max_completion_tokens: bool = False
    ) -> None:
        self.developer_role = developer_role
        self.max_completion_tokens = max_completion_tokens
        self._prefixes = PrefixCache()  # deep chains: the earlier turns' messages, reused

    def __repr__(self) -> str:
        return (
            f"ChatProtocol(developer_role={self.developer_role}, "
            f"max_completion_tokens={self.max_completion_tokens})"
        )

    def build_request(self, call: ModelCall) -> UpstreamRequest:
        """The chat request for this turn; raises ``InvalidRequest`` for inexpressible input."""
        body: dict[str, Any] = {
            "model": call.model,
            "messages": encoded_chat_messages(call, developer_role=self.developer_role,
                                              prefixes=self._prefixes),
        }
        tools, tool_choice = chat_tools(call)
        if tools:
            body["tools"] = tools
            if tool_choice is not None:
                body["tool_choice"] = tool_choice
            if call.parallel_tool_calls is not None:
                body["parallel_tool_calls"] = call.parallel_tool_calls
        if call.temperature is not None:
            body["temperature"] = call.temperature
        if call.top_p is not None:
            body["top_p"] = call.top_p
        if call.max_output_tokens is not None:
            field = "max_completion_tokens" if self.max_completion_tokens else "max_tokens"
            body[field] = call.max_output_tokens
        if (fmt := response_format(call.text_format)) is not None:
            body["response_format"] = fmt
        if call.user is not None:
            body["user"] = call.user
        if call.reasoning and call.reasoning.get("effort") is not None:
            body["reasoning_effort"] = call.reasoning["effort"]
        if call.penalties:
            body.update(call.penalties)
        refuse_logprobs(call, "Chat Completions")
        if call.stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        return UpstreamRequest("/chat/completions", body)

    def auth_headers(self, api_key: str) -> dict[str, str]:
        """``Authorization: Bearer``; nothing for keyless local servers."""
        return {"Authorization": f"Bearer {api_key}"} if api_key else {}

    def translate_response(self, body: dict[str, Any]) -> list[ModelEvent]:
        """A non-stream ``chat.completion`` → events (see ``chat_response``)."""
        return translate_chat_response(body)

    def stream_translator(self) -> ChatStreamTranslator:
        """A fresh translator for one streamed turn."""
        return ChatStreamTranslator()

    def map_error(self, status: int, body: bytes, headers: Mapping[str, str]) -> GatewayError:
        """Map an upstream HTTP error (never echoing credentials)."""
        return map_openai_error(status, body, headers)
