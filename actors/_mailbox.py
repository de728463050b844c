"""The part of an actor that outlives its instances: mailbox, reply slots, counters.

A `Mailbox` wraps a bounded trio memory channel of `Envelope`s. It survives
restarts: a fresh instance reads the messages its crashed predecessor left.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

import trio

from ._errors import ActorCrashed, ActorStopped, MailboxFull, reraise

T = TypeVar("T")


class Reply(Generic[T]):
    """One-shot reply slot of an ask: an event plus the value or the error."""

    __slots__ = ("_error", "_event", "_value", "done", "scope")

    def __init__(self) -> None:
        self.scope = trio.CancelScope()
        self._event = trio.Event()
        self._value: T | None = None
        self._error: BaseException | None = None
        self.done = False

    def set_value(self, value: T) -> None:
        """Store the reply and wake the asker; later calls are ignored."""
        if not self.done:
            self.done = True
            self._value = value
            self._event.set()

    def fail(self, error: BaseException) -> None:
        """Store an error for the asker and wake it; later calls are ignored."""
        if not self.done:
            self.done = True
            self._error = error
            self._event.set()

    async def wait(self) -> T:
        """Wait for the reply; return it or raise the stored error as it is.

        Cancellation: a plain trio checkpoint; the slot stays unanswered.
        """
        await self._event.wait()
        error = self._error
        if error is not None:
            self._error = None
            reraise(error)
        return self._value  # type: ignore[return-value]  # set when done


class StreamReply:
    """Reply slot of a stream ask: the items channel plus the final error, and how many items
    the producer has sent into the channel (``sent``: the consumer's ``ready_count``)."""

    __slots__ = ("done", "error", "items", "scope", "sent")

    def __init__(self, items: trio.MemorySendChannel[Any]) -> None:
        self.scope = trio.CancelScope()
        self.items = items
        self.error: BaseException | None = None
        self.done = False
        self.sent = 0

    def finish(self) -> None:
        """End the stream normally: the consumer sees the end of iteration."""
        self.done = True
        self.items.close()

    def fail(self, error: BaseException) -> None:
        """End the stream with `error`, raised to the consumer after the items."""
        if not self.done:
            self.done = True
            self.error = error
            self.items.close()


class Envelope:
    """A queued message with its reply slot (None for plain messages).

    A reply slot carries the cancel scope its handler runs in: the asker
    cancels it when it stops waiting, which cancels the handler, or makes the
    actor skip the message if it is still queued.
    """

    __slots__ = ("message", "reply")

    def __init__(self, message: object, reply: Reply[Any] | StreamReply | None = None) -> None:
        self.message = message
        self.reply = reply


class Mailbox:
    """Bounded queue and counters of one actor, shared by all its instances."""

    __slots__ = (
        "_reader",
        "_receive",
        "_send",
        "capacity",
        "closed",
        "in_flight",
        "name",
        "owner",
        "processed",
        "restarts",
        "stopped",
    )

    def __init__(self, name: str, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"mailbox_size must be >= 1, got {capacity}")
        self.name = name
        self.capacity = capacity
        self._send, self._receive = trio.open_memory_channel[Envelope](capacity)
        self._reader: trio.MemoryReceiveChannel[Envelope] | None = None
        self.closed = False
        self.stopped = trio.Event()
        self.in_flight: set[Envelope] = set()
        self.processed = 0
        self.restarts = 0
        self.owner: trio.lowlevel.Task | None = None

    @property
    def depth(self) -> int:
        """How many messages are queued now."""
        return self._receive.statistics().current_buffer_used

    async def put(self, envelope: Envelope) -> None:
        """Queue `envelope`, waiting while the mailbox is full.

        Raises ActorStopped if the actor is (or gets) stopped meanwhile.
        Cancellation: the envelope is not queued.
        """
        try:
            await self._send.send(envelope)
        except trio.ClosedResourceError:
            raise ActorStopped(self.name) from None

    def put_nowait(self, envelope: Envelope) -> None:
        """Queue `envelope` or raise MailboxFull / ActorStopped at once."""
        try:
            self._send.send_nowait(envelope)
        except trio.WouldBlock:
            raise MailboxFull(self.name, self.capacity) from None
        except trio.ClosedResourceError:
            raise ActorStopped(self.name) from None

    def open_reader(self) -> trio.MemoryReceiveChannel[Envelope]:
        """Return a fresh receive handle for one instance's receive loop.

        `close` closes it, which ends that loop without losing queued messages.
        """
        self._reader = reader = self._receive.clone()
        if self.closed:
            reader.close()
        return reader

    def close(self) -> None:
        """Refuse new messages, fail queued ones with ActorStopped and end the
        receive loop. Senders waiting for room get ActorStopped. Idempotent.
        """
        self.closed = True
        self._send.close()
        if self._reader is not None:
            self._reader.close()
        self._drain()

    def _drain(self) -> None:
        """Fail every queued message with ActorStopped (the mailbox is closed)."""
        while True:
            try:
                envelope = self._receive.receive_nowait()
            except (trio.WouldBlock, trio.EndOfChannel, trio.ClosedResourceError):
                return
            if envelope.reply is not None:
                envelope.reply.fail(ActorStopped(self.name))

    def fail_in_flight(self, cause: BaseException | None) -> None:
        """Fail unanswered in-flight messages and forget them all.

        With a `cause` they fail with ActorCrashed chained from it, otherwise
        with ActorStopped.
        """
        for envelope in self.in_flight:
            if envelope.reply is None or envelope.reply.done:
                continue
            error: BaseException
            if cause is None:
                error = ActorStopped(self.name)
            else:
                error = ActorCrashed(self.name)
                error.__cause__ = cause
            envelope.reply.fail(error)
        self.in_flight.clear()
