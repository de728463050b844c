"""Server-side tool calls inside a response: MCP listing, approvals, running calls.

These helpers are used by ``ResponseRun`` between model turns. Tools run in the ToolRunner
actor; their public items go through the builder; what the model needs to see next turn
(``function_call`` + ``function_call_output`` pairs) is returned as context items.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs
import orjson
import trio

from actors import ActorRef
from openresponses.errors import GatewayError, InvalidRequest
from openresponses.gateway.builder import Event, ResponseBuilder
from openresponses.gateway.tool_runner import ListMcpTools, RunTool, ToolMessage
from openresponses.observability.tracing import end_tool_call_span, tool_call_span
from openresponses.schema.ids import item_id
from openresponses.schema.model_call import Item
from openresponses.tools.base import ServerToolSpec, ToolCallRequest, ToolOutcome
from openresponses.tools.mcp_results import error_text
from openresponses.tools.settings import ToolSettings

if TYPE_CHECKING:
    from openresponses.tools.mcp_config import McpServer

_PROGRESS = {
    "web_search_call": (("response.web_search_call.in_progress",
                         "response.web_search_call.searching"),
                        ("response.web_search_call.completed",)),
    "mcp_call": (("response.mcp_call.in_progress",), ("response.mcp_call.completed",)),
}
_APPROVAL_DECLINED = "The user declined this tool call."


def context_pair(call: ToolCallRequest, output: str) -> list[Item]:
    """What the model sees of a server tool call on its next turn. Arguments that are not a
    JSON object (the tool ran with none) are sent as ``{}``: Anthropic takes only objects, and
    the call is the gateway's, so no client could mend it."""
    return [
        {"type": "function_call", "id": item_id("function_call"), "call_id": call.call_id,
         "name": call.name, "arguments": _object_text(call.arguments),
         "status": "completed"},
        {"type": "function_call_output", "id": item_id("function_call_output"),
         "call_id": call.call_id, "output": output, "status": "completed"},
    ]


def within_budget(calls: list[ToolCallRequest], used: int, limit: int | None
                  ) -> tuple[list[ToolCallRequest], list[Item], bool]:
    """The calls ``max_tool_calls`` (``limit``, of which ``used`` are spent) still allows,
    the context telling the model the others were not run (as OpenAI, further calls are
    ignored), and whether the budget is now spent."""
    if limit is None:
        return calls, [], False
    allowed = calls[:max(limit - used, 0)]
    ignored = [item for call in calls[len(allowed):] for item in context_pair(
        call, "Not run: this response's limit of tool calls (max_tool_calls) is reached. "
              "Answer without it.")]
    return allowed, ignored, used + len(allowed) >= limit


def _object_text(arguments: str | None) -> str:
    try:
        parsed = orjson.loads(arguments or "{}")
    except orjson.JSONDecodeError:
        return "{}"
    return arguments if isinstance(parsed, dict) and arguments else "{}"


@attrs.frozen
class StartedCalls:
    """Server tool calls whose items were added (in progress), not yet run."""

    calls: list[tuple[ServerToolSpec, ToolCallRequest]]
    indexes: list[int]
    events: list[Event]


def start_calls(
    builder: ResponseBuilder, calls: list[tuple[ServerToolSpec, ToolCallRequest]]
) -> StartedCalls:
    """Add each call's public item (in progress) and its progress events."""
    events: list[Event] = []
    indexes: list[int] = []
    for spec, _ in calls:
        before, _after = _PROGRESS.get(spec.item_type, ((), ()))
        index, added = builder.server_item_added(_placeholder(spec), before)
        indexes.append(index)
        events += added
    return StartedCalls(calls, indexes, events)


async def finish_calls(
    runner: ActorRef[ToolMessage], builder: ResponseBuilder, started: StartedCalls,
    *, include_sources: bool,
) -> tuple[list[Event], list[Item]]:
    """Run the started calls concurrently (each traced: ``tracing.tool_call_span``); returns
    their completion events and the context items for the next turn. Cancelled: every call is
    cancelled."""
    outcomes: list[ToolOutcome | None] = [None] * len(started.calls)

    async def one(n: int, spec: ServerToolSpec, call: ToolCallRequest) -> None:
        with tool_call_span(call.name, call.call_id, spec.kind) as span:
            outcome = await runner.ask(RunTool(spec, call, include_sources))
            end_tool_call_span(span, failed=outcome.failed)
        outcomes[n] = outcome

    async with trio.open_nursery() as nursery:
        for n, (spec, call) in enumerate(started.calls):
            nursery.start_soon(one, n, spec, call)
    done: list[Event] = []
    context: list[Item] = []
    for n, ((spec, call), outcome) in enumerate(zip(started.calls, outcomes, strict=True)):
        assert outcome is not None
        _before, after = _PROGRESS.get(spec.item_type, ((), ()))
        if outcome.failed and spec.item_type == "mcp_call":
            after = ("response.mcp_call.failed",)
        done += builder.server_item_done(started.indexes[n], outcome.item, after)
        context += context_pair(call, outcome.output_for_model)
    return done, context


def _placeholder(spec: ServerToolSpec) -> dict[str, Any]:
    if spec.item_type == "web_search_call":
        return {"type": "web_search_call", "action": {"type": "search", "query": ""}}
    if spec.item_type == "mcp_call":
        return {"type": "mcp_call", "server_label": spec.options["server"].label,
                "name": spec.options["tool"], "arguments": "{}", "output": None, "error": None}
    return {"type": spec.item_type, "summary": []}


@attrs.frozen
class McpPrelude:
    specs: list[ServerToolSpec]
    items: list[dict[str, Any]]  # new mcp_list_tools items to show the client


async def list_mcp_tools(
    runner: ActorRef[ToolMessage],
    mcp_tools: list[tuple[int, dict[str, Any]]],
    history: list[Item],
    settings: ToolSettings,
) -> McpPrelude:
    """Resolve the request's MCP servers and their tools (reusing a listing found earlier in the
    chain); unreachable servers give an ``mcp_list_tools`` item with an error.

    A listing in the chain may have been written by the client (an input item): it is reused
    only for a server the client names by URL (its own), filtered by that server's
    ``allowed_tools`` / ``read_only``. A server declared in the gateway's config is listed by
    the tool runner (which caches its listings), so a forged listing cannot offer the model a
    tool the operator's config keeps out."""
    from openresponses.tools.mcp_config import mcp_server_from_tool
    from openresponses.tools.ssrf import check_url

    declared = settings.mcp_servers
    listed = {i["server_label"]: i["tools"] for i in history
              if i.get("type") == "mcp_list_tools" and not i.get("error")}
    specs: list[ServerToolSpec] = []
    items: list[dict[str, Any]] = []
    for index, tool in mcp_tools:
        server = mcp_server_from_tool(tool, declared, allow_private=settings.allow_private_urls,
                                      param=f"tools[{index}]")
        if server.url is not None and not server.declared:  # the operator's own are trusted
            await check_url(server.url, allow_private=settings.allow_private_urls,
                            param=f"tools[{index}].server_url")
        shown = listed.get(server.label)  # the chain shows a listing: not shown again
        tools: list[dict[str, Any]] | None = None if server.declared else shown
        if tools is None:
            try:
                tools = await runner.ask(ListMcpTools(server))
            except (GatewayError, OSError, trio.TooSlowError) as exc:
                why = "it did not answer in time" if isinstance(exc, trio.TooSlowError) else exc
                items.append(_list_item(server, [], f"could not list tools: {why}"))
                continue
            if shown is None:
                items.append(_list_item(server, tools, None))
        specs += [_mcp_spec(server, t) for t in tools if server.allows(t)]
    return McpPrelude(specs, items)


def _list_item(server: McpServer, tools: list[dict[str, Any]], error: str | None
               ) -> dict[str, Any]:
    return {"type": "mcp_list_tools", "server_label": server.label, "tools": tools,
            "error": error}


def _mcp_spec(server: McpServer, tool: dict[str, Any]) -> ServerToolSpec:
    function = {"type": "function", "name": f"{server.label}__{tool['name']}", "strict": False,
                "description": tool.get("description") or "",
                "parameters": tool.get("input_schema") or {"type": "object", "properties": {}}}
    return ServerToolSpec(kind="mcp", function=function, item_type="mcp_call",
                          options={"server": server, "tool": tool["name"]})


def approval_request(spec: ServerToolSpec, call: ToolCallRequest) -> dict[str, Any]:
    """The item that asks the client to approve an MCP call (ends the response)."""
    return {"type": "mcp_approval_request", "id": item_id("mcp_approval_request"),
            "server_label": spec.options["server"].label, "name": spec.options["tool"],
            "arguments": call.arguments or "{}"}


def pending_approvals(
    input_items: list[Item], history: list[Item], server: dict[str, ServerToolSpec]
) -> list[tuple[ServerToolSpec, ToolCallRequest, bool]]:
    """The approval responses in this request, matched with the requests in the chain."""
    requests = {i["id"]: i for i in history if i.get("type") == "mcp_approval_request"}
    out = []
    for item in input_items:
        if item.get("type") != "mcp_approval_response":
            continue
        request = requests.get(str(item.get("approval_request_id")))
        if request is None:
            raise InvalidRequest("Unknown approval_request_id: no such mcp_approval_request in "
                                 "the previous response chain.", param="input")
        name = f"{request['server_label']}__{request['name']}"
        spec = server.get(name)
        if spec is None:
            raise InvalidRequest(f"The MCP tool {request['name']!r} is not offered by this "
                                 "request's tools.", param="tools")
        call = ToolCallRequest(f"call_{request['id']}", name, request.get("arguments") or "{}",
                               approval_request_id=request["id"])
        out.append((spec, call, bool(item.get("approve"))))
    return out


def interrupted_calls(history: list[Item]) -> list[Item]:
    """Context pairs of the MCP calls run in the turn that stopped for approval: the
    ``mcp_call`` items just before the chain's closing approval requests. ``adapt_input``
    drops the items of tools the gateway ran, whose results are in the answers that followed;
    no answer followed these."""
    end = len(history)
    while end and history[end - 1].get("type") == "mcp_approval_request":
        end -= 1
    start = end
    while start and end < len(history) and history[start - 1].get("type") == "mcp_call":
        start -= 1
    pairs: list[Item] = []
    for item in history[start:end]:
        error = item.get("error")
        output = (f"Error: {error_text(error)}" if isinstance(error, dict)
                  else str(item.get("output") or ""))
        name = f"{item.get('server_label')}__{item.get('name')}"
        pairs += context_pair(ToolCallRequest(f"call_{item.get('id')}", name,
                                              item.get("arguments") or "{}"), output)
    return pairs


def declined(call: ToolCallRequest) -> list[Item]:
    return context_pair(call, _APPROVAL_DECLINED)

