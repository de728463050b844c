"""MCP results and failures in Responses terms (pure): ``mcp_list_tools`` tools, the text of
an ``mcp_call`` output, and its ``error`` object.

The ``mcp_call`` item's ``error`` is one of the spec's three shapes::

    {"type": "mcp_protocol_error", "code": -32601, "message": "..."}   # JSON-RPC error
    {"type": "mcp_tool_execution_error", "content": [...]}              # a result with isError
    {"type": "http_error", "code": 401, "message": "..."}               # HTTP / connection

Messages never carry the server's headers (credentials) or the URL's query.
"""

from __future__ import annotations

import http
import json
from collections.abc import Iterable, Mapping
from typing import Any

import httpx2
from mcp.shared.exceptions import MCPError
from mcp_types import (
    CONNECTION_CLOSED,
    INTERNAL_ERROR,
    CallToolResult,
    ContentBlock,
    EmbeddedResource,
    TextContent,
    TextResourceContents,
    Tool,
)

_MAX_MESSAGE = 500


def tool_dict(tool: Tool) -> dict[str, Any]:
    """An ``mcp_list_tools`` entry: ``{"name", "description", "input_schema", "annotations"}``."""
    annotations = tool.annotations
    return {
        "name": tool.name,
        "description": tool.description,
        "input_schema": tool.input_schema,
        "annotations": annotations.model_dump(mode="json", by_alias=True, exclude_none=True)
        if annotations is not None else None,
    }


def _block_text(block: ContentBlock) -> str:
    if isinstance(block, TextContent):
        return block.text
    if isinstance(block, EmbeddedResource) and isinstance(block.resource, TextResourceContents):
        return block.resource.text
    if block.type in ("image", "audio"):
        mime = getattr(block, "mime_type", "")
        return f"[{block.type} content ({mime}) omitted]"
    return json.dumps(block.model_dump(mode="json", by_alias=True, exclude_none=True),
                      ensure_ascii=False)


def result_text(result: CallToolResult) -> str:
    """The text of a tool result: its text blocks, else its structured content as JSON."""
    parts = [_block_text(block) for block in result.content]
    if not parts and result.structured_content is not None:
        parts.append(json.dumps(result.structured_content, ensure_ascii=False))
    return "\n".join(parts)


def execution_error(result: CallToolResult) -> dict[str, Any]:
    """The ``error`` of a call whose result says ``isError``."""
    content = [block.model_dump(mode="json", by_alias=True, exclude_none=True)
               for block in result.content]
    return {"type": "mcp_tool_execution_error", "content": content}


def _leaf(exc: BaseException) -> BaseException:
    """The first real error inside nested exception groups (anyio wraps transport errors)."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def _http_error(status: int, what: str = "") -> dict[str, Any]:
    try:
        reason = http.HTTPStatus(status).phrase
    except ValueError:
        reason = "Unknown"
    return {"type": "http_error", "code": status,
            "message": f"{what}Http status code: {status} ({reason})"}


def failure(exc: BaseException, statuses: list[int]) -> dict[str, Any]:
    """The ``error`` for an exception from an MCP session. ``statuses`` are the HTTP error
    statuses the session saw (the SDK folds a 401 into a generic JSON-RPC error)."""
    leaf = _leaf(exc)
    if isinstance(leaf, MCPError):
        if statuses and leaf.code in (INTERNAL_ERROR, CONNECTION_CLOSED):
            return _http_error(statuses[-1])
        return {"type": "mcp_protocol_error", "code": leaf.code, "message": leaf.message}
    if isinstance(leaf, httpx2.HTTPStatusError):
        return _http_error(leaf.response.status_code)
    if isinstance(leaf, httpx2.TimeoutException):
        return {"type": "http_error", "code": 504, "message": "The MCP server timed out."}
    if isinstance(leaf, httpx2.TransportError):
        return {"type": "http_error", "code": 502,
                "message": f"Could not connect to the MCP server ({type(leaf).__name__}: {leaf})."}
    if isinstance(leaf, OSError):
        return {"type": "mcp_protocol_error", "code": CONNECTION_CLOSED,
                "message": f"Could not start the MCP server: {leaf.strerror or leaf}."}
    return {"type": "mcp_protocol_error", "code": INTERNAL_ERROR,
            "message": f"{type(leaf).__name__}: {leaf}"}


def error_text(error: Mapping[str, Any]) -> str:
    """A one-line description of an ``mcp_call`` error, for the model and for logs."""
    if error.get("type") == "mcp_tool_execution_error":
        texts = [str(b.get("text", "")) for b in error.get("content") or []
                 if isinstance(b, Mapping) and b.get("type") == "text"]
        return "\n".join(t for t in texts if t) or "The MCP tool reported an error."
    if error.get("type") == "mcp_protocol_error":
        return f"MCP error {error.get('code')}: {error.get('message')}"
    return str(error.get("message") or "The MCP server could not be reached.")


def redact(error: dict[str, Any], secrets: Iterable[str]) -> dict[str, Any]:
    """``error`` with each secret (header values) masked and long messages cut."""
    hidden = sorted((s for s in secrets if len(s) >= 4), key=len, reverse=True)

    def clean(text: str) -> str:
        for secret in hidden:
            text = text.replace(secret, "[redacted]")
        return text if len(text) <= _MAX_MESSAGE else text[:_MAX_MESSAGE] + "…"

    if isinstance(error.get("message"), str):
        error = {**error, "message": clean(error["message"])}
    return error
