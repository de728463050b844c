"""Chat chunks in batches: what arrived together goes out together, nothing waits for later."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing, asynccontextmanager
from typing import Any

import orjson
import pytest
import trio

from openresponses.chat.batches import RelayedStream, batched
from openresponses.errors import GatewayError
from openresponses.observability.observer import Ops


def sse(content: str, finish: str | None = None) -> bytes:
    chunk = {"id": "up", "object": "chat.completion.chunk", "created": 1, "model": "up-model",
             "choices": [{"index": 0, "delta": {"content": content}, "finish_reason": finish}]}
    return b"data: " + orjson.dumps(chunk) + b"\n\n"


def contents(batch: list[dict[str, Any]]) -> list[str]:
    return [c["choices"][0]["delta"]["content"] for c in batch]


@asynccontextmanager
async def channel() -> AsyncIterator[tuple[trio.MemorySendChannel[bytes],
                                           trio.MemoryReceiveChannel[bytes]]]:
    send, receive = trio.open_memory_channel[bytes](16)
    async with send, receive:
        yield send, receive


async def test_reads_waiting_together_make_one_batch_in_order() -> None:
    relay = RelayedStream("chatcmpl-ours", "alias")
    async with channel() as (send, receive):
        send.send_nowait(sse("a") + sse("b")[:10])  # a frame split across reads
        send.send_nowait(sse("b")[10:] + sse("c"))
        send.send_nowait(sse("d", "stop") + b"data: [DONE]\n\n")
        send.close()
        async with Ops().turn("p", "m", _entered(receive)) as upstream:
            batches = [b async for b in batched(upstream, relay.feed)]
    assert [contents(b) for b in batches] == [["a", "b", "c", "d"]]
    assert {(c["id"], c["model"]) for c in batches[0]} == {("chatcmpl-ours", "alias")}
    assert relay.close() == ([], None)
    assert relay.folded.completion()["choices"][0]["message"]["content"] == "abcd"


async def test_a_ready_chunk_never_waits_for_a_later_read() -> None:
    relay = RelayedStream("chatcmpl-ours", "alias")
    async with channel() as (send, receive):
        send.send_nowait(sse("a"))
        async with Ops().turn("p", "m", _entered(receive)) as upstream:
            async with aclosing(batched(upstream, relay.feed)) as batches:
                with trio.fail_after(1):  # the producer is still open and silent
                    assert contents(await anext(batches)) == ["a"]
                send.send_nowait(sse("b"))
                with trio.fail_after(1):
                    assert contents(await anext(batches)) == ["b"]


async def test_a_bad_event_is_raised_after_the_chunks_before_it() -> None:
    relay = RelayedStream("chatcmpl-ours", "alias")
    async with channel() as (send, receive):
        send.send_nowait(sse("a") + b"data: {not json\n\n" + sse("never"))
        send.close()
        seen: list[list[str]] = []

        async def consume() -> None:
            async with Ops().turn("p", "m", _entered(receive)) as upstream:
                async for batch in batched(upstream, relay.feed):
                    seen.append(contents(batch))

        with pytest.raises(GatewayError, match="malformed"):
            await consume()
    assert seen == [["a"]]


async def test_the_lead_comes_first_with_what_is_ready() -> None:
    async with channel() as (send, receive):
        send.send_nowait(b"x")
        send.send_nowait(b"y")
        send.close()
        async with Ops().turn("p", "m", _entered(receive)) as upstream:
            batches = [b async for b in batched(
                upstream, lambda item: [{"n": item.decode()}], [{"n": "lead"}])]
    assert batches == [[{"n": "lead"}, {"n": "x"}, {"n": "y"}]]


def test_a_stream_that_ends_early_fails_after_its_last_chunks() -> None:
    relay = RelayedStream("chatcmpl-ours", "alias")
    assert list(relay.feed(sse("a")[:-1])) == []  # the last frame lacks its blank line
    tail, error = relay.close()
    assert contents(tail) == ["a"]
    assert isinstance(error, GatewayError)
    assert error.status == 502


@asynccontextmanager
async def _entered(receive: trio.MemoryReceiveChannel[bytes]
                   ) -> AsyncIterator[trio.MemoryReceiveChannel[bytes]]:
    yield receive
