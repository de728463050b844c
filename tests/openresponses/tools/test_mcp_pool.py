"""McpClientPool against a real MCP server (the SDK's MCPServer on 127.0.0.1)."""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trio
import trio.testing

from openresponses.tools.mcp import McpClientPool, McpServer, McpUnavailable
from tests.fakes.mcp_server import FakeMcpServer

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
async def fake() -> AsyncIterator[FakeMcpServer]:
    server = FakeMcpServer()
    async with trio.open_nursery() as nursery:
        await nursery.start(server.serve)
        yield server
        nursery.cancel_scope.cancel()


def remote(fake: FakeMcpServer, **kwargs: object) -> McpServer:
    return McpServer(label="fake", url=fake.url, **kwargs)  # type: ignore[arg-type]


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/mcp"


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def wait_for_fds(baseline: int) -> None:
    """Poll until no more files are open than at ``baseline`` (sockets close asynchronously)."""
    for _ in range(250):
        if open_fds() <= baseline:
            return
        await trio.sleep(0.02)
    raise AssertionError(f"{open_fds() - baseline} file descriptors leaked")


async def test_lists_tools_in_mcp_list_tools_shape(fake: FakeMcpServer) -> None:
    tools = await McpClientPool().list_tools(remote(fake))
    assert [t["name"] for t in tools] == ["add", "echo", "fail", "slow"]
    add = tools[0]
    assert set(add) == {"name", "description", "input_schema", "annotations"}
    assert add["description"] == "Add two integers."
    assert add["input_schema"]["required"] == ["a", "b"]
    assert add["annotations"] == {"readOnlyHint": True}
    assert tools[2]["annotations"] is None


async def test_allowed_tools_and_read_only_filter_the_listing(fake: FakeMcpServer) -> None:
    pool = McpClientPool()
    only = await pool.list_tools(remote(fake, allowed_tools=("echo", "slow", "missing")))
    assert [t["name"] for t in only] == ["echo", "slow"]
    read_only = await pool.list_tools(remote(fake, read_only=True))
    assert [t["name"] for t in read_only] == ["add", "echo"]


async def test_a_cached_listing_is_not_fetched_again(fake: FakeMcpServer) -> None:
    pool = McpClientPool()
    first = await pool.list_tools(remote(fake))
    first[0]["name"] = "changed by the caller"
    second = await pool.list_tools(remote(fake, allowed_tools=("add",)))
    assert fake.count("tools/list") == 1
    assert [t["name"] for t in second] == ["add"]


async def test_other_headers_get_their_own_cache_entry(fake: FakeMcpServer) -> None:
    pool = McpClientPool()
    await pool.list_tools(remote(fake, headers={"Authorization": "Bearer one"}))
    await pool.list_tools(remote(fake, headers={"Authorization": "Bearer one"}))
    await pool.list_tools(remote(fake, headers={"Authorization": "Bearer two"}))
    assert fake.count("tools/list") == 2


async def test_a_listing_expires_after_its_ttl(
    fake: FakeMcpServer, mock_clock: trio.testing.MockClock
) -> None:
    pool = McpClientPool(list_ttl=60.0)
    await pool.list_tools(remote(fake))
    mock_clock.jump(59)
    await pool.list_tools(remote(fake))
    assert fake.count("tools/list") == 1
    mock_clock.jump(2)
    await pool.list_tools(remote(fake))
    assert fake.count("tools/list") == 2


async def test_concurrent_listings_of_one_server_share_one_request(fake: FakeMcpServer) -> None:
    pool = McpClientPool()
    async with trio.open_nursery() as nursery:
        for _ in range(4):
            nursery.start_soon(pool.list_tools, remote(fake))
    assert fake.count("tools/list") == 1


async def test_headers_reach_the_server(fake: FakeMcpServer) -> None:
    server = remote(fake, headers={"Authorization": "Bearer s3cret-token", "X-Team": "blue"})
    assert await McpClientPool().call_tool(server, "echo", {"text": "hi"}) == ("hi", None)
    assert fake.saw_header("authorization", "Bearer s3cret-token")
    assert fake.saw_header("x-team", "blue")
    assert "s3cret" not in repr(server)


async def test_call_tool_returns_the_tool_output(fake: FakeMcpServer) -> None:
    pool = McpClientPool()
    assert await pool.call_tool(remote(fake), "add", {"a": 1, "b": 2}) == ("3", None)
    assert await pool.call_tool(remote(fake), "echo", {"text": "héllo"}) == ("héllo", None)
    assert fake.calls == [("add", {"a": 1, "b": 2}), ("echo", {"text": "héllo"})]


async def test_a_failing_tool_comes_back_as_an_error(fake: FakeMcpServer) -> None:
    pool = McpClientPool()
    output, error = await pool.call_tool(remote(fake), "fail", {})
    assert error is not None
    assert "failed on purpose" in error
    assert "failed on purpose" in output
    outcome = await pool.call(remote(fake), "fail", {})
    assert outcome.error is not None
    assert outcome.error["type"] == "mcp_tool_execution_error"
    assert outcome.error["content"][0]["type"] == "text"


async def test_an_unknown_tool_comes_back_as_an_error(fake: FakeMcpServer) -> None:
    _output, error = await McpClientPool().call_tool(remote(fake), "nope", {})
    assert error is not None
    assert "nope" in error


async def test_an_unreachable_server_is_an_error_not_an_exception() -> None:
    server = McpServer(label="gone", url=closed_port_url())
    outcome = await McpClientPool().call(server, "add", {"a": 1, "b": 2})
    assert outcome.output == ""
    assert outcome.error is not None
    assert outcome.error["type"] == "http_error"
    assert outcome.error["code"] == 502
    assert outcome.error_text is not None
    assert "Could not connect" in outcome.error_text


async def test_listing_an_unreachable_server_raises_mcp_unavailable() -> None:
    with pytest.raises(McpUnavailable) as caught:
        await McpClientPool().list_tools(McpServer(label="gone", url=closed_port_url()))
    assert caught.value.status == 424
    assert "'gone'" in caught.value.message


async def test_an_http_401_is_reported_without_the_credentials(fake: FakeMcpServer) -> None:
    fake.required = {"Authorization": "Bearer right-token"}
    server = remote(fake, headers={"Authorization": "Bearer wrong-token"})
    with pytest.raises(McpUnavailable) as caught:
        await McpClientPool().list_tools(server)
    assert "401 (Unauthorized)" in caught.value.message
    assert caught.value.error == {"type": "http_error", "code": 401,
                                  "message": "Http status code: 401 (Unauthorized)"}
    outcome = await McpClientPool().call(server, "add", {"a": 1, "b": 2})
    assert outcome.error is not None
    assert outcome.error["code"] == 401
    assert "wrong-token" not in str(outcome.error) + caught.value.message


async def test_cancelling_a_call_cancels_the_request_and_leaks_nothing(
    fake: FakeMcpServer,
) -> None:
    pool = McpClientPool()
    await pool.call_tool(remote(fake), "echo", {"text": "warm up"})
    baseline = open_fds()
    with pytest.raises(trio.TooSlowError), trio.fail_after(0.3):
        await pool.call_tool(remote(fake), "slow", {"seconds": 30})
    with trio.fail_after(5):
        await fake.slow_cancelled.wait()  # the server saw the request go away
        await wait_for_fds(baseline)
    assert await pool.call_tool(remote(fake), "add", {"a": 2, "b": 2}) == ("4", None)


async def test_the_sse_transport_lists_and_calls(fake: FakeMcpServer) -> None:
    server = McpServer(label="legacy", url=fake.sse_url, headers={"X-Key": "sse-key"})
    pool = McpClientPool()
    assert [t["name"] for t in await pool.list_tools(server)][:2] == ["add", "echo"]
    assert await pool.call_tool(server, "add", {"a": 20, "b": 22}) == ("42", None)
    assert fake.saw_header("x-key", "sse-key")


async def test_a_stdio_server_runs_with_its_env() -> None:
    server = McpServer(label="local", command=(sys.executable, "-m", "tests.fakes.mcp_server"),
                       env={"PYTHONPATH": str(ROOT)}, declared=True)
    with trio.fail_after(20):
        assert await McpClientPool().call_tool(server, "add", {"a": 5, "b": 6}) == ("11", None)


async def test_a_stdio_command_that_cannot_start_is_an_error() -> None:
    server = McpServer(label="broken", command=("/nonexistent/mcp-server",), declared=True)
    _output, error = await McpClientPool().call_tool(server, "add", {})
    assert error is not None
    assert "Could not start the MCP server" in error
