"""The tool-runner actor: runs server-side tool calls (web search, think, MCP).

It owns what tools share across requests (the HTTP client for search, the MCP client pool),
runs up to ``settings.concurrency`` calls at once, and bounds each call by ``settings.timeout``.
A failing or timed-out tool never raises: its error becomes the tool's output, so the model can
go on. A cancelled asker (client gone) cancels the call.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any, assert_never

import attrs
import httpx2
import trio

from actors import Actor, Ask
from openresponses.errors import GatewayError
from openresponses.gateway.upstream_http import cookieless_jar
from openresponses.tools.base import ServerToolSpec, ToolCallRequest, ToolOutcome
from openresponses.tools.brave import brave_search, results_text

if TYPE_CHECKING:
    from openresponses.tools.mcp import McpClientPool, McpServer
from openresponses.tools.settings import ToolSettings


@attrs.frozen
class RunTool(Ask[ToolOutcome]):
    spec: ServerToolSpec
    call: ToolCallRequest
    include_sources: bool = False


@attrs.frozen
class ListMcpTools(Ask[list[dict[str, Any]]]):
    """The tools of an MCP server (raises ``GatewayError`` if it cannot be listed)."""

    server: McpServer


ToolMessage = RunTool | ListMcpTools


logger = logging.getLogger("openresponses.tools")

def _arguments(call: ToolCallRequest) -> dict[str, Any]:
    """The call's arguments as an object; {} for anything else (the tool then says what it
    lacks). RecursionError: nested past what the parser takes."""
    try:
        parsed = json.loads(call.arguments or "{}")
    except (ValueError, RecursionError):
        return {}
    return parsed if isinstance(parsed, dict) else {}


class ToolRunner(Actor[ToolMessage]):
    def __init__(
        self, settings: ToolSettings, transport: httpx2.AsyncBaseTransport | None = None
    ) -> None:
        self.settings = settings
        self.concurrency = settings.concurrency
        self._transport = transport
        self._http: httpx2.AsyncClient | None = None
        self._mcp_pool: McpClientPool | None = None

    @property
    def _mcp(self) -> McpClientPool:
        if self._mcp_pool is None:  # imported on first use: most gateways never call MCP
            from openresponses.tools.mcp import McpClientPool

            self._mcp_pool = McpClientPool()
        return self._mcp_pool

    async def on_start(self) -> None:
        self._http = httpx2.AsyncClient(timeout=httpx2.Timeout(self.settings.timeout),
                                        transport=self._transport, cookies=cookieless_jar())

    async def on_stop(self) -> None:
        if self._http is not None:
            await self._http.aclose()
        if self._mcp_pool is not None:
            await self._mcp_pool.aclose()

    async def receive(self, message: ToolMessage) -> object:
        match message:
            case RunTool():
                return await self._run(message)
            case ListMcpTools(server):
                with trio.fail_after(self.settings.timeout):
                    return await self._mcp.list_tools(server)
            case _:
                assert_never(message)

    async def _run(self, message: RunTool) -> ToolOutcome:
        """Run one call within the per-tool timeout; failures become the tool's output."""
        spec, call = message.spec, message.call
        with trio.move_on_after(self.settings.timeout):
            try:
                return await self._dispatch(message, _arguments(call))
            except GatewayError as error:
                return _failed(spec, call, error.message)
            except Exception:  # a bug of ours: the call fails, not the response
                logger.exception("the %s tool %r broke", spec.kind, call.name)
                return _failed(spec, call, "the tool failed unexpectedly")
        return _failed(spec, call, f"the tool timed out after {self.settings.timeout:g} s")

    async def _dispatch(self, message: RunTool, args: dict[str, Any]) -> ToolOutcome:
        spec = message.spec
        if spec.kind == "brave_search":
            return await self._search(args, spec, message.include_sources)
        if spec.kind == "think":
            thought = str(args.get("thought", ""))
            return ToolOutcome(output_for_model="Thought noted. Continue.", item={
                "type": "reasoning", "summary": [], "status": "completed",
                "content": [{"type": "reasoning_text", "text": thought}]})
        if spec.kind == "mcp":
            return await self._mcp_call(spec, message.call, args)
        assert_never(spec.kind)

    async def _search(self, args: dict[str, Any], spec: ServerToolSpec,
                      include_sources: bool) -> ToolOutcome:
        assert self._http is not None
        assert self.settings.brave_api_key is not None
        query = str(args.get("query", "")).strip()
        results = await brave_search(
            self._http, base_url=self.settings.brave_base_url,
            api_key=self.settings.brave_api_key, query=query,
            count=int(spec.options.get("count", 5)),
        )
        action: dict[str, Any] = {"type": "search", "query": query}
        if include_sources:
            action["sources"] = [{"type": "url", "url": r.url} for r in results]
        return ToolOutcome(output_for_model=results_text(query, results),
                           item={"type": "web_search_call", "status": "completed",
                                 "action": action})

    async def _mcp_call(self, spec: ServerToolSpec, call: ToolCallRequest,
                        args: dict[str, Any]) -> ToolOutcome:
        server: McpServer = spec.options["server"]
        name: str = spec.options["tool"]
        outcome = await self._mcp.call(server, name, args)
        failed = outcome.error is not None
        item = {"type": "mcp_call", "server_label": server.label, "name": name,
                "arguments": call.arguments or "{}", "output": None if failed else outcome.output,
                "error": outcome.error, "status": "failed" if failed else "completed",
                "approval_request_id": call.approval_request_id}
        text = f"Error: {outcome.error_text}" if failed else outcome.output
        return ToolOutcome(output_for_model=text, item=item, failed=failed)


def _failed(spec: ServerToolSpec, call: ToolCallRequest, why: str) -> ToolOutcome:
    """The outcome of a tool that failed: the model is told, the item says ``failed``."""
    item: dict[str, Any] = {"type": spec.item_type, "status": "failed"}
    if spec.item_type == "web_search_call":
        item["action"] = {"type": "search", "query": str(_arguments(call).get("query", ""))}
    elif spec.item_type == "mcp_call":
        item.update(server_label=spec.options["server"].label, name=spec.options["tool"],
                    arguments=call.arguments or "{}", output=None,
                    error={"type": "mcp_tool_execution_error",
                           "content": [{"type": "text", "text": why}]})
    elif spec.item_type == "reasoning":
        item.update(summary=[], status="completed")
    return ToolOutcome(output_for_model=f"Error: {why}", item=item, failed=True)
