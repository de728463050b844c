"""A model turn's events as a channel, whichever way the provider pool delivers them.

A streamed turn is a ``StreamTurn``: the pool's producer sends each event as it is read. A
non-stream turn gets its whole answer in one upstream read, so it is a ``CallTurn`` ask whose
reply is the event list (bench/results/2026-11-25-perf-2.md: the stream machinery — a channel,
its receives and the consumer's wake-ups — was a fixed cost on every non-stream request). The
consumer sees the same thing both ways: a ``ReceiveChannel`` whose first item (``READY``)
arrives once the upstream accepted the request, raising the turn's error instead.
``answered`` reads any one-reply pool message that way (``CallRaw``: a non-stream chat
completion relayed as is).
"""

from __future__ import annotations

from collections import deque
from contextlib import AbstractAsyncContextManager
from typing import Generic, TypeVar, final

import trio

from actors import ActorRef, Ask
from openresponses.gateway.pool_messages import CallTurn, PoolMessage, StreamTurn, TurnEvent

T = TypeVar("T")


def turn_events(
    pool: ActorRef[PoolMessage], turn: StreamTurn, *, nowait: bool
) -> AbstractAsyncContextManager[trio.abc.ReceiveChannel[TurnEvent]]:
    """The events of ``turn`` (``READY`` first), streamed or in one reply (``call.stream``).

    ``nowait``: raise ``MailboxFull`` instead of waiting for room in the pool's mailbox
    (for a non-stream turn, on the first receive). Leaving the block, or cancelling a
    receive, cancels the upstream call.
    """
    if turn.call.stream:
        return pool.stream(turn, buffer=64, nowait=nowait)
    return answered(pool, CallTurn(turn.call, turn.client_key, turn.extra_body), nowait=nowait)


def answered(
    pool: ActorRef[PoolMessage], message: Ask[list[T]], *, nowait: bool
) -> AbstractAsyncContextManager[trio.abc.ReceiveChannel[T]]:
    """The items of a one-reply ``message`` (``CallTurn``, ``CallRaw``) as a channel, as
    ``pool.stream`` gives a streamed one's: the first receive asks; ``nowait`` as above."""
    return _AnsweredBlock(_Answered(pool, message, nowait))


@final
class _AnsweredBlock(AbstractAsyncContextManager[trio.abc.ReceiveChannel[T]], Generic[T]):
    """Yields the channel; leaving does nothing more (an ask in flight is cancelled with its
    waiting receive). A class, not a generator: entered on every non-stream request."""

    def __init__(self, channel: _Answered[T]) -> None:
        self._channel = channel

    async def __aenter__(self) -> trio.abc.ReceiveChannel[T]:
        return self._channel

    async def __aexit__(self, *exc: object) -> None:
        return None


@final
class _Answered(trio.abc.ReceiveChannel[T], Generic[T]):
    """A one-reply message's items: the first receive asks the pool and waits for the answer
    (cancelling that wait cancels the call); the rest are at hand."""

    def __init__(self, pool: ActorRef[PoolMessage], message: Ask[list[T]], nowait: bool) -> None:
        self._pool = pool
        self._message = message
        self._nowait = nowait
        self._asked = False
        self._events: deque[T] = deque()

    async def receive(self) -> T:
        """The next event; the first call asks (``MailboxFull``, the turn's error)."""
        if not self._asked:
            self._asked = True  # asked once: after a failure the channel is just empty
            ask = self._pool.ask_nowait if self._nowait else self._pool.ask
            self._events.extend(await ask(self._message))
        return self.receive_nowait()

    @property
    def ready_count(self) -> int:
        """How many events ``receive_nowait`` returns before it would raise (``Watched.ready``
        asks, instead of finding out by an exception on every turn)."""
        return len(self._events)

    def receive_nowait(self) -> T:
        """The next event at hand; ``WouldBlock`` before the answer, then ``EndOfChannel``."""
        if self._events:
            return self._events.popleft()
        if not self._asked:
            raise trio.WouldBlock
        raise trio.EndOfChannel

    async def aclose(self) -> None:
        self._asked = True
        self._events.clear()
        await trio.lowlevel.checkpoint()
