"""The one event builder: normalized model events in, OpenAI Responses events out.

SSE, WebSocket and non-stream requests all go through it (non-stream = the final response of
the same builder, run ``quiet``: the same state changes, but of the events nobody would read
only the terminal one is built). It owns our ids, ``output_index``/``content_index`` and
``sequence_number``, and keeps the Response object up to date. It is pure and synchronous: no
I/O, no clock reads beyond the timestamps it is handed.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any, assert_never

from openresponses.errors import GatewayError
from openresponses.gateway.builder_parts import (
    HiddenCall,
    OpenItem,
    Part,
    custom_input,
    empty_part,
    final_part,
    output_text,
    public_item,
    snapshot,
)
from openresponses.gateway.builder_reasoning import ReasoningSummaries
from openresponses.gateway.builder_server import Event as Event
from openresponses.gateway.builder_server import ServerItems
from openresponses.gateway.response_object import (
    add_usage,
    error_event,
    response_error,
    usage_object,
)
from openresponses.schema import model_events as me
from openresponses.schema.ids import item_id
from openresponses.tools.base import ToolCallRequest
from openresponses.tools.toolset import RenamedTool

_CALLS = ("function_call", "custom_tool_call")


class ResponseBuilder(ServerItems, ReasoningSummaries):
    """Builds one response's event stream and final object from normalized model events
    (server tool items and whole items: ``builder_server.ServerItems``)."""

    def __init__(
        self,
        response: dict[str, Any],
        server_tools: Collection[str] = frozenset(),
        renamed: Mapping[str, RenamedTool] | None = None,
        *,
        quiet: bool = False,
    ) -> None:
        self.response = response
        # Quiet: only the final object is wanted (a non-stream response, whose events nobody
        # reads): the same items and Response, but no event is built except the terminal one
        # (``response.completed`` / ``incomplete`` / ``failed``, which ends the last batch).
        self.quiet = quiet
        self._seq = 0
        self._open: dict[str, OpenItem] = {}
        self._usage: me.Usage | None = None
        self._finish: me.FinishReason | None = None
        # Calls to functions the gateway runs itself are collected silently: the client sees
        # the tool's own item (web_search_call, mcp_call...) added by ``server_item_added``.
        self._server_tools = server_tools
        self._hidden: dict[str, HiddenCall] = {}
        self._renamed = renamed or {}
        self.turn_start = 0  # index in output where the current model turn's items begin
        self._incomplete_reason: str | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def _event(self, type_: str, **fields: Any) -> Event:
        event = {"type": type_, "sequence_number": self._seq, **fields}
        self._seq += 1
        return event

    def _lifecycle(self, type_: str) -> Event:
        if self.quiet:  # the terminal event of a quiet builder: the response, not a copy
            return self._event(type_, response=self.response)
        return self._event(type_, response=snapshot(self.response))

    def rewind(self) -> None:
        """Number the next events from 0 again: those built so far were never sent (a run
        the upstream refused before it started)."""
        self._seq = 0

    def start(self) -> list[Event]:
        """``response.created`` then ``response.in_progress`` (none when quiet)."""
        if self.quiet:
            return []
        return [self._lifecycle("response.created"), self._lifecycle("response.in_progress")]

    def feed(self, event: me.ModelEvent) -> list[Event]:
        """Translate one normalized event; returns the Responses events it yields."""
        match event:
            case me.TextDelta(key, delta):
                return self._text(key, "output_text", delta)
            case me.RefusalDelta(key, delta):
                return self._text(key, "refusal", delta)
            case me.Annotation(key, annotation):
                return self._annotation(key, annotation)
            case me.ReasoningDelta(key, delta):
                return self._reasoning_text(key, delta)
            case me.ReasoningSummaryDelta(key, index, delta):
                return self._summary(key, index, delta)
            case me.ReasoningEncrypted(key, encrypted, _):
                events, open_item = self._open_item(key, "reasoning")
                open_item.item["encrypted_content"] = encrypted
                return events
            case me.ToolCallStart(key, call_id, name):
                return self._tool_start(key, call_id, name)
            case me.ToolCallDelta(key, delta):
                return self._tool_delta(key, delta)
            case me.OpaqueItem(item):
                return self._opaque(item)
            case me.ItemDone(key):
                if key not in self._open:
                    return []
                return self._close(self._open.pop(key), "completed")
            case me.Usage():
                self._usage = add_usage(self._usage, event)
                return []
            case me.Finish(reason):
                self._finish = reason
                return []
            case _:
                assert_never(event)

    def end_turn(self) -> tuple[list[Event], list[ToolCallRequest]]:
        """Close every item still open after a model turn (keys are per turn); return the
        events and the server-tool calls the turn made, in order."""
        status = "incomplete" if self._finish == "length" else "completed"
        events: list[Event] = []
        for open_item in list(self._open.values()):
            events += self._close(open_item, status)
        self._open.clear()
        calls = [ToolCallRequest(h.call_id, h.name, "".join(h.args))
                 for h in self._hidden.values()]
        self._hidden.clear()
        return events, calls

    def begin_turn(self) -> None:
        """A new model turn starts: its items are ``output[turn_start:]``."""
        self.turn_start = len(self.response["output"])
        self._finish = None

    @property
    def finish_reason(self) -> me.FinishReason | None:
        return self._finish

    def client_calls_this_turn(self) -> bool:
        """Whether the current model turn produced calls the client must answer."""
        return any(i.get("type") in _CALLS for i in self.response["output"][self.turn_start:])

    def set_incomplete(self, reason: str) -> None:
        """Make ``finish`` end the response ``incomplete`` with ``reason``."""
        self._incomplete_reason = reason

    def finish(self, completed_at: int) -> list[Event]:
        """Close open items and emit ``response.completed`` or ``response.incomplete``."""
        events, _ = self.end_turn()
        response = self.response
        response["usage"] = usage_object(self._usage) if self._usage else None
        response["output_text"] = output_text(response["output"])
        reason = self._incomplete_reason
        if reason is None and self._finish in ("length", "content_filter"):
            reason = "max_output_tokens" if self._finish == "length" else "content_filter"
        if reason is not None:
            response["status"] = "incomplete"
            response["incomplete_details"] = {"reason": reason}
            events.append(self._lifecycle("response.incomplete"))
        else:
            response["status"] = "completed"
            response["completed_at"] = completed_at
            events.append(self._lifecycle("response.completed"))
        return events

    def fail(self, error: GatewayError) -> list[Event]:
        """An ``error`` event then ``response.failed``; open items end ``incomplete``."""
        events: list[Event] = []
        for open_item in list(self._open.values()):
            events += self._close(open_item, "incomplete")
        self._open.clear()
        events += self.fail_server_items()  # the model's are closed: the rest are the tools'
        self.response["status"] = "failed"
        self.response["error"] = response_error(error)
        self.response["usage"] = usage_object(self._usage) if self._usage else None
        self.response["output_text"] = output_text(self.response["output"])
        events.append(error_event(error, self._seq))
        self._seq += 1
        events.append(self._lifecycle("response.failed"))
        return events

    # -- items -----------------------------------------------------------------------------

    def _open_item(self, key: str, kind: str) -> tuple[list[Event], OpenItem]:
        open_item = self._open.get(key)
        if open_item is not None and open_item.item["type"] == kind:
            return [], open_item
        events = self._close(self._open.pop(key), "completed") if open_item is not None else []
        item: dict[str, Any] = {"id": item_id(kind), "type": kind, "status": "in_progress"}
        if kind == "message":
            item.update(role="assistant", content=[])
        elif kind == "reasoning":
            item.update(summary=[])
        output = self.response["output"]
        open_item = OpenItem(output_index=len(output), item=item)
        output.append(item)
        self._open[key] = open_item
        if self.quiet:
            return events, open_item
        added = public_item(item, in_progress=True)
        events.append(self._event("response.output_item.added", output_index=open_item.output_index,
                                  item=added))
        return events, open_item

    def _close(self, open_item: OpenItem, status: str) -> list[Event]:
        events = self._close_part(open_item)  # a message's or reasoning's, not a call's
        item = open_item.item
        kind = item["type"]
        if kind == "function_call":
            item["arguments"] = "".join(open_item.args)
        elif kind == "custom_tool_call":
            item["input"] = custom_input("".join(open_item.args))
        events += self._close_summaries(open_item)  # a reasoning item's
        if kind in ("message", "function_call", "reasoning", "custom_tool_call"):
            item["status"] = status
        if self.quiet:
            return events
        index = open_item.output_index
        if kind == "function_call":
            events.append(self._event("response.function_call_arguments.done", item_id=item["id"],
                                      output_index=index, name=item["name"],
                                      arguments=item["arguments"]))
        elif kind == "custom_tool_call":
            events.append(self._event("response.custom_tool_call_input.done", item_id=item["id"],
                                      output_index=index, input=item["input"]))
        events.append(self._event("response.output_item.done", output_index=index,
                                  item=public_item(item)))
        return events

    # -- message content -------------------------------------------------------------------

    def _part_for(self, open_item: OpenItem, kind: str) -> tuple[list[Event], Part]:
        part = open_item.part
        if part is not None and part.kind == kind:
            return [], part
        events = self._close_part(open_item)
        content = open_item.item.setdefault("content", [])
        part = Part(kind=kind, index=len(content))
        empty = empty_part(kind)
        content.append(empty)
        open_item.part = part
        if kind != "reasoning_text" and not self.quiet:
            events.append(self._event("response.content_part.added", item_id=open_item.item["id"],
                                      output_index=open_item.output_index,
                                      content_index=part.index, part=dict(empty)))
        return events, part

    def _close_part(self, open_item: OpenItem) -> list[Event]:
        part = open_item.part
        if part is None:
            return []
        open_item.part = None
        text = "".join(part.chunks)
        final = final_part(part.kind, text, part.annotations)
        open_item.item["content"][part.index] = final
        if self.quiet:
            return []
        common = {"item_id": open_item.item["id"], "output_index": open_item.output_index,
                  "content_index": part.index}
        if part.kind == "reasoning_text":
            return [self._event("response.reasoning.done", **common, text=text)]
        done = (self._event("response.output_text.done", **common, text=text, logprobs=[])
                if part.kind == "output_text"
                else self._event("response.refusal.done", **common, refusal=text))
        return [done, self._event("response.content_part.done", **common, part=dict(final))]

    def _text(self, key: str, kind: str, delta: str) -> list[Event]:
        """A text or refusal delta. Once its part is open (every delta after the first of a
        stream), the event is built as one dict, without ``_open_item``/``_part_for`` and
        ``_event``'s merges: 8 k of the ~660 k instructions a streamed chunk costs
        (bench/results/2026-12-08-chunk.md)."""
        open_item = self._open.get(key)
        part = open_item.part if open_item is not None else None
        events: list[Event]
        if open_item is None or part is None or part.kind != kind or (
                open_item.item["type"] != "message"):
            events, open_item = self._open_item(key, "message")
            more, part = self._part_for(open_item, kind)
            events += more
        else:
            events = []
        part.chunks.append(delta)
        if self.quiet:
            return events
        event = {"type": "response.output_text.delta" if kind == "output_text"
                 else "response.refusal.delta", "sequence_number": self._seq,
                 "item_id": open_item.item["id"], "output_index": open_item.output_index,
                 "content_index": part.index, "delta": delta}
        if kind == "output_text":
            event["logprobs"] = []
        self._seq += 1
        events.append(event)
        return events

    def _annotation(self, key: str, annotation: dict[str, Any]) -> list[Event]:
        events, open_item = self._open_item(key, "message")
        more, part = self._part_for(open_item, "output_text")
        events += more
        part.annotations.append(annotation)
        if self.quiet:
            return events
        events.append(self._event("response.output_text.annotation.added",
                                  item_id=open_item.item["id"],
                                  output_index=open_item.output_index, content_index=part.index,
                                  annotation_index=len(part.annotations) - 1,
                                  annotation=annotation))
        return events

    # -- reasoning -------------------------------------------------------------------------

    def _reasoning_text(self, key: str, delta: str) -> list[Event]:
        events, open_item = self._open_item(key, "reasoning")
        more, part = self._part_for(open_item, "reasoning_text")
        events += more
        part.chunks.append(delta)
        if self.quiet:
            return events
        events.append(self._event("response.reasoning.delta", item_id=open_item.item["id"],
                                  output_index=open_item.output_index,
                                  content_index=part.index, delta=delta))
        return events

    # -- function calls --------------------------------------------------------------------

    def _tool_start(self, key: str, call_id: str, name: str) -> list[Event]:
        if name in self._server_tools:
            self._hidden[key] = HiddenCall(call_id, name)
            return []
        if key in self._open:
            events = self._close(self._open.pop(key), "completed")
        else:
            events = []
        item = self._call_item(call_id, name)
        output = self.response["output"]
        open_item = OpenItem(output_index=len(output), item=item)
        output.append(item)
        self._open[key] = open_item
        if self.quiet:
            return events
        events.append(self._event("response.output_item.added",
                                  output_index=open_item.output_index, item=dict(item)))
        return events

    def _call_item(self, call_id: str, name: str) -> dict[str, Any]:
        renamed = self._renamed.get(name)
        if renamed is not None and renamed.kind == "custom":
            return {"id": item_id("custom_tool_call"), "type": "custom_tool_call",
                    "status": "in_progress", "call_id": call_id, "name": renamed.name,
                    "input": ""}
        item: dict[str, Any] = {"id": item_id("function_call"), "type": "function_call",
                                "status": "in_progress", "call_id": call_id, "name": name,
                                "arguments": ""}
        if renamed is not None:
            item.update(name=renamed.name, namespace=renamed.namespace)
        return item

    def _tool_delta(self, key: str, delta: str) -> list[Event]:
        hidden = self._hidden.get(key)
        if hidden is not None:
            hidden.args.append(delta)
            return []
        open_item = self._open.get(key)
        if open_item is None or open_item.item["type"] not in _CALLS:
            return []  # arguments without a start: nothing to attach them to
        open_item.args.append(delta)
        if open_item.item["type"] == "custom_tool_call":
            return []  # its input is known once the JSON arguments are complete
        if self.quiet:
            return []
        return [self._event("response.function_call_arguments.delta", item_id=open_item.item["id"],
                            output_index=open_item.output_index, delta=delta)]

