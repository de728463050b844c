"""SSE framing: one ``event:`` / ``data:`` frame per event, the same bytes for a batch of one
(built in one step) and for a longer batch; a stream does not keep its first events."""

from __future__ import annotations

import gc
import weakref
from collections.abc import AsyncGenerator
from typing import Any

import orjson

from openresponses.render import sse_bytes, sse_response

EVENT = {"type": "response.output_text.delta", "sequence_number": 3, "delta": "héllo\n"}


def test_one_event_is_one_frame() -> None:
    assert sse_bytes([EVENT]) == (b"event: response.output_text.delta\ndata: "
                                  + orjson.dumps(EVENT) + b"\n\n")


def test_a_batch_is_its_frames_in_order() -> None:
    other = {"type": "response.completed", "response": {"id": "resp_1"}}
    assert sse_bytes([EVENT, other]) == sse_bytes([EVENT]) + sse_bytes([other])
    assert sse_bytes([]) == b""


class Event(dict[str, Any]):
    """A dict that can be watched with a weak reference."""


async def test_the_first_events_are_let_go_once_sent() -> None:
    async def rest() -> AsyncGenerator[list[dict[str, Any]], None]:
        yield [{"type": "response.output_text.delta", "delta": "a"}]
        yield [{"type": "response.completed"}]

    first: list[dict[str, Any]] = [Event(type="response.created", response={"id": "resp_1"})]
    watched = weakref.ref(first[0])
    response = sse_response(first, rest())
    del first
    body = response.response
    async with body as chunks:
        frames = []
        async for chunk in chunks:
            frames.append(chunk)
            if len(frames) == 2:  # the stream goes on; the head's events are gone
                gc.collect()
                assert watched() is None
    assert frames[0].startswith(b"event: response.created\n")
    assert frames[2] == b'event: response.completed\ndata: {"type":"response.completed"}\n\n'
