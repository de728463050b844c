"""MCP results and failures in Responses terms (pure)."""

from __future__ import annotations

import httpx2
from mcp.shared.exceptions import MCPError
from mcp_types import (
    CallToolResult,
    EmbeddedResource,
    ImageContent,
    TextContent,
    TextResourceContents,
)

from openresponses.tools.mcp_results import error_text, failure, redact, result_text


def test_result_text_joins_text_blocks_and_describes_the_rest() -> None:
    result = CallToolResult(content=[
        TextContent(text="first"),
        ImageContent(data="aGk=", mime_type="image/png"),
        EmbeddedResource(resource=TextResourceContents(uri="file:///a.txt", text="inside")),
    ])
    assert result_text(result) == "first\n[image content (image/png) omitted]\ninside"


def test_structured_content_is_the_text_when_there_are_no_blocks() -> None:
    result = CallToolResult(content=[], structured_content={"sum": 3})
    assert result_text(result) == '{"sum": 3}'


def test_failures_map_to_the_three_spec_error_shapes() -> None:
    request = httpx2.Request("POST", "https://93.184.216.34/mcp")
    unreachable = ExceptionGroup("nursery", [ExceptionGroup("inner", [
        httpx2.ConnectError("connection refused", request=request)])])
    assert failure(unreachable, [])["code"] == 502
    assert failure(httpx2.ReadTimeout("slow", request=request), [])["code"] == 504
    assert failure(MCPError(-32601, "Method not found"), []) == {
        "type": "mcp_protocol_error", "code": -32601, "message": "Method not found"}
    assert failure(MCPError(-32603, "Server returned an error response"), [403]) == {
        "type": "http_error", "code": 403, "message": "Http status code: 403 (Forbidden)"}
    spawn = failure(FileNotFoundError(2, "No such file or directory"), [])
    assert spawn["type"] == "mcp_protocol_error"
    assert "Could not start" in spawn["message"]


def test_error_text_reads_each_shape() -> None:
    execution = {"type": "mcp_tool_execution_error",
                 "content": [{"type": "text", "text": "bad input"}]}
    assert error_text(execution) == "bad input"
    assert error_text({"type": "mcp_tool_execution_error", "content": []})
    assert error_text({"type": "mcp_protocol_error", "code": -1, "message": "x"}) == \
        "MCP error -1: x"
    assert error_text({"type": "http_error", "code": 401, "message": "nope"}) == "nope"


def test_redact_masks_secrets_and_cuts_long_messages() -> None:
    message = "token tok-123456 rejected" + "!" * 600
    error: dict[str, object] = {"type": "mcp_protocol_error", "code": 1, "message": message}
    cleaned = redact(error, ["tok-123456", "ab"])
    assert "tok-123456" not in cleaned["message"]
    assert cleaned["message"].startswith("token [redacted] rejected")
    assert len(cleaned["message"]) <= 501
    assert error["message"] == message  # the input is left alone
