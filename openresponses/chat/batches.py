"""Chat chunks in batches: what arrived together is sent together.

The upstream hands over reads (passthrough bytes) or model events (translation) as they come;
``Watched.ready`` gives those already waiting. ``batched`` turns each set of items ready
together into one list of chunks, so ``ChatRun.frames`` writes them to the client in one send
instead of one send per chunk. Nothing waits for a later item: a batch is what can be had
without waiting, and the bytes and their order are those of the chunk-by-chunk stream.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Iterable, Iterator
from typing import Any, TypeVar

import trio

from openresponses.chat import passthrough
from openresponses.chat.accumulate import ChunkAccumulator
from openresponses.observability.observer import Watched
from openresponses.providers.sse import ServerSentEvent, SSEDecoder

JSON = dict[str, Any]
T = TypeVar("T")


class RelayedStream:
    """A passthrough stream: upstream bytes to relabelled chunks, folded for storing (and
    for the usage charged). With ``hide_usage`` (the client did not ask for it, the gateway
    did: ``passthrough.upstream_body``) no chunk's usage is relayed, as OpenAI sends none."""

    def __init__(self, completion_id: str, model: str, *, hide_usage: bool = False) -> None:
        self.relay = passthrough.ChunkRelay(completion_id, model)
        self.folded = ChunkAccumulator()
        self.decoder = SSEDecoder()
        self.hide_usage = hide_usage

    def feed(self, piece: Any) -> Iterator[JSON]:
        """The chunks of one upstream read (raises, after the ones before it, on a bad one)."""
        return self._chunks(self.decoder.feed(piece))

    def close(self) -> tuple[list[JSON], Exception | None]:
        """The chunks left in the decoder at the end, and the failure after them, if any (a
        bad last event, or a stream that ended before completing)."""
        return _fed([None], lambda _: self._tail(), [])

    def _tail(self) -> Iterator[JSON]:
        yield from self._chunks(self.decoder.close())
        self.relay.close()

    def _chunks(self, events: Iterable[ServerSentEvent]) -> Iterator[JSON]:
        for sse in events:
            if (chunk := self.relay.feed(sse.event, sse.data)) is not None:
                self.folded.add(chunk)
                if self.hide_usage and "usage" in chunk:  # the client did not ask for it
                    if not chunk.get("choices"):
                        continue  # the usage chunk
                    chunk = {k: val for k, val in chunk.items() if k != "usage"}
                yield chunk


async def batched(items: Watched[T], feed: Callable[[T], Iterable[JSON]],
                  lead: Iterable[JSON] = ()) -> AsyncGenerator[list[JSON], None]:
    """The chunks ``feed`` makes of ``items``, one batch per set of items ready together
    (``Watched.ready``), ``lead`` first. A failure in ``feed`` is raised after the batch of
    the chunks made before it, as when they went one by one."""
    out, error = _fed(items.ready(), feed, list(lead))
    while True:
        if out:
            yield out
        if error is not None:
            raise error
        try:
            item = await items.receive()
        except trio.EndOfChannel:
            return
        out, error = _fed([item, *items.ready()], feed, [])


def _fed(items: list[T], feed: Callable[[T], Iterable[JSON]], out: list[JSON]
         ) -> tuple[list[JSON], Exception | None]:
    """``out`` plus the chunks of ``items``; a failure stops there and is returned with
    what was made before it."""
    try:
        for item in items:
            for chunk in feed(item):
                out.append(chunk)
    except Exception as exc:
        return out, exc
    return out, None
