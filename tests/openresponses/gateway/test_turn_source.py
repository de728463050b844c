"""``turn_events``: a non-stream turn is one ``CallTurn`` reply, seen as a channel; cancelling
its wait cancels the upstream call; a full mailbox sheds at once with ``nowait``."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest
import trio
import trio.testing

from actors import MailboxFull
from actors.testing import started
from openresponses.config import ProviderConfig
from openresponses.gateway.pool_messages import READY, CallTurn, StreamTurn
from openresponses.gateway.provider_pool import ProviderPool
from openresponses.gateway.turn_source import turn_events
from openresponses.providers.registry import protocol_for_provider
from openresponses.schema.model_call import ModelCall
from openresponses.schema.model_events import TextDelta
from tests.fakes.script import Script, chat_body


class Held:
    """An upstream that answers only once ``release`` is set; records a cancelled call."""

    def __init__(self) -> None:
        self.release = trio.Event()
        self.called = trio.Event()
        self.cancelled = False
        self.messages: list[object] = []

    async def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.called.set()
        try:
            await self.release.wait()
        except trio.Cancelled:
            self.cancelled = True
            raise
        return httpx2.Response(200, json=chat_body(Script(text="hello"), "m"))


def pool(upstream: Held, *, connections: int = 4, mailbox: int = 128) -> Any:
    config = ProviderConfig("groq", "chat", "http://upstream.test/v1", ("k",),
                            max_connections=connections)

    class Recording(ProviderPool):
        async def receive(self, message: Any) -> Any:
            upstream.messages.append(message)
            return await super().receive(message)

    return started(lambda: Recording(config, protocol_for_provider("groq", "chat"),
                                     httpx2.MockTransport(upstream)), mailbox_size=mailbox)


def turn() -> StreamTurn:
    return StreamTurn(ModelCall(provider="groq", model="m", stream=False,
                                input=[{"type": "message", "role": "user", "content": "hi"}]))


async def test_a_non_stream_turn_is_one_reply_seen_as_a_channel() -> None:
    upstream = Held()
    upstream.release.set()
    async with pool(upstream) as ref, turn_events(ref, turn(), nowait=True) as events:
        early: Any = events  # Watched.ready() reads it through ready_count, receive_nowait
        assert early.ready_count == 0
        with pytest.raises(trio.WouldBlock):
            early.receive_nowait()  # nothing before the answer
        assert await events.receive() is READY
        waiting = early.ready_count
        rest = [event async for event in events]
        assert waiting == len(rest) > 0  # all of the answer is at hand once READY came
        assert early.ready_count == 0
    assert "".join(e.delta for e in rest if isinstance(e, TextDelta)) == "hello"
    [message] = upstream.messages
    assert isinstance(message, CallTurn)


async def test_cancelling_the_wait_cancels_the_upstream_call() -> None:
    upstream = Held()
    async with pool(upstream) as ref:
        with trio.CancelScope() as scope:
            async with turn_events(ref, turn(), nowait=True) as events:

                async def cancel_once_called() -> None:
                    await upstream.called.wait()
                    scope.cancel()

                async with trio.open_nursery() as nursery:
                    nursery.start_soon(cancel_once_called)
                    await events.receive()
        await trio.testing.wait_all_tasks_blocked()
        assert upstream.cancelled
        upstream.release.set()  # the pool goes on answering
        async with turn_events(ref, turn(), nowait=True) as events:
            assert await events.receive() is READY


async def test_a_full_mailbox_sheds_a_nowait_turn_at_once() -> None:
    upstream = Held()
    async with pool(upstream, connections=1, mailbox=1) as ref:
        async with trio.open_nursery() as nursery:
            async def hold_one() -> None:
                async with turn_events(ref, turn(), nowait=True) as events:
                    await events.receive()

            nursery.start_soon(hold_one)  # taken by the pool's only connection
            await upstream.called.wait()
            nursery.start_soon(hold_one)  # queued: the mailbox is full
            await trio.testing.wait_all_tasks_blocked()
            with pytest.raises(MailboxFull):
                async with turn_events(ref, turn(), nowait=True) as events:
                    await events.receive()
            upstream.release.set()
