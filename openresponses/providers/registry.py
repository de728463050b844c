"""Which ``WireProtocol`` speaks to a provider: by wire family, with per-provider quirk flags.

``anthropic`` is imported lazily so this module works (and fails clearly) whether or not the
Anthropic translation is installed.
"""

from __future__ import annotations

import importlib
from typing import cast

from openresponses.providers.base import WireProtocol
from openresponses.providers.chat import ChatProtocol
from openresponses.providers.openai_responses import ResponsesProtocol

_ANTHROPIC_MODULE = "openresponses.providers.anthropic"
# Chat providers that take the ``developer`` role and want ``max_completion_tokens``.
_OPENAI_STYLE_CHAT = frozenset({"openai", "azure"})


def protocol_for(api: str) -> WireProtocol:
    """The protocol for a wire family: ``chat``, ``responses`` or ``anthropic``.

    Raises ``ValueError`` for an unknown family and ``NotImplementedError`` if the Anthropic
    module is not there.
    """
    if api == "chat":
        return ChatProtocol()
    if api == "responses":
        return ResponsesProtocol()
    if api == "anthropic":
        return _anthropic()
    raise ValueError(f"unknown wire protocol {api!r} (expected chat, responses or anthropic)")


def protocol_for_provider(name: str, api: str) -> WireProtocol:
    """``protocol_for(api)`` with the quirk flags of provider ``name`` (e.g. OpenAI's chat)."""
    if api == "chat" and name in _OPENAI_STYLE_CHAT:
        return ChatProtocol(developer_role=True, max_completion_tokens=True)
    return protocol_for(api)


def _anthropic() -> WireProtocol:
    try:
        module = importlib.import_module(_ANTHROPIC_MODULE)
    except ModuleNotFoundError as exc:
        if exc.name != _ANTHROPIC_MODULE:
            raise  # a dependency of the module is missing: show that, not a vague message
        raise NotImplementedError(
            f"the anthropic wire protocol is not available ({_ANTHROPIC_MODULE} is missing)"
        ) from None
    protocol_class = getattr(module, "AnthropicProtocol", None)
    if protocol_class is None:
        raise NotImplementedError(f"{_ANTHROPIC_MODULE} does not define AnthropicProtocol")
    return cast(WireProtocol, protocol_class())
