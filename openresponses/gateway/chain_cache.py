"""The context cache: what a ``previous_response_id`` chain amounts to, kept per response.

A turn deep in a chain needs every earlier input and output. Reading them from the store
means one row per ancestor and parsing every ancestor's whole stored response, so turn 200
would cost far more than turn 1. The storage actor keeps, for recently loaded responses, the
chain's items (each response's input items, then its output, oldest first) in a bounded LRU:
a follow-up turn then reads only its tip (one row, always fresh from the store) and appends
the tip's items to its parent's cached context.

What may be cached, and when it is dropped:

- only chains whose responses have all finished (status not ``queued`` / ``in_progress``):
  a finished response is not written again, so its items cannot change;
- everything, when this process deletes a response or writes one that is part of a cached
  chain (a generation counter also stops a load that was running meanwhile from caching what
  it read);
- everything, when the store's count of deleted responses, read with every tip
  (``Store.tip``), is not the one last seen: another process sharing the database deleted a
  response, perhaps an ancestor of a cached chain;
- the least recently used entries past ``MAX_ENTRIES`` or ``MAX_ITEMS`` items in all.

A context also says whether it is *plain*: no item that the run's context preparation would
change (a compaction item, an item of a tool the gateway ran, a custom or namespaced tool
call), so a follow-up turn can skip walking it (``History.plain``, ``run.ResponseRun``).

The tip of a chain is always read from the store, so a tip deleted by another process is
seen at once, and an *ancestor* deleted by another process (several gateway processes on one
database) by the count read with the tip: a deleted response never feeds a later turn. Cached
items are shared, not copied: like every item in a run's context, they are never mutated.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import attrs

from openresponses.gateway.compaction_items import has_compaction
from openresponses.schema.model_call import Item
from openresponses.store.base import StoredResponse
from openresponses.tools.toolset import adapts_unchanged

MAX_ENTRIES = 256
MAX_ITEMS = 1_000_000
_UNFINISHED = ("queued", "in_progress")


@attrs.frozen
class Context:
    """The items of a chain ending at one response, and the ids of its responses."""

    items: tuple[Item, ...]
    ids: frozenset[str]
    finished: bool  # every response of the chain has finished: cacheable
    plain: bool  # no item that context preparation changes (see the module docstring)


class History(list[Item]):
    """A chain's items as a run gets them, with the context's ``plain``."""

    def __init__(self, items: Sequence[Item], *, plain: bool) -> None:
        super().__init__(items)
        self.plain = plain


def chain_context(chain: Sequence[StoredResponse]) -> Context:
    """The context of a whole chain as the store returns it (oldest first)."""
    items: list[Item] = []
    for record in chain:
        items += record.input_items
        items += record.response["output"]
    return Context(tuple(items), frozenset(record.id for record in chain),
                   all(_finished(record) for record in chain), _plain(items))


def extend(parent: Context, tip: StoredResponse) -> Context:
    """The context of ``tip``, given its parent's."""
    added = (*tip.input_items, *tip.response["output"])
    return Context((*parent.items, *added), parent.ids | {tip.id},
                   parent.finished and _finished(tip), parent.plain and _plain(added))


def _plain(items: Sequence[Item]) -> bool:
    return not has_compaction(items) and all(map(adapts_unchanged, items))


def _finished(record: StoredResponse) -> bool:
    return record.response.get("status") not in _UNFINISHED


class ChainCache:
    """Contexts by (owner, response id), least recently used first; see the module doc."""

    def __init__(self, *, max_entries: int = MAX_ENTRIES, max_items: int = MAX_ITEMS) -> None:
        self.max_entries = max_entries
        self.max_items = max_items
        self.generation = 0  # bumped whenever the cache is cleared
        self.deletions: int | None = None  # the store's deletion count last seen (``seen``)
        self._entries: OrderedDict[tuple[str, str], Context] = OrderedDict()
        self._items = 0
        self._ids: set[str] = set()  # every response id in some cached context (or evicted)
        self._evicted = 0  # entries evicted since ``_ids`` was last rebuilt

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, owner: str, response_id: str) -> Context | None:
        key = (owner, response_id)
        found = self._entries.get(key)
        if found is not None:
            self._entries.move_to_end(key)
        return found

    def put(self, owner: str, response_id: str, context: Context, generation: int) -> None:
        """Remember ``context`` unless the cache was cleared since ``generation`` was read
        (the context may be older than that clear) or the chain has not finished."""
        if generation != self.generation or not context.finished:
            return
        if len(context.items) > self.max_items:
            return
        old = self._entries.pop((owner, response_id), None)
        if old is not None:
            self._items -= len(old.items)
        self._entries[(owner, response_id)] = context
        self._items += len(context.items)
        self._ids |= context.ids
        while len(self._entries) > self.max_entries or self._items > self.max_items:
            _key, evicted = self._entries.popitem(last=False)
            self._items -= len(evicted.items)
            self._evicted += 1
        if self._evicted >= self.max_entries:  # forget the ids only evicted entries held
            self._evicted = 0
            self._ids = set().union(*(entry.ids for entry in self._entries.values()))

    def seen(self, deletions: int) -> None:
        """The store's deletion count, read with a tip: forget every context if it changed
        since the last one seen (a response was deleted, by this process or another)."""
        if deletions != self.deletions:
            if self.deletions is not None:
                self.clear()
            self.deletions = deletions

    def written(self, response_ids: Sequence[str]) -> None:
        """Responses were written: forget every context if one of them is in any."""
        if any(response_id in self._ids for response_id in response_ids):
            self.clear()

    def clear(self) -> None:
        self._entries.clear()
        self._items = 0
        self._ids = set()
        self.generation += 1
