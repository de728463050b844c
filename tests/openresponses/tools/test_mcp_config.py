"""MCP servers from request tools and the config file; approval rules."""

from __future__ import annotations

from typing import Any

import pytest

from openresponses.errors import InvalidRequest
from openresponses.tools.mcp import McpServer, mcp_server_from_tool, parse_declared_servers

URL = "https://93.184.216.34/mcp"
DECLARED = parse_declared_servers({
    "docs": {"url": "http://127.0.0.1:9000/mcp", "headers": {"Authorization": "Bearer cfg"},
             "require_approval": "never", "allowed_tools": ["search"]},
    "files": {"command": ["npx", "server-files", "/srv"], "env": {"TOKEN": "env-secret"}},
})


def from_tool(tool: dict[str, Any], *, allow_private: bool = False) -> McpServer:
    return mcp_server_from_tool({"type": "mcp", **tool}, DECLARED, allow_private=allow_private,
                                param="tools[2]")


def bad(tool: dict[str, Any], *, allow_private: bool = False) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as caught:
        from_tool(tool, allow_private=allow_private)
    return caught.value


# --- approval -----------------------------------------------------------------------------

NEVER_SEARCH = {"never": {"tool_names": ["search"]}}
ALWAYS_DELETE = {"always": {"tool_names": ["delete"]}}
BOTH = {"never": {"tool_names": ["search"]}, "always": {"tool_names": ["delete"]}}
NEVER_READ_ONLY = {"never": {"read_only": True}}


@pytest.mark.parametrize(
    ("rule", "tool", "read_only", "expected"),
    [
        ("always", "search", True, True),
        ("never", "delete", False, False),
        (NEVER_SEARCH, "search", False, False),
        (NEVER_SEARCH, "delete", False, True),  # not named by `never`: ask
        (ALWAYS_DELETE, "delete", False, True),
        (ALWAYS_DELETE, "search", False, False),  # only `always` given: others run
        (BOTH, "search", False, False),
        (BOTH, "delete", False, True),
        (BOTH, "other", False, True),  # named by neither: ask
        (NEVER_READ_ONLY, "search", True, False),
        (NEVER_READ_ONLY, "delete", False, True),
        ({"never": {"tool_names": ["search"], "read_only": True}}, "search", False, True),
        ({}, "search", False, True),
    ],
)
def test_needs_approval_follows_each_require_approval_form(
    rule: str | dict[str, Any], tool: str, read_only: bool, expected: bool
) -> None:
    server = McpServer(label="s", url=URL, require_approval=rule)
    assert server.needs_approval(tool, read_only=read_only) is expected


def test_approval_is_required_by_default() -> None:
    assert from_tool({"server_label": "s", "server_url": URL}).needs_approval("anything")


def test_allows_filters_by_name_and_read_only_hint() -> None:
    server = McpServer(label="s", url=URL, allowed_tools=("a", "b"), read_only=True)
    assert server.allows({"name": "a", "annotations": {"readOnlyHint": True}})
    assert not server.allows({"name": "b", "annotations": None})
    assert not server.allows({"name": "c", "annotations": {"readOnlyHint": True}})


# --- request tools ------------------------------------------------------------------------


def test_a_remote_server_tool_is_parsed() -> None:
    server = from_tool({
        "server_label": "deepwiki", "server_url": URL, "headers": {"X-Api-Key": "k-123456"},
        "authorization": "oauth-token", "allowed_tools": {"tool_names": ["ask"], "read_only": True},
        "require_approval": {"never": {"tool_names": ["ask"]}},
    })
    assert server.label == "deepwiki"
    assert server.url == URL
    assert not server.declared
    assert server.headers == {"X-Api-Key": "k-123456", "Authorization": "Bearer oauth-token"}
    assert server.allowed_tools == ("ask",)
    assert server.read_only
    assert not server.needs_approval("ask")


@pytest.mark.parametrize(
    ("tool", "param"),
    [
        ({"server_url": URL}, "tools[2].server_label"),
        ({"server_label": "", "server_url": URL}, "tools[2].server_label"),
        ({"server_label": "has space", "server_url": URL}, "tools[2].server_label"),
        ({"server_label": "s", "server_url": "ftp://93.184.216.34/"}, "tools[2].server_url"),
        ({"server_label": "s", "server_url": 42}, "tools[2].server_url"),
        ({"server_label": "s", "server_url": URL, "headers": ["x"]}, "tools[2].headers"),
        ({"server_label": "s", "server_url": URL, "headers": {"X": "a\r\nB: c"}},
         "tools[2].headers"),
        ({"server_label": "s", "server_url": URL, "allowed_tools": "add"},
         "tools[2].allowed_tools"),
        ({"server_label": "s", "server_url": URL, "require_approval": "sometimes"},
         "tools[2].require_approval"),
        ({"server_label": "s", "server_url": URL, "require_approval": {"never": ["a"]}},
         "tools[2].require_approval.never"),
        ({"server_label": "s", "connector_id": "connector_gmail"}, "tools[2].connector_id"),
        ({"server_label": "unknown"}, "tools[2].server_url"),
    ],
)
def test_bad_mcp_tools_are_refused_naming_the_field(tool: dict[str, Any], param: str) -> None:
    error = bad(tool)
    assert error.param == param
    assert error.status == 400


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8000/mcp", "http://169.254.169.254/", "http://localhost:1/mcp",
            "http://[::1]/mcp", "http://10.0.0.1/mcp"],
)
def test_private_urls_are_refused_unless_allowed(url: str) -> None:
    error = bad({"server_label": "s", "server_url": url})
    assert error.param == "tools[2].server_url"
    assert error.code == "url_not_allowed"
    assert from_tool({"server_label": "s", "server_url": url}, allow_private=True).url == url


def test_a_label_alone_names_a_declared_server() -> None:
    docs = from_tool({"server_label": "docs"})
    assert docs.declared
    assert docs.url == "http://127.0.0.1:9000/mcp"
    assert docs.headers == {"Authorization": "Bearer cfg"}
    assert docs.allowed_tools == ("search",)
    assert not docs.needs_approval("search")


def test_a_request_refines_a_declared_server() -> None:
    docs = from_tool({"server_label": "docs", "headers": {"X-Trace": "1"},
                      "require_approval": "always"})
    assert docs.headers == {"Authorization": "Bearer cfg", "X-Trace": "1"}
    assert docs.allowed_tools == ("search",)  # kept: the request gave none
    assert docs.needs_approval("search")
    files = from_tool({"server_label": "files", "headers": {"X-Trace": "1"}})
    assert files.command == ("npx", "server-files", "/srv")
    assert files.headers == {}


def test_a_url_in_the_request_wins_over_a_declared_label() -> None:
    server = from_tool({"server_label": "docs", "server_url": URL})
    assert server.url == URL
    assert not server.declared
    assert server.headers == {}


# --- the config file ------------------------------------------------------------------------


def test_declared_servers_are_parsed() -> None:
    servers = parse_declared_servers({
        "web": {"url": "https://mcp.example.com/sse", "require_approval": {
            "always": {"tool_names": ["write"]}}},
        "local": {"command": "uvx my-server --flag", "args": ["extra"], "env": {"A": "b"},
                  "allowed_tools": {"read_only": True}},
    })
    assert servers["web"].url == "https://mcp.example.com/sse"
    assert servers["web"].declared
    assert not servers["web"].needs_approval("read")
    assert servers["local"].command == ("uvx", "my-server", "--flag", "extra")
    assert servers["local"].env == {"A": "b"}
    assert servers["local"].read_only
    assert servers["local"].allowed_tools is None


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"x": {}}, "mcp_servers.x needs exactly one of url or command"),
        ({"x": {"url": "https://a/", "command": ["a"]}}, "needs exactly one"),
        ({"x": {"url": "ftp://a/"}}, "mcp_servers.x.url must be an http or https URL"),
        ({"x": {"command": []}}, "mcp_servers.x.command"),
        ({"x": {"command": ["a"], "env": {"A": 1}}}, "mcp_servers.x.env"),
        ({"x": {"url": "https://a/", "headers": "Bearer y"}}, "mcp_servers.x.headers"),
        ({"x": {"url": "https://a/", "require_approval": "maybe"}},
         "mcp_servers.x.require_approval"),
        ({"1bad": {"url": "https://a/"}}, "mcp_servers.1bad has an invalid name"),
        ({"x": "https://a/"}, "mcp_servers.x must be a table"),
    ],
)
def test_bad_declared_servers_are_a_readable_config_error(
    table: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message.replace(".", r"\.")):
        parse_declared_servers(table)


def test_credentials_are_not_in_the_repr() -> None:
    server = McpServer(label="s", url="https://user:pw@93.184.216.34/mcp?key=q-secret",
                       headers={"Authorization": "Bearer h-secret"}, env={"T": "e-secret"})
    text = repr(server)
    assert "93.184.216.34/mcp" in text
    for secret in ("pw", "q-secret", "h-secret", "e-secret"):
        assert secret not in text
