"""A real MCP server (the ``mcp`` SDK's ``MCPServer``, formerly FastMCP) on 127.0.0.1 for tests.

It serves streamable HTTP at ``/mcp`` (and the legacy SSE transport at ``/sse``) through
hypercorn on trio, offering ``add``, ``echo``, ``fail`` and ``slow``. Tests read what arrived:
the JSON-RPC methods (``count("tools/list")``), the tool calls, the HTTP headers of each request,
and whether a ``slow`` call was cancelled. Run as a module (``python -m tests.fakes.mcp_server``)
it serves the same tools over stdio.
"""

from __future__ import annotations

from functools import partial
from typing import Any, cast

import anyio
import attrs
import trio
from hypercorn.config import Config as HypercornConfig
from hypercorn.trio import serve
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.sse import SseServerTransport
from mcp_types import ToolAnnotations
from starlette.types import ASGIApp, Receive, Scope, Send


@attrs.define
class FakeMcpServer:
    """Serves the test tools until cancelled; records what reached it."""

    url: str = ""  # the streamable HTTP endpoint, ``http://127.0.0.1:PORT/mcp``
    sse_url: str = ""  # the legacy SSE endpoint, ``http://127.0.0.1:PORT/sse``
    methods: list[str] = attrs.Factory(list)  # JSON-RPC methods, in arrival order
    calls: list[tuple[str, dict[str, Any]]] = attrs.Factory(list)  # (tool, arguments)
    headers: list[dict[str, str]] = attrs.Factory(list)  # lower-cased headers of each request
    slow_started: trio.Event = attrs.Factory(trio.Event)
    slow_cancelled: trio.Event = attrs.Factory(trio.Event)
    required: dict[str, str] = attrs.Factory(dict)  # headers without which requests get 401

    def count(self, method: str) -> int:
        """How many ``method`` requests (``tools/list``, ``tools/call``, ...) arrived."""
        return self.methods.count(method)

    def saw_header(self, name: str, value: str) -> bool:
        """Whether some HTTP request carried header ``name: value``."""
        return any(h.get(name.lower()) == value for h in self.headers)

    def build(self) -> MCPServer:
        """The MCP server with the test tools; every request is recorded."""
        mcp = build_tools(MCPServer("fake-mcp", log_level="WARNING"), self)
        mcp.middleware.append(self._record)
        return mcp

    async def _record(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext
                      ) -> HandlerResult:
        self.methods.append(ctx.method)
        if ctx.method == "tools/call" and ctx.params:
            arguments = dict(ctx.params.get("arguments") or {})
            self.calls.append((str(ctx.params.get("name")), arguments))
        return await call_next(ctx)

    def _headers_recorder(self, app: ASGIApp) -> ASGIApp:
        async def recording(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http":
                headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                           for k, v in scope["headers"]}
                self.headers.append(headers)
                if any(headers.get(k.lower()) != v for k, v in self.required.items()):
                    await _unauthorized(send)
                    return
            await app(scope, receive, send)

        return recording

    def _sse_app(self) -> ASGIApp:
        """The legacy SSE transport (GET /sse, POST /messages/), as raw ASGI."""
        lowlevel = self.build()._lowlevel_server
        transport = SseServerTransport("/messages/")

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["method"] == "POST":
                await transport.handle_post_message(scope, receive, send)
                return
            async with transport.connect_sse(scope, receive, send) as (read, write):
                await lowlevel.run(read, write, lowlevel.create_initialization_options())

        return app

    async def serve(self, *, task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED) -> None:
        """Serve on 127.0.0.1 (a free port) until cancelled; reports the streamable HTTP URL."""
        http_app, sse_app = self.build().streamable_http_app(), self._sse_app()

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            path = scope.get("path", "")
            sse = scope["type"] == "http" and (path == "/sse" or path.startswith("/messages/"))
            await (sse_app if sse else http_app)(scope, receive, send)

        config = HypercornConfig()
        config.bind = ["127.0.0.1:0"]
        config.accesslog = None
        config.graceful_timeout = 0.1
        asgi = cast("Any", self._headers_recorder(app))
        async with trio.open_nursery() as nursery:
            binds = await nursery.start(partial(serve, asgi, config))
            self.url = f"{binds[0]}/mcp"
            self.sse_url = f"{binds[0]}/sse"
            task_status.started(self.url)


async def _unauthorized(send: Send) -> None:
    await send({"type": "http.response.start", "status": 401,
                "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"unauthorized"})


def build_tools(mcp: MCPServer, fake: FakeMcpServer | None = None) -> MCPServer:
    """Register the test tools on ``mcp``."""

    @mcp.tool(annotations=ToolAnnotations(read_only_hint=True))
    def add(a: int, b: int) -> str:
        """Add two integers."""
        return str(a + b)

    @mcp.tool(annotations=ToolAnnotations(read_only_hint=True))
    def echo(text: str) -> str:
        """Echo the text back."""
        return text

    @mcp.tool()
    def fail() -> str:
        """Always fails."""
        raise ToolError("the tool failed on purpose")

    @mcp.tool()
    async def slow(seconds: float) -> str:
        """Sleep, then answer."""
        if fake is not None:
            fake.slow_started.set()
        try:
            await anyio.sleep(seconds)
        except anyio.get_cancelled_exc_class():
            if fake is not None:
                fake.slow_cancelled.set()
            raise
        return f"slept {seconds:g}s"

    return mcp


if __name__ == "__main__":
    build_tools(MCPServer("fake-mcp-stdio", log_level="WARNING")).run("stdio")
