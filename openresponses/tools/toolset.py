"""Which tools a response offers the model, per provider, and how calls map back (pure).

- Function tools go to every provider as they are.
- Hosted tools: an OpenAI (Responses API) upstream receives them as given; for every other
  provider, ``web_search`` / ``web_search_preview`` / ``brave_web_search`` become a ``web_search``
  function served by Brave, ``think`` a ``think`` function, and anything else is not offered
  (a warning, or a 400 with strict tools).
- ``custom`` tools become a function with one string parameter ``input``; ``namespace`` tools
  are flattened into ``<namespace>__<name>`` functions. Calls map back to ``custom_tool_call``
  items and namespaced ``function_call`` items.
MCP tools are added by the run once their servers have been listed (``with_mcp_tools``).
"""

from __future__ import annotations

import json
from typing import Any, Literal

import attrs

from openresponses.errors import InvalidRequest, shown
from openresponses.schema.model_call import Item
from openresponses.tools.base import ServerToolSpec
from openresponses.tools.settings import ToolSettings

_WEB_SEARCH = ("web_search", "web_search_preview", "brave_web_search")
_OURS_EVEN_ON_OPENAI = ("brave_web_search", "think", "mcp")

WEB_SEARCH_FUNCTION = {
    "type": "function", "name": "web_search", "strict": False,
    "description": "Search the web. Returns the top results with title, URL and snippet.",
    "parameters": {"type": "object", "properties": {"query": {
        "type": "string", "description": "The search query."}}, "required": ["query"]},
}
THINK_FUNCTION = {
    "type": "function", "name": "think", "strict": False,
    "description": "Think about something step by step. Use it to reason before answering; it "
                   "does not fetch new information.",
    "parameters": {"type": "object", "properties": {"thought": {
        "type": "string", "description": "Your thought."}}, "required": ["thought"]},
}


@attrs.frozen
class RenamedTool:
    """A model-facing function that stands for a custom or a namespaced tool."""

    kind: Literal["custom", "namespace"]
    name: str
    namespace: str | None = None


@attrs.frozen(kw_only=True)
class Toolset:
    model_tools: list[dict[str, Any]]
    server: dict[str, ServerToolSpec]
    renamed: dict[str, RenamedTool]
    mcp_tools: list[tuple[int, dict[str, Any]]]  # (index in request.tools, the mcp tool)
    warnings: list[str]

    def without_server_tools(self) -> Toolset:
        """This toolset offering the model only the client's tools (``server`` stays: a call
        the model still makes to a gateway tool is known as one)."""
        tools = [t for t in self.model_tools if t.get("name") not in self.server]
        return attrs.evolve(self, model_tools=tools)

    def with_mcp_tools(self, specs: list[ServerToolSpec]) -> Toolset:
        """This toolset plus listed MCP tools (offered as functions, run by the gateway)."""
        server = {**self.server, **{s.function["name"]: s for s in specs}}
        tools = self.model_tools + [s.function for s in specs]
        _check_unique_names(tools)
        return attrs.evolve(self, model_tools=tools, server=server)


def _unservable(kind: str, index: int, settings: ToolSettings, warnings: list[str],
                why: str) -> None:
    message = (f"The hosted tool '{shown(kind)}' (tools[{index}]) is not offered to the model: "
               f"{why}.")
    if settings.strict:
        raise InvalidRequest(message, param=f"tools[{index}]", code="unsupported_tool")
    warnings.append(message)


def _web_search(tool: dict[str, Any], index: int, settings: ToolSettings,
                warnings: list[str]) -> ServerToolSpec | None:
    if settings.brave_api_key is None or settings.web_search == "off":
        if tool["type"] == "brave_web_search":
            raise InvalidRequest("brave_web_search needs BRAVE_API_KEY on the gateway.",
                                 param=f"tools[{index}]", code="tool_unavailable")
        _unservable(tool["type"], index, settings, warnings, "no web search is configured")
        return None
    return ServerToolSpec(kind="brave_search", function=WEB_SEARCH_FUNCTION,
                          item_type="web_search_call",
                          options={"count": int(tool.get("count", 5) or 5)})


def _custom(tool: dict[str, Any]) -> dict[str, Any]:
    return {"type": "function", "name": tool["name"], "strict": False,
            "description": tool.get("description") or "",
            "parameters": {"type": "object", "required": ["input"], "properties": {
                "input": {"type": "string", "description": "The tool's free-form input."}}}}


def _namespace(tool: dict[str, Any], renamed: dict[str, RenamedTool]) -> list[dict[str, Any]]:
    out = []
    for inner in tool.get("tools") or []:
        if isinstance(inner, dict) and inner.get("type") == "function" and inner.get("name"):
            flat = f"{tool['name']}__{inner['name']}"
            renamed[flat] = RenamedTool("namespace", inner["name"], tool["name"])
            out.append({**inner, "name": flat})
    return out


def build_toolset(tools: list[dict[str, Any]], *, api: str, settings: ToolSettings) -> Toolset:
    """The tools of a request, arranged for a provider speaking ``api``."""
    model_tools: list[dict[str, Any]] = []
    server: dict[str, ServerToolSpec] = {}
    renamed: dict[str, RenamedTool] = {}
    mcp: list[tuple[int, dict[str, Any]]] = []
    warnings: list[str] = []
    for index, tool in enumerate(tools):
        kind = tool["type"]
        if kind == "function":
            model_tools.append(tool)
        elif kind == "mcp":
            mcp.append((index, tool))
        elif api == "responses" and kind not in _OURS_EVEN_ON_OPENAI:
            model_tools.append(tool)  # OpenAI runs its own hosted tools
        elif kind in _WEB_SEARCH:
            spec = _web_search(tool, index, settings, warnings)
            if spec is not None and spec.function["name"] not in server:
                server[spec.function["name"]] = spec
                model_tools.append(spec.function)
        elif kind == "think":
            server["think"] = ServerToolSpec(kind="think", function=THINK_FUNCTION,
                                             item_type="reasoning")
            model_tools.append(THINK_FUNCTION)
        elif kind == "custom" and isinstance(tool.get("name"), str):
            renamed[tool["name"]] = RenamedTool("custom", tool["name"])
            model_tools.append(_custom(tool))
        elif kind == "namespace" and isinstance(tool.get("name"), str):
            model_tools += _namespace(tool, renamed)
        else:
            _unservable(kind, index, settings, warnings, "this provider has no such tool")
    _check_unique_names(model_tools)
    return Toolset(model_tools=model_tools, server=server, renamed=renamed, mcp_tools=mcp,
                   warnings=warnings)


def _check_unique_names(tools: list[dict[str, Any]]) -> None:
    """400 for two tools the model would see under one name (two functions; a function named
    as a gateway tool, ``web_search`` or an MCP tool's ``label__name``; two MCP servers with
    one label): providers refuse it, and a call could not say which tool it meant."""
    seen: set[str] = set()
    for tool in tools:
        name = tool.get("name")
        if not isinstance(name, str):
            continue  # a hosted tool relayed to OpenAI as it is
        if name in seen:
            raise InvalidRequest(
                f"Duplicate tool name '{shown(name)}': each tool the model sees needs a name "
                "of its own (MCP tools are named <server_label>__<tool>).", param="tools",
                code="invalid_value")
        seen.add(name)


_GATEWAY_ITEMS = frozenset({"mcp_list_tools", "mcp_call", "mcp_approval_request",
                            "mcp_approval_response"})


def adapts_unchanged(item: Item) -> bool:
    """Whether ``adapt_input`` keeps ``item`` as it is, whatever the provider's api."""
    kind = item.get("type")
    if kind in _GATEWAY_ITEMS or kind in ("custom_tool_call", "custom_tool_call_output"):
        return False
    return not (kind == "function_call" and item.get("namespace"))


def adapt_input(items: list[Item], api: str) -> list[Item]:
    """History and input items reshaped for a provider speaking ``api``: items of tools the
    gateway ran are dropped (their results are in the answers that followed); for providers
    without custom/namespace tools, those calls become plain function calls."""
    out: list[Item] = []
    for item in items:
        if adapts_unchanged(item):
            out.append(item)
            continue
        kind = item.get("type")
        if kind in _GATEWAY_ITEMS:
            continue
        if api == "responses":
            out.append(item)
        elif kind == "custom_tool_call":
            out.append({"type": "function_call", "id": item.get("id"), "call_id": item["call_id"],
                        "name": item["name"], "status": "completed",
                        "arguments": json.dumps({"input": item.get("input", "")})})
        elif kind == "custom_tool_call_output":
            out.append({"type": "function_call_output", "call_id": item["call_id"],
                        "output": item.get("output", "")})
        else:  # a namespaced function call
            out.append({**item, "name": f"{item['namespace']}__{item['name']}"})
    return out
