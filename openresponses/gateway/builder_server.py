"""The event builder's items that do not stream from the model (mixed into ``ResponseBuilder``).

Hosted (server-side) tool items the gateway runs itself — web search, MCP calls — are added
when the call starts (``in_progress``, with the tool's progress events) and finished with their
results; finished items (MCP tool listings, approval requests, a compaction) are added whole,
``output_item.added`` then ``output_item.done``. Calls the model makes to these tools are kept
out of the output (``add_server_tools`` names them); the client sees the tool's own item.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from openresponses.schema.ids import item_id

Event = dict[str, Any]


class ServerItems:
    """Server tool items and whole items; needs the builder's ``response`` and ``_event``."""

    response: dict[str, Any]
    quiet: bool  # no events: only the final object is wanted (``ResponseBuilder``)
    _server_tools: Collection[str]

    def _event(self, type_: str, **fields: Any) -> Event:
        raise NotImplementedError  # ResponseBuilder numbers its events

    def server_item_added(
        self, item: dict[str, Any], progress: Sequence[str]
    ) -> tuple[int, list[Event]]:
        """Add a server tool's public item (in progress); ``progress`` names the events that
        follow ``output_item.added`` (e.g. ``response.web_search_call.searching``)."""
        item = {**item, "id": item.get("id") or item_id(str(item["type"])), "status": "in_progress"}
        output = self.response["output"]
        index = len(output)
        output.append(item)
        if self.quiet:
            return index, []
        events = [self._event("response.output_item.added", output_index=index, item=dict(item))]
        events += [self._event(name, output_index=index, item_id=item["id"]) for name in progress]
        return index, events

    def server_item_done(self, index: int, item: dict[str, Any], progress: Sequence[str]
                         ) -> list[Event]:
        """Finish the server tool item at ``index`` with its final fields."""
        output = self.response["output"]
        final = {**output[index], **item, "id": output[index]["id"]}
        output[index] = final
        if self.quiet:
            return []
        events = [self._event(name, output_index=index, item_id=final["id"]) for name in progress]
        events.append(self._event("response.output_item.done", output_index=index,
                                  item=dict(final)))
        return events

    def fail_server_items(self) -> list[Event]:
        """Finish ``failed`` the server tool items still in progress (the response failed
        while they ran): a stored response keeps no item ``in_progress``."""
        events: list[Event] = []
        for index, item in enumerate(self.response["output"]):
            if item.get("status") == "in_progress":
                events += self.server_item_done(index, {"status": "failed"}, ())
        return events

    def add_items(self, items: Sequence[dict[str, Any]], *, keep_ids: bool = False
                  ) -> list[Event]:
        """Add finished items (ids minted unless ``keep_ids``) with their added/done events."""
        events: list[Event] = []
        for item in items:
            events += self._opaque(item, keep_id=keep_ids)
        return events

    def add_server_tools(self, names: Collection[str]) -> None:
        """Also treat calls to ``names`` as server-side (e.g. MCP tools listed after start)."""
        self._server_tools = frozenset(self._server_tools) | frozenset(names)

    def _opaque(self, item: dict[str, Any], keep_id: bool = False) -> list[Event]:
        """One finished item, added whole (also a model's item the gateway passes through)."""
        if not (keep_id and item.get("id")):
            item = {**item, "id": item_id(str(item.get("type", "item")))}
        output = self.response["output"]
        index = len(output)
        output.append(item)
        if self.quiet:
            return []
        return [
            self._event("response.output_item.added", output_index=index, item=item),
            self._event("response.output_item.done", output_index=index, item=item),
        ]
