"""The storage actor: owns a ``Store`` and runs its blocking calls in worker threads.

Saves are group-committed (``gateway.group_commit``): every ``SaveResponse`` joins a pending
batch, and one flusher task writes all that is pending in one transaction (one worker-thread
call), then answers every saver of that batch together, so a save returns only once the record
is durable. A failed write fails every saver of its batch with the same exception; the actor
serves on. A run may join the batch directly while this actor's flusher is attached
(``save_response``), and load a chain's context directly while this instance's store is open
(``load_context``, ``gateway.context_reads``).

Reads run in worker threads bounded by a ``trio.CapacityLimiter`` (kept with the chain cache in
``ContextReads``, shared by the instances). A delete first writes the saves asked before it, so
it is never undone by an earlier save committing after it.

Cancellation: a save, once asked, is written even if its asker stops waiting (it is already part
of a batch or about to be); a write in progress always completes or fails as a whole. On stop,
and when the instance is torn down, what is pending is written and the store closed.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Literal, TypeVar, assert_never

import attrs
import trio

from actors import Actor, ActorRef, Ask
from openresponses.gateway.context_reads import ContextReads, read_context
from openresponses.gateway.group_commit import GroupCommit
from openresponses.gateway.storage_background import (
    AppendEvents,
    BackgroundMessage,
    CancelStored,
    FinishJob,
    GetSecret,
    Heartbeat,
    JobRunners,
    LoadEvents,
    ReapJobs,
    TrackJob,
    background_store_call,
)
from openresponses.gateway.storage_chat import (
    ChatMessage,
    DeleteChatCompletion,
    GetChatCompletion,
    ListChatCompletions,
    ListChatMessages,
    SaveChatCompletion,
    UpdateChatCompletion,
    chat_store_call,
)
from openresponses.gateway.storage_conversations import (
    AddConversationItems,
    ConversationMessage,
    CreateConversation,
    DeleteConversation,
    DeleteConversationItem,
    GetConversation,
    GetConversationItem,
    ListConversationItems,
    LoadConversation,
    UpdateConversation,
    conversation_store_call,
)
from openresponses.gateway.storage_listing import ListResponses
from openresponses.gateway.storage_thread import Held, run_in_worker
from openresponses.keys import KeyChange, KeyRecord
from openresponses.schema.model_call import Item
from openresponses.store.base import ItemsPage, Store, StoredResponse

T = TypeVar("T")


@attrs.frozen
class SaveResponse(Ask[None]):
    """Store (upsert) a response; answered once it is committed."""

    record: StoredResponse


@attrs.frozen
class GetResponse(Ask[StoredResponse | None]):
    owner: str
    response_id: str


@attrs.frozen
class DeleteResponse(Ask[bool]):
    owner: str
    response_id: str


@attrs.frozen
class LoadChain(Ask[list[StoredResponse] | None]):
    """The response and its ancestors, oldest first (``Store.chain``)."""

    owner: str
    response_id: str


@attrs.frozen
class LoadContext(Ask[list[Item] | None]):
    """The items of the chain ending at the response: each response's input items, then its
    output, oldest first (``gateway.chain_cache``). None if it is unknown for this owner."""

    owner: str
    response_id: str


@attrs.frozen(kw_only=True)
class ListInputItems(Ask[ItemsPage | None]):
    owner: str
    response_id: str
    limit: int = 20
    order: Literal["asc", "desc"] = "desc"
    after: str | None = None
    before: str | None = None


@attrs.frozen
class SaveKey(Ask[None]):
    """Insert a gateway key record (``ValueError`` if its id or hash is taken)."""

    record: KeyRecord


@attrs.frozen
class FindKey(Ask[KeyRecord | None]):
    key_hash: str = attrs.field(repr=False)


@attrs.frozen
class ListKeys(Ask[list[KeyRecord]]):
    pass


@attrs.frozen
class RevokeKey(Ask[KeyRecord | None]):
    key_id: str


@attrs.frozen
class UpdateKey(Ask[KeyRecord | None]):
    """Change a key's name, allowed globs or limits (``Store.update_key``)."""

    key_id: str
    change: KeyChange


KeyMessage = SaveKey | FindKey | ListKeys | RevokeKey | UpdateKey
StorageMessage = (
    SaveResponse | GetResponse | DeleteResponse | LoadChain | LoadContext | ListInputItems
    | KeyMessage
    | ListResponses
    | ChatMessage | ConversationMessage | BackgroundMessage
)


async def save_response(storage: ActorRef[StorageMessage], commits: GroupCommit | None,
                        record: StoredResponse) -> None:
    """Store ``record``; returns once it is durable. Joins the storage actor's batch directly
    while its flusher is attached (``gateway.group_commit``), else asks the actor."""
    if commits is not None and commits.can_join():
        await commits.save(record)
    else:
        await storage.ask(SaveResponse(record))


async def load_context(storage: ActorRef[StorageMessage], reads: ContextReads | None,
                       owner: str, response_id: str) -> list[Item] | None:
    """The items of the chain ending at ``response_id`` (``LoadContext``). Loads directly while
    an instance is attached (``gateway.context_reads``), else asks the actor."""
    load = reads.attached if reads is not None else None
    if load is None:
        return await storage.ask(LoadContext(owner=owner, response_id=response_id))
    return await load(owner, response_id)


class StorageStopped(RuntimeError):
    """The store was closed; raised to a request that reaches it afterwards."""


class StorageActor(Actor[StorageMessage]):
    """Serves ``StorageMessage``s from the store ``store_factory`` opens in ``on_start``."""

    concurrency = 256

    def __init__(self, store_factory: Callable[[], Store], *, read_threads: int = 8,
                 commits: GroupCommit | None = None, reads: ContextReads | None = None) -> None:
        """``commits`` and ``reads`` outlive the instances (``server.running_gateway``); each
        is made here when not given (``read_threads``: the read bound of a ``reads`` made
        here)."""
        self._store_factory = store_factory
        self._store: Store | None = None
        self._commits = commits if commits is not None else GroupCommit()
        self._reads = reads if reads is not None else ContextReads(read_threads)
        self._chains = self._reads.chains
        self._calls = 0  # store calls running in worker threads, and direct context loads
        self._calls_done = trio.Event()

    async def on_start(self) -> None:
        """Open the store (in a worker thread) and start the flusher."""
        self._store = await trio.to_thread.run_sync(self._store_factory)
        self.context.nursery.start_soon(self._flush_forever)
        self._commits.attached = True
        self._reads.attached = self._load_context

    async def on_stop(self) -> None:
        """Write what is pending, then close the store."""
        await self._shutdown()

    async def receive(self, message: StorageMessage) -> object:
        match message:
            case SaveResponse(record=record):
                await self._save(record)
                return None
            case GetResponse(owner=owner, response_id=response_id):
                return await self._read(lambda store: store.get(owner, response_id))
            case DeleteResponse(owner=owner, response_id=response_id):
                return await self._delete(owner, response_id)
            case LoadChain(owner=owner, response_id=response_id):
                return await self._read(lambda store: store.chain(owner, response_id))
            case LoadContext(owner=owner, response_id=response_id):
                return await self._load_context(owner, response_id)
            case ListInputItems():
                return await self._read(functools.partial(_list_items, message))
            case ListResponses():  # gateway/storage_listing.py
                return await self._read(message)
            case SaveKey() | FindKey() | ListKeys() | RevokeKey() | UpdateKey():
                return await self._key_call(message)
            case (SaveChatCompletion() | GetChatCompletion() | ListChatCompletions()
                  | UpdateChatCompletion() | DeleteChatCompletion() | ListChatMessages()):
                writes, call = chat_store_call(message)  # gateway/storage_chat.py
                return await (self._call(call) if writes else self._read(call))
            case (CreateConversation() | GetConversation() | UpdateConversation()
                  | DeleteConversation() | AddConversationItems() | ListConversationItems()
                  | GetConversationItem() | DeleteConversationItem() | LoadConversation()):
                writes, call = conversation_store_call(message)  # storage_conversations.py
                return await (self._call(call) if writes else self._read(call))
            case (AppendEvents() | LoadEvents() | TrackJob() | FinishJob() | Heartbeat()
                  | ReapJobs() | JobRunners() | CancelStored() | GetSecret()):
                writes, call = background_store_call(message)  # storage_background.py
                return await (self._call(call) if writes else self._read(call))
            case _:
                assert_never(message)

    # -- writes ------------------------------------------------------------------------------

    async def _save(self, record: StoredResponse) -> None:
        """Queue the record for the next batch and wait until that batch is committed.

        A record that could not be stored fails here alone, before it joins a batch.
        Cancellation: stops waiting; the record is still written.
        """
        self._open()
        await self._commits.save(record)

    async def _flush_forever(self) -> None:
        """Write each gathered batch as soon as the previous one is done; on teardown (stop
        or crash) write what is pending and close the store.
        """
        try:
            while True:
                await self._commits.wait()
                await self._flush()
        finally:
            await self._shutdown()

    async def _flush(self) -> None:
        """Write everything pending in one transaction and answer its savers (shielded)."""
        await self._commits.flush(self._write_batch)

    async def _write_batch(self, records: list[StoredResponse]) -> None:
        await self._call(lambda store: store.save_batch(records), light=True)
        self._chains.written([record.id for record in records])

    async def _delete(self, owner: str, response_id: str) -> bool:
        """Write the saves asked so far, then delete. Cancellation: the delete, once begun in
        its thread, completes; the asker just does not hear the answer.
        """
        await self._flush()
        try:
            return await self._call(lambda store: store.delete(owner, response_id))
        finally:
            self._chains.clear()

    async def _shutdown(self) -> None:
        """Write until nothing is pending, let store calls in flight finish, close the store.

        Shielded; safe to run twice (on_stop, then the flusher's teardown).
        """
        self._commits.attached = False  # from now on, runs ask (and hear that it stopped)
        if self._reads.attached == self._load_context:
            self._reads.attached = None
        with trio.CancelScope(shield=True):
            while True:
                await self._flush()
                if self._calls:
                    self._calls_done = trio.Event()
                    await self._calls_done.wait()
                elif not self._commits.pending:
                    break
            store, self._store = self._store, None
            if store is not None:
                await trio.to_thread.run_sync(store.close)

    async def _key_call(self, message: KeyMessage) -> object:
        """Gateway key records: reads in the read pool, writes as their own transaction."""
        match message:
            case SaveKey(record=record):
                return await self._call(lambda store: store.save_key(record))
            case FindKey(key_hash=key_hash):
                return await self._read(lambda store: store.find_key(key_hash))
            case ListKeys():
                return await self._read(lambda store: store.list_keys())
            case RevokeKey(key_id=key_id):
                return await self._call(lambda store: store.revoke_key(key_id))
            case UpdateKey(key_id=key_id, change=change):
                return await self._call(lambda store: store.update_key(key_id, change))
            case _:
                assert_never(message)

    # -- reads -------------------------------------------------------------------------------

    async def _load_context(self, owner: str, response_id: str) -> list[Item] | None:
        """The chain's items (``context_reads.read_context``), asked or loaded directly by a
        run; counted as one store call from start to end, so the store stays open until it
        returns. ``StorageStopped`` once the store is closed."""
        self._open()
        self._calls += 1
        try:
            return await read_context(self._chains, self._read, owner, response_id)
        finally:
            self._end_call()

    # -- store calls -------------------------------------------------------------------------

    async def _read(self, call: Callable[[Store], T]) -> T:
        """Run a read in a worker thread, at most ``read_threads`` at once."""
        return await self._call(call, limiter=self._reads.limiter)

    async def _call(
        self, call: Callable[[Store], T], *, limiter: trio.CapacityLimiter | None = None,
        light: bool = False,
    ) -> T:
        """Run ``call(store)`` in a worker thread (``storage_thread.run_in_worker``) holding
        ``limiter`` (trio's default thread limiter if None); the store stays open until it
        returns.

        ``light``: no limiter (the group commits, one at a time under the flush lock).
        Raises ``StorageStopped`` once the store is closed. Cancellation: a call already
        running in its thread is waited for, never abandoned.
        """
        store = self._open()
        self._calls += 1
        try:
            bound = functools.partial(call, store)
            if light:
                return await run_in_worker(bound)
            async with Held(limiter or trio.to_thread.current_default_thread_limiter()):
                return await run_in_worker(bound)  # a checkpoint either way
        finally:
            self._end_call()

    def _end_call(self) -> None:
        self._calls -= 1
        if not self._calls:
            self._calls_done.set()

    def _open(self) -> Store:
        if self._store is None:
            raise StorageStopped("storage is closed")
        return self._store


def _list_items(message: ListInputItems, store: Store) -> ItemsPage | None:
    return store.input_items(
        message.owner,
        message.response_id,
        limit=message.limit,
        order=message.order,
        after=message.after,
        before=message.before,
    )
