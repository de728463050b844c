"""The `Actor` base class, its `ActorContext`, and the loop that runs one instance."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any, Generic, TypeVar

import attrs
import trio

from ._mailbox import Envelope, Mailbox, Reply, StreamReply
from ._ref import ActorRef

M = TypeVar("M")


@attrs.frozen
class ActorContext:
    """What the runtime gives an actor instance before its on_start.

    `nursery` belongs to this instance: tasks started there are cancelled when
    the instance stops or crashes, and an exception escaping one crashes it.
    """

    name: str
    nursery: trio.Nursery
    ref: ActorRef[Any]


class Actor(Generic[M]):
    """Base class of actors. Subclass it and override `receive`.

    `concurrency` is how many messages may be handled at once: 1 handles them
    one by one in mailbox order; N > 1 handles them in up to N worker tasks,
    at most N at once.
    """

    concurrency: int = 1
    context: ActorContext

    async def on_start(self) -> None:
        """Called (with `context` set) before the first message; may start tasks
        in `self.context.nursery`. Raising here fails `Supervisor.start` on the
        first start and crashes the instance on a restart. Cancelled if the
        caller of `Supervisor.start` or the supervisor is cancelled.
        """

    async def receive(self, message: M) -> object:
        """Handle one message.

        For an `Ask[T]` the return value is the reply and an exception goes to
        the asker. For a `StreamAsk[T]` return an AsyncIterator[T] (usually an
        async generator). For a plain message the value is ignored and an
        exception crashes the instance. Cancelled when the asker stops waiting.
        """
        raise NotImplementedError(f"{type(self).__name__} does not handle {message!r}")

    async def on_stop(self) -> None:
        """Called once on a graceful stop, after in-flight handlers finished and
        before the tasks in `self.context.nursery` are cancelled.

        Not called for a crashed or cancelled instance. Raising here counts as
        a crash: a fresh instance is started and, the mailbox being closed,
        stopped again at once.
        """


async def run_instance(
    actor: Actor[Any],
    mailbox: Mailbox,
    ref: ActorRef[Any],
    started: Callable[[], None],
) -> None:
    """Run one instance: on_start, the receive loop, then on_stop once stopped.

    Returns after a graceful stop; raises (an exception group) when the
    instance crashes. Calls `started()` once on_start finished.
    Cancellation: the instance is torn down without on_stop.
    """
    limit = actor.concurrency
    if limit < 1:
        raise ValueError(f"concurrency must be >= 1, got {limit}")
    async with trio.open_nursery() as nursery:
        actor.context = ActorContext(name=mailbox.name, nursery=nursery, ref=ref)
        await actor.on_start()
        started()
        with mailbox.open_reader() as reader:
            if limit == 1:
                await _serve(actor, mailbox, reader)
            else:
                async with trio.open_nursery() as handlers:
                    await _serve_concurrently(actor, mailbox, reader, handlers, limit)
        await actor.on_stop()
        nursery.cancel_scope.cancel()


async def _serve(
    actor: Actor[Any], mailbox: Mailbox, reader: trio.MemoryReceiveChannel[Envelope]
) -> None:
    """Handle messages one by one until the mailbox is closed.

    Cancellation: propagates (the instance is being torn down).
    """
    while True:
        try:
            envelope = await reader.receive()
        except (trio.ClosedResourceError, trio.EndOfChannel):
            return
        await _handle(actor, mailbox, envelope)


async def _serve_concurrently(
    actor: Actor[Any],
    mailbox: Mailbox,
    reader: trio.MemoryReceiveChannel[Envelope],
    handlers: trio.Nursery,
    limit: int,
) -> None:
    """Handle messages in up to `limit` long-lived worker tasks (this one and
    others in `handlers`), until the mailbox is closed. Messages stay queued
    while all workers are busy.

    A worker is added only when one takes a message while no other is idle, so
    a busy actor reuses its tasks instead of spawning one per message (a task
    spawn and a semaphore step per ask were a fixed cost of every ask:
    bench/results/2026-11-25-perf-2.md). A handler's context-variable changes
    stay in its worker: reset what you set.

    Cancellation: propagates (the instance is being torn down).
    """
    workers = idle = 1

    async def work() -> None:
        nonlocal workers, idle
        while True:
            try:
                envelope = await reader.receive()
            except (trio.ClosedResourceError, trio.EndOfChannel):
                return
            idle -= 1
            if not idle and workers < limit:
                workers += 1
                idle += 1
                handlers.start_soon(work)
            await _handle(actor, mailbox, envelope)
            idle += 1

    await work()


async def _handle(actor: Actor[Any], mailbox: Mailbox, envelope: Envelope) -> None:
    """Handle one message; an asked one inside its reply's cancel scope.

    A message whose asker is gone is skipped. If the handler raises out of
    here (crash or outside cancellation) the envelope stays in
    `mailbox.in_flight` for the supervisor to fail.
    """
    reply = envelope.reply
    if reply is None:
        mailbox.in_flight.add(envelope)
        await actor.receive(envelope.message)
    else:
        if reply.scope.cancel_called:
            return
        mailbox.in_flight.add(envelope)
        with reply.scope:
            if type(reply) is Reply:
                await _answer(actor, envelope.message, reply)
            else:
                assert isinstance(reply, StreamReply)
                await _produce(actor, envelope.message, reply)
    mailbox.in_flight.discard(envelope)
    mailbox.processed += 1


async def _answer(actor: Actor[Any], message: object, reply: Reply[Any]) -> None:
    """Run the handler of an ask; its result or exception goes to the asker.

    Cancellation: propagates, leaving the reply unset.
    """
    try:
        result = await actor.receive(message)
    except Exception as exc:
        reply.fail(exc)
    else:
        reply.set_value(result)


def _forward(reply: StreamReply, item: object) -> bool:
    """Hand ``item`` to the consumer without a scheduler round trip if the channel has room.

    The producer's source (a network read) is itself a checkpoint, so skipping the send's
    checkpoint only lets items that are ready together reach the consumer in one wake-up
    (bench/results/2026-11-25-perf.md: -17 % instructions per streamed request). False if the
    channel is full: the caller then waits on ``send`` (backpressure).
    """
    try:
        reply.items.send_nowait(item)
    except trio.WouldBlock:
        return False
    reply.sent += 1
    return True


async def _produce(actor: Actor[Any], message: object, reply: StreamReply) -> None:
    """Run the handler of a stream ask and forward its items to the consumer.

    An exception goes to the consumer after the items. A consumer that left
    ends the stream quietly. The iterator is closed (aclose) in every case.
    Cancellation: propagates after closing the iterator.
    """
    try:
        items = await actor.receive(message)
        if not isinstance(items, AsyncIterator):
            raise TypeError(f"receive() must return an AsyncIterator for {message!r}")
        try:
            async for item in items:
                try:
                    if not _forward(reply, item):
                        await reply.items.send(item)
                        reply.sent += 1
                except trio.BrokenResourceError:
                    break
        finally:
            aclose = getattr(items, "aclose", None)
            if aclose is not None:
                await aclose()
    except Exception as exc:
        reply.fail(exc)
    else:
        reply.finish()
