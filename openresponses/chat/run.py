"""One chat completion, from validated request to (optionally stored) result.

The provider is resolved as for ``/v1/responses`` (``resolve_model``) and reached through its
``ProviderPool`` actor: a ``RawRequest`` relays the call to an OpenAI-compatible provider as is,
a ``StreamTurn`` runs it through the provider's translation (Anthropic, Responses API) and the
``ChunkBuilder``. Either way a full pool mailbox answers 503 at once.

``frames()`` yields SSE frames. It yields nothing until the upstream has answered, so an upstream
error before any output is a plain HTTP error; after that a failure ends the stream with an
``{"error": ...}`` frame and no ``[DONE]``. With ``store: true`` the completion is saved before
``[DONE]`` (or before the non-stream body is returned).

Cancellation: closing or cancelling ``frames()`` (a client disconnect) cancels the upstream
call; nothing is stored for an abandoned or failed completion.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing, asynccontextmanager
from typing import Any

import orjson

from actors import MailboxFull, StreamAsk
from openresponses.auth import Caller
from openresponses.chat import passthrough
from openresponses.chat.accumulate import ChunkAccumulator
from openresponses.chat.chunks import ChunkBuilder, completion_id
from openresponses.chat.request import ChatRequest
from openresponses.chat.stored import completion_record
from openresponses.chat.to_items import Translated, translate
from openresponses.errors import Overloaded, UpstreamUnavailable, error_body
from openresponses.gateway.provider_pool import READY, RawRequest, StreamTurn
from openresponses.gateway.run import Gateway, as_gateway_error, resolve_model
from openresponses.gateway.storage_chat import SaveChatCompletion
from openresponses.providers.sse import SSEDecoder

JSON = dict[str, Any]
DONE = b"data: [DONE]\n\n"


def frame(data: JSON) -> bytes:
    """One SSE frame, as OpenAI sends chat chunks (``data:`` only, no ``event:``)."""
    return b"data: " + orjson.dumps(data) + b"\n\n"


class ChatRun:
    """Drives one chat completion through the provider pool; see the module docstring."""

    def __init__(self, gateway: Gateway, caller: Caller, request: ChatRequest) -> None:
        self.gateway = gateway
        self.caller = caller
        self.request = request
        self.provider, self.upstream_model = resolve_model(gateway, request.model)
        self.family = gateway.config.providers[self.provider].api
        self.id = completion_id()
        self.created = int(gateway.clock())
        self.translated: Translated | None = None
        if self.family != "chat":  # 400s for what the provider cannot do, before any I/O
            self.translated = translate(request, self.family, self.provider, self.upstream_model)

    @asynccontextmanager
    async def _upstream(self, message: StreamAsk[Any]) -> AsyncIterator[AsyncIterator[Any]]:
        pool = self.gateway.providers[self.provider]
        try:
            async with pool.stream(message, buffer=64, nowait=True) as items:
                yield items
        except MailboxFull:
            raise Overloaded(f"The {self.provider} provider is at capacity; retry shortly.") \
                from None

    def _raw(self) -> RawRequest:
        return RawRequest(
            method="POST", path=passthrough.PATH, stream=self.request.stream,
            body=passthrough.upstream_body(self.request, self.upstream_model),
            client_key=self.caller.bearer,
        )

    def _turn(self) -> StreamTurn:
        assert self.translated is not None
        return StreamTurn(self.translated.call, self.caller.bearer,
                          extra_body=self.translated.extra_body)

    def _builder(self) -> ChunkBuilder:
        return ChunkBuilder(id=self.id, model=self.request.model, created=self.created,
                            include_usage=self.request.include_usage)

    async def _save(self, completion: JSON) -> None:
        """Store the completion when asked to; returns once durable."""
        if self.request.store:
            record = completion_record(self.caller.owner, self.request, completion)
            await self.gateway.storage.ask(SaveChatCompletion(record))

    # -- non-stream --------------------------------------------------------------------------

    async def completion(self) -> JSON:
        """The ``chat.completion`` body (stored first when asked). Errors raise."""
        if self.translated is None:
            async with self._upstream(self._raw()) as items:
                answer = await _first(items)
            if not isinstance(answer, dict):
                raise UpstreamUnavailable("The upstream returned an unexpected body.")
            body = passthrough.relay_body(answer, self.id, self.request.model)
        else:
            builder = self._builder()
            async with self._upstream(self._turn()) as events:
                try:
                    async for event in events:
                        if event is not READY:
                            builder.feed(event)
                except Exception as exc:
                    raise as_gateway_error(exc) from None
            body = builder.completion()
        await self._save(body)
        return body

    # -- stream ------------------------------------------------------------------------------

    async def frames(self) -> AsyncGenerator[bytes, None]:
        """SSE frames of the streamed completion; see the module docstring."""
        source = self._relayed() if self.translated is None else self._translated()
        started = False
        async with aclosing(source) as chunks:
            try:
                async for chunk in chunks:
                    started = True
                    yield frame(chunk)
            except Exception as exc:
                error = as_gateway_error(exc)
                if not started:
                    raise error from None
                yield frame(error_body(error))
                return
        yield DONE

    async def _relayed(self) -> AsyncGenerator[JSON, None]:
        relay = passthrough.ChunkRelay(self.id, self.request.model)
        store = ChunkAccumulator() if self.request.store else None
        decoder = SSEDecoder()
        async with self._upstream(self._raw()) as pieces:
            async for piece in pieces:
                assert isinstance(piece, bytes)
                for sse in decoder.feed(piece):
                    if (chunk := relay.feed(sse.event, sse.data)) is not None:
                        if store is not None:
                            store.add(chunk)
                        yield chunk
        for sse in decoder.close():
            if (chunk := relay.feed(sse.event, sse.data)) is not None:
                if store is not None:
                    store.add(chunk)
                yield chunk
        relay.close()
        if store is not None:
            await self._save(store.completion())

    async def _translated(self) -> AsyncGenerator[JSON, None]:
        builder = self._builder()
        async with self._upstream(self._turn()) as events:
            await _first(events)  # READY: the upstream accepted the request
            for chunk in builder.start():
                yield chunk
            async for event in events:
                for chunk in builder.feed(event):
                    yield chunk
        for chunk in builder.finish():
            yield chunk
        await self._save(builder.completion())


async def _first(items: AsyncIterator[Any]) -> Any:
    """The first item of a pool stream (its errors raised); 502 if there is none."""
    try:
        return await anext(items)
    except StopAsyncIteration:
        raise UpstreamUnavailable("The upstream closed the stream before answering.") from None
