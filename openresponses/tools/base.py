"""What the tool loop and the tool-runner actor agree on: a server-side tool call and its outcome.

A *server tool* is one the gateway runs itself (web search, think, MCP). The model sees it as a
function (``ServerToolSpec.function``); when the model calls it, the run asks the ToolRunner
actor to execute it, shows the call to the client as the tool's own output item
(``web_search_call``, ``mcp_call``, ...) and feeds ``ToolOutcome.output_for_model`` back to the
model as the function's output on the next turn.
"""

from __future__ import annotations

from typing import Any, Literal

import attrs

ToolKind = Literal["brave_search", "think", "mcp"]


@attrs.frozen
class ToolCallRequest:
    """The model's call: its ``call_id``, the function ``name`` it used, the JSON ``arguments``."""

    call_id: str
    name: str
    arguments: str
    approval_request_id: str | None = None  # an MCP call the client approved: the request's


@attrs.frozen(kw_only=True)
class ServerToolSpec:
    """One server tool offered to the model for this response."""

    kind: ToolKind
    function: dict[str, Any]  # the flat Responses function tool the model sees
    item_type: str  # the public output item type: "web_search_call", "mcp_call", ...
    # kind-specific settings (e.g. the MCP server, the remote tool's real name); never stored
    options: dict[str, Any] = attrs.field(factory=dict, repr=False)


@attrs.frozen(kw_only=True)
class ToolOutcome:
    """What running a server tool produced."""

    output_for_model: str  # the text the model gets back as the function's output
    item: dict[str, Any]  # the finished public output item (the builder assigns its id)
    failed: bool = False
