"""protocol_for / protocol_for_provider: wire family and per-provider quirk flags."""

from __future__ import annotations

import importlib.util

import pytest

from openresponses.providers.chat import ChatProtocol
from openresponses.providers.openai_responses import ResponsesProtocol
from openresponses.providers.registry import protocol_for, protocol_for_provider


def test_families() -> None:
    assert isinstance(protocol_for("chat"), ChatProtocol)
    assert isinstance(protocol_for("responses"), ResponsesProtocol)
    assert protocol_for("chat").family == "chat"
    assert protocol_for("responses").family == "responses"


def test_unknown_family_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="unknown wire protocol"):
        protocol_for("soap")


def test_anthropic_is_loaded_lazily_or_fails_clearly() -> None:
    if importlib.util.find_spec("openresponses.providers.anthropic") is None:
        with pytest.raises(NotImplementedError, match="anthropic"):
            protocol_for("anthropic")
    else:
        assert protocol_for("anthropic").family == "anthropic"


def test_openai_chat_uses_developer_role_and_max_completion_tokens() -> None:
    protocol = protocol_for_provider("openai", "chat")
    assert isinstance(protocol, ChatProtocol)
    assert (protocol.developer_role, protocol.max_completion_tokens) == (True, True)


@pytest.mark.parametrize("name", ["groq", "gemini", "mistral", "deepseek", "openrouter", "ollama"])
def test_other_chat_providers_use_system_and_max_tokens(name: str) -> None:
    protocol = protocol_for_provider(name, "chat")
    assert isinstance(protocol, ChatProtocol)
    assert (protocol.developer_role, protocol.max_completion_tokens) == (False, False)


def test_openai_responses_provider_gets_the_responses_protocol() -> None:
    assert isinstance(protocol_for_provider("openai", "responses"), ResponsesProtocol)
