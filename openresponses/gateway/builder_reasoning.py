"""A reasoning item's summary parts as the event builder streams them (mixed into
``ResponseBuilder``): ``reasoning_summary_part.added`` and text deltas as they come, the
``.done`` events and the item's ``summary`` when the item closes."""

from __future__ import annotations

from typing import Any

from openresponses.gateway.builder_parts import OpenItem

Event = dict[str, Any]


class ReasoningSummaries:
    """Needs the builder's ``quiet``, ``_event`` and ``_open_item``."""

    quiet: bool

    def _event(self, type_: str, **fields: Any) -> Event:
        raise NotImplementedError  # ResponseBuilder numbers its events

    def _open_item(self, key: str, kind: str) -> tuple[list[Event], OpenItem]:
        raise NotImplementedError  # ResponseBuilder opens items

    def _summary(self, key: str, index: int, delta: str) -> list[Event]:
        events, open_item = self._open_item(key, "reasoning")
        if self.quiet:
            open_item.summary.setdefault(index, []).append(delta)
            return events
        common = {"item_id": open_item.item["id"], "output_index": open_item.output_index,
                  "summary_index": index}
        if index not in open_item.summary:
            open_item.summary[index] = []
            events.append(self._event("response.reasoning_summary_part.added", **common,
                                      part={"type": "summary_text", "text": ""}))
        open_item.summary[index].append(delta)
        events.append(self._event("response.reasoning_summary_text.delta", **common, delta=delta))
        return events

    def _close_summaries(self, open_item: OpenItem) -> list[Event]:
        events: list[Event] = []
        for index in sorted(open_item.summary):
            text = "".join(open_item.summary[index])
            part = {"type": "summary_text", "text": text}
            open_item.item["summary"].append(part)
            if self.quiet:
                continue
            common = {"item_id": open_item.item["id"], "output_index": open_item.output_index,
                      "summary_index": index}
            events.append(self._event("response.reasoning_summary_text.done", **common, text=text))
            events.append(self._event("response.reasoning_summary_part.done", **common, part=part))
        open_item.summary.clear()
        return events
