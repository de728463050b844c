"""Translated prefixes: a deep turn's chat messages without translating its whole chain again.

Turn N of a ``previous_response_id`` chain sends every earlier item upstream. The storage
actor's chain cache hands each turn the *same* item objects for the part of the chain it
already knew (``gateway/chain_cache.py``), so a turn's input list starts with the exact objects
the previous turn of that chain was translated from. ``PrefixCache`` keeps, per chain (keyed by
the identity of its first item), the last list it translated: the items, the messages, and how
many messages the first ``i`` items made. The next turn reuses the messages of the longest
prefix of *identical* objects (identity, not equality: an object is only ever translated the
same way) and translates only the rest, so its cost no longer grows with the chain's depth
beyond copying lists.

Why this is safe:

- items are never mutated once in a run's context (the chain cache shares them already); the
  cache holds a reference to every item it remembers, so an id cannot be reused meanwhile;
- messages are never mutated after they are made: ``chat_request._add_tool_call`` replaces the
  assistant message a ``function_call`` merges into with a copy. A prefix whose next remembered
  item was such a ``function_call`` ends before it (the remembered message holds the merge);
- the cache is bounded: ``max_entries`` chains and ``max_items`` items in all, least recently
  used first; lists shorter than ``MIN_ITEMS`` are not remembered (nothing to gain).

A list that continues a remembered one also keeps each message's JSON (``orjson.Fragment``),
and a turn's request body is built from those (``encoded_chat_messages``): the prefix's
messages are not encoded again either, only copied (encoding a 200-turn chain's 41 KB was
~0.23 M instructions a turn, ``bench/results/2026-12-08-c1.md``). A list that continues none (a
first turn, a large input sent once) is not encoded ahead: that would cost a second pass over
its bytes for a next turn that may never come. An encoding is reused only with its own message
object: a prefix message that ``_add_tool_call`` replaced by a merged copy is encoded anew.

Not thread-safe: one per ``ChatProtocol``, used from the event loop's thread.
"""

from __future__ import annotations

import operator
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import attrs
import orjson

from openresponses.schema.model_call import Item

JSON = dict[str, Any]
MIN_ITEMS = 16
MAX_ENTRIES = 64
MAX_ITEMS = 200_000


@attrs.frozen
class Prefix:
    """A translated list: ``messages[:ends[i - 1]]`` are the messages of ``items[:i]``;
    ``encoded[j]`` is ``messages[j]`` as JSON (None: not encoded, the list continued none)."""

    items: list[Item]
    messages: list[JSON]
    encoded: list[orjson.Fragment] | None
    ends: list[int]


@attrs.frozen
class Found:
    """The translated leading items of a list: how many, their messages and encodings, and
    how many messages the first ``i`` of them made (``ends[i - 1]``)."""

    count: int = 0
    messages: list[JSON] = attrs.Factory(list)
    encoded: list[orjson.Fragment] | None = None
    ends: list[int] = attrs.Factory(list)


NOTHING = Found()


class PrefixCache:
    """The last translated list of each recent chain; see the module docstring."""

    def __init__(self, *, max_entries: int = MAX_ENTRIES, max_items: int = MAX_ITEMS) -> None:
        self.max_entries = max_entries
        self.max_items = max_items
        self._entries: OrderedDict[tuple[int, bool], Prefix] = OrderedDict()
        self._items = 0

    def __len__(self) -> int:
        return len(self._entries)

    def find(self, items: Sequence[Item], developer_role: bool) -> Found:
        """How many leading ``items`` are already translated, with their translation."""
        if not items:
            return NOTHING
        key = (id(items[0]), developer_role)
        entry = self._entries.get(key)
        if entry is None:
            return NOTHING
        self._entries.move_to_end(key)
        same = list(map(operator.is_, entry.items, items))
        count = same.index(False) if False in same else len(same)
        while 0 < count < len(entry.items) and _merges(entry.items[count]):
            count -= 1  # the message before it took that call: not the prefix's own
        if count == 0:
            return NOTHING
        end = entry.ends[count - 1]
        encoded = entry.encoded[:end] if entry.encoded is not None else None
        return Found(count, entry.messages[:end], encoded, entry.ends[:count])

    def remember(self, items: Sequence[Item], developer_role: bool, messages: list[JSON],
                 ends: list[int], found: Found = NOTHING) -> list[orjson.Fragment] | None:
        """Keep the translation of ``items`` (its messages and ends) for the chain's next turn;
        the messages' encodings (those of ``found``, the prefix it reused, where its message
        is unchanged), or None when the list is not kept or continues none."""
        if len(items) < MIN_ITEMS or len(items) > self.max_items:
            return None
        key = (id(items[0]), developer_role)
        old = self._entries.pop(key, None)
        if old is not None:
            self._items -= len(old.items)
        encoded = _encoded(messages, found) if found.count else None
        self._entries[key] = Prefix(list(items), messages, encoded, ends)
        self._items += len(items)
        while len(self._entries) > self.max_entries or self._items > self.max_items:
            _key, evicted = self._entries.popitem(last=False)
            self._items -= len(evicted.items)
        return encoded


def _encoded(messages: list[JSON], found: Found) -> list[orjson.Fragment]:
    """``messages`` as JSON: ``found``'s encodings where its message is still there."""
    reused = found.encoded or []
    kept = len(reused)
    if kept and messages[kept - 1] is not found.messages[kept - 1]:
        kept -= 1  # merged with a call since (only the prefix's last message can be)
    dumps, fragment = orjson.dumps, orjson.Fragment
    return reused[:kept] + [fragment(dumps(message)) for message in messages[kept:]]


def _merges(item: Item) -> bool:
    """Whether ``item`` merges into the message before it (``chat_request._add_tool_call``)."""
    return (item.get("type") or ("message" if "role" in item else None)) == "function_call"
