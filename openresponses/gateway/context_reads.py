"""Loading a ``previous_response_id`` chain's context, with or without the storage actor's
mailbox.

Every follow-up turn loads its chain's context: the tip read fresh from the store, appended to
its parent's cached context (``gateway.chain_cache``). Asking the storage actor for it
(``LoadContext``) costs a mailbox round trip, a reply slot with its cancel scope and two task
wake-ups on top of the read itself, a fixed cost that a first turn does not pay (issue 9's
growth target; bench/results/2026-12-07-reads.md). So, as the group commit does for saves
(``gateway.group_commit``), the state a load needs outlives the actor's instances:
``ContextReads`` holds the chain cache, the read limiter and the attached instance's loader;
``server.running_gateway`` makes one and hands it to every instance and to the runs.

A run loads directly (``storage.load_context``) while an instance is attached, that is while
its store is open and it has not begun to stop; it asks the actor otherwise, so a stopped or
restarting actor behaves exactly as before (``ActorStopped``, or the wait for the next
instance). A direct load counts as a store call of its instance for the whole load: the
instance waits for it before it closes its store. Reads stay bounded by the one limiter,
direct or asked.

Cancellation: a read already running in its worker thread is waited for (and what it read may
still be cached: it is as fresh as any other read).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

import trio

from openresponses.errors import PreviousResponseUnfinished
from openresponses.gateway.chain_cache import ChainCache, History, chain_context, extend
from openresponses.schema.model_call import Item
from openresponses.store.base import Store

T = TypeVar("T")

Loader = Callable[[str, str], Awaitable[list[Item] | None]]  # (owner, response id) -> items


class Read(Protocol):
    """What a load needs of its instance: ``await read(call)`` runs ``call(store)`` in a worker
    thread under the read limiter (``StorageActor._read``)."""

    def __call__(self, call: Callable[[Store], T], /) -> Awaitable[T]: ...


class ContextReads:
    """The chain cache, the read limiter and the loader of the attached storage instance."""

    def __init__(self, read_threads: int = 8) -> None:
        self.chains = ChainCache()
        self.limiter = trio.CapacityLimiter(read_threads)
        self.attached: Loader | None = None  # set while an instance's store is open


async def read_context(
    chains: ChainCache, read: Read, owner: str, response_id: str
) -> list[Item] | None:
    """The chain's items: the tip read fresh, appended to its parent's cached context; the
    whole chain read (and cached) when the parent's is not cached. None if the tip is unknown
    for ``owner`` (or the chain was deleted meanwhile). The store's deletion count, read with
    the tip, first clears the cache if a response was deleted since the last tip read."""
    generation = chains.generation
    found = await read(lambda store: store.tip(owner, response_id))
    if found is None:
        return None
    chains.seen(found.deletions)
    tip = found.record
    status = tip.response.get("status")
    if status in ("queued", "in_progress"):  # a background response still running
        raise PreviousResponseUnfinished(response_id, status)
    parent_id = tip.previous_response_id
    parent = chains.get(owner, parent_id) if parent_id is not None else None
    if parent is not None:
        context = extend(parent, tip)
    elif parent_id is None:
        context = chain_context([tip])
    else:
        chain = await read(lambda store: store.chain(owner, response_id))
        if chain is None:
            return None
        context = chain_context(chain)
    chains.put(owner, response_id, context, generation)
    return History(context.items, plain=context.plain)
