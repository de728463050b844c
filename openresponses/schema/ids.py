"""Our ids: ``resp_…``, ``msg_…``, ``fc_…``, ``rs_…`` — never an upstream one."""

from __future__ import annotations

import secrets


def new_id(prefix: str) -> str:
    """A fresh id ``<prefix>_<48 hex chars>`` (192 random bits, OpenAI's length)."""
    return f"{prefix}_{secrets.token_hex(24)}"


ITEM_PREFIX = {
    "message": "msg",
    "function_call": "fc",
    "function_call_output": "fco",
    "reasoning": "rs",
    "web_search_call": "ws",
    "custom_tool_call": "ctc",
    "mcp_call": "mcp",
    "mcp_list_tools": "mcpl",
}


def item_id(item_type: str) -> str:
    """A fresh id for an item of ``item_type``."""
    return new_id(ITEM_PREFIX.get(item_type, "item"))
