"""Handles to actors: `ActorRef`, the `Ask`/`StreamAsk` markers, statistics."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Generic, TypeVar, final

import attrs
import trio

from ._errors import MailboxFull, reraise
from ._mailbox import Envelope, Mailbox, Reply, StreamReply

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)
M = TypeVar("M")


class Ask(Generic[T_co]):
    """Marker base of messages that want one reply of type T (`ActorRef.ask`)."""

    __slots__ = ()


class StreamAsk(Generic[T_co]):
    """Marker base of messages that want a stream of T replies (`ActorRef.stream`)."""

    __slots__ = ()


@attrs.frozen
class ActorStatistics:
    """A snapshot of one actor's mailbox and counters."""

    name: str
    depth: int  # messages queued now
    capacity: int  # mailbox size
    processed: int  # messages handled, across restarts
    restarts: int
    in_flight: int  # messages being handled now


@final
class _ItemStream(trio.abc.ReceiveChannel[T]):
    """The consumer side of a stream: items, then the producer's error if any."""

    __slots__ = ("_items", "_reply", "_taken")

    def __init__(self, items: trio.MemoryReceiveChannel[T], reply: StreamReply) -> None:
        self._items = items
        self._reply = reply
        self._taken = 0

    def _end(self) -> None:
        error, self._reply.error = self._reply.error, None
        if error is not None:
            reraise(error)

    async def receive(self) -> T:
        """Return the next item; at the end raise the producer's error or EndOfChannel.

        Cancellation: a plain trio checkpoint; no item is lost.
        """
        try:
            item = await self._items.receive()
        except trio.EndOfChannel:
            pass
        else:
            self._taken += 1
            return item
        self._end()
        raise trio.EndOfChannel

    def receive_nowait(self) -> T:
        """Like `receive`, but raise trio.WouldBlock instead of waiting."""
        try:
            item = self._items.receive_nowait()
        except trio.EndOfChannel:
            pass
        else:
            self._taken += 1
            return item
        self._end()
        raise trio.EndOfChannel

    @property
    def ready_count(self) -> int:
        """How many items `receive_nowait` returns, at least, before it would raise.

        Exact for the consumer, except while the producer waits for room: an item it is
        still handing over is not counted yet. Lets a consumer take what is at hand
        without raising trio.WouldBlock to find the end of it.
        """
        return max(0, self._reply.sent - self._taken)

    def statistics(self) -> trio.MemoryChannelStatistics:
        """Statistics of the underlying memory channel."""
        return self._items.statistics()

    def close(self) -> None:
        """Stop receiving; the producer sees the consumer gone."""
        self._items.close()

    async def aclose(self) -> None:
        """Like `close`, plus a trio checkpoint (closed even if cancelled)."""
        self._items.close()
        await trio.lowlevel.checkpoint()


def _inside(owner: trio.lowlevel.Task | None) -> bool:
    """Whether the current task is `owner` or one of its descendants."""
    task: trio.lowlevel.Task | None = trio.lowlevel.current_task()
    while task is not None:
        if task is owner:
            return True
        nursery = task.parent_nursery
        task = nursery.parent_task if nursery is not None else None
    return False


@final
class ActorRef(Generic[M]):
    """Handle to a running actor; stays valid across restarts of its instance."""

    __slots__ = ("_mailbox",)

    def __init__(self, mailbox: Mailbox) -> None:
        self._mailbox = mailbox

    def __repr__(self) -> str:
        return f"<ActorRef {self._mailbox.name!r}>"

    @property
    def name(self) -> str:
        """The name the actor was started with."""
        return self._mailbox.name

    async def send(self, message: M) -> None:
        """Queue `message`, waiting while the mailbox is full (backpressure).

        Raises ActorStopped if the actor is stopped. Cancellation: not queued.
        """
        await self._mailbox.put(Envelope(message))

    def send_nowait(self, message: M) -> None:
        """Queue `message` or raise MailboxFull (or ActorStopped) at once."""
        self._mailbox.put_nowait(Envelope(message))

    async def ask(self, message: Ask[T]) -> T:
        """Queue `message` (waiting for room), then wait for and return the reply.

        The actor's exception while answering is re-raised here as it is.
        Cancellation: if still queued the message is skipped; if being handled
        its handler is cancelled. The actor lives on either way.
        """
        reply: Reply[T] = Reply()
        envelope = Envelope(message, reply)
        try:  # room: queue it now; the wait for the reply is the checkpoint
            self._mailbox.put_nowait(envelope)
        except MailboxFull:
            await self._mailbox.put(envelope)
        return await self._await(reply)

    async def ask_nowait(self, message: Ask[T]) -> T:
        """Like `ask`, but raise MailboxFull at once if the mailbox has no room.

        Cancellation: as for `ask`.
        """
        reply: Reply[T] = Reply()
        self._mailbox.put_nowait(Envelope(message, reply))
        return await self._await(reply)

    @staticmethod
    async def _await(reply: Reply[T]) -> T:
        """Wait for `reply`; if the wait ends without it, cancel the handler."""
        try:
            return await reply.wait()
        finally:
            if not reply.done:
                reply.scope.cancel()

    @asynccontextmanager
    async def stream(
        self, message: StreamAsk[T], *, buffer: int = 16, nowait: bool = False
    ) -> AsyncIterator[trio.abc.ReceiveChannel[T]]:
        """Queue `message` and yield a channel of the items the actor produces.

        On entering, waits for mailbox room (or, with nowait=True, raises
        MailboxFull at once). At most `buffer` items wait unread. Iteration
        ends when the producer is exhausted; an exception raised while
        producing is re-raised from the iteration after the items sent before
        it. Leaving the block early (or being cancelled) cancels the producer
        and closes its generator. Besides `receive_nowait`, the channel has a
        `ready_count` property: how many items are at hand (see `_ItemStream`).
        """
        items_in, items_out = trio.open_memory_channel[T](buffer)
        reply = StreamReply(items_in)
        envelope = Envelope(message, reply)
        if nowait:
            self._mailbox.put_nowait(envelope)
        else:
            await self._mailbox.put(envelope)
        try:
            yield _ItemStream(items_out, reply)
        finally:
            reply.scope.cancel()
            items_out.close()

    async def stop(self) -> None:
        """Stop the actor gracefully and wait until it has stopped.

        It takes no new messages (sends raise ActorStopped), lets in-flight
        handlers finish, fails queued asks and streams with ActorStopped and
        runs on_stop. Idempotent. Called from inside the actor itself (a
        handler or a task in its context nursery) it only requests the stop,
        since waiting would deadlock. Cancellation: the stop still happens.
        """
        mailbox = self._mailbox
        mailbox.close()
        if _inside(mailbox.owner):
            await trio.lowlevel.checkpoint()
            return
        await mailbox.stopped.wait()

    def statistics(self) -> ActorStatistics:
        """Return a snapshot of the mailbox and counters."""
        mailbox = self._mailbox
        return ActorStatistics(
            name=mailbox.name,
            depth=mailbox.depth,
            capacity=mailbox.capacity,
            processed=mailbox.processed,
            restarts=mailbox.restarts,
            in_flight=len(mailbox.in_flight),
        )
