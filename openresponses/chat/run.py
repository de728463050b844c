"""One chat completion, from validated request to (optionally stored) result.

The model is resolved as for ``/v1/responses`` (``resolve_targets``: ``provider@model`` or a
model alias tried in order) and each call goes through the provider's ``ProviderPool`` actor,
observed by ``Ops.turn``: a ``RawRequest`` relays the call to an OpenAI-compatible provider as
is, a ``StreamTurn`` runs it through the provider's translation (Anthropic, Responses API) and
the ``ChunkBuilder``. A full pool mailbox answers 503 at once; an alias falls back to its next
target on the same failures as ``/v1/responses``, before any output.

``frames()`` yields SSE frames. It yields nothing until the upstream has answered, so an upstream
error before any output is a plain HTTP error; after that a failure ends the stream with an
``{"error": ...}`` frame and no ``[DONE]``. With ``store: true`` the completion is saved before
``[DONE]`` (or before the non-stream body is returned). Tokens used are charged to the caller's
tokens-per-minute limit, if any; a stream the client left midway is charged what it had read
and written (its usage if it came, else an estimate).

Cancellation: closing or cancelling ``frames()`` (a client disconnect) cancels the upstream
call; nothing is stored for an abandoned or failed completion.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, aclosing, asynccontextmanager
from typing import Any

import attrs
import orjson
import trio

from actors import MailboxFull
from openresponses.auth import Caller
from openresponses.chat import passthrough
from openresponses.chat.batches import RelayedStream, batched
from openresponses.chat.chunks import ChunkBuilder, completion_id
from openresponses.chat.request import ChatRequest
from openresponses.chat.stored import completion_record
from openresponses.chat.to_items import Translated, translate
from openresponses.errors import GatewayError, Overloaded, UpstreamUnavailable, error_body
from openresponses.gateway.pool_messages import CallRaw, RawRequest, StreamTurn
from openresponses.gateway.rate_limiter import charge_tokens
from openresponses.gateway.resilience import falls_back
from openresponses.gateway.run import Gateway, as_gateway_error, resolve_targets
from openresponses.gateway.storage_chat import SaveChatCompletion
from openresponses.gateway.token_count import estimate_tokens
from openresponses.gateway.turn_source import answered, turn_events
from openresponses.observability.observer import Watched

JSON = dict[str, Any]
DONE = b"data: [DONE]\n\n"
logger = logging.getLogger("openresponses.chat")


def frame(data: JSON) -> bytes:
    """One SSE frame, as OpenAI sends chat chunks (``data:`` only, no ``event:``)."""
    return b"data: " + orjson.dumps(data) + b"\n\n"


@attrs.frozen
class _Target:
    """One provider to try: passthrough when ``translated`` is None."""

    provider: str
    model: str
    translated: Translated | None


class ChatRun:
    """Drives one chat completion through the provider pool; see the module docstring."""

    def __init__(self, gateway: Gateway, caller: Caller, request: ChatRequest) -> None:
        self.gateway = gateway
        self.caller = caller
        self.request = request
        # 400s for what a provider cannot do come here, before any I/O (every alias target).
        self.targets = [self._target(p, m) for p, m in resolve_targets(gateway, request.model)]
        self.id = completion_id()
        self.created = int(gateway.clock())
        self._progress: Callable[[], JSON] | None = None  # the completion so far (streams)
        self._charged = False

    def _target(self, provider: str, model: str) -> _Target:
        family = self.gateway.config.providers[provider].api
        if family == "chat":
            return _Target(provider, model, None)
        return _Target(provider, model, translate(self.request, family, provider, model))

    def _upstream_items(
        self, target: _Target
    ) -> AbstractAsyncContextManager[trio.abc.ReceiveChannel[Any]]:
        """The call to ``target`` as a channel of its items: streamed, or (non-stream) one
        reply read as a channel (``turn_source``), which costs no stream machinery."""
        pool = self.gateway.providers[target.provider]
        if target.translated is not None:
            turn = StreamTurn(target.translated.call, self.caller.bearer,
                              extra_body=target.translated.extra_body)
            return turn_events(pool, turn, nowait=True)
        body = passthrough.upstream_body(self.request, target.model)
        if self.request.stream:
            return pool.stream(RawRequest(method="POST", path=passthrough.PATH, stream=True,
                                          body=body, client_key=self.caller.bearer),
                               buffer=64, nowait=True)
        return answered(pool, CallRaw(method="POST", path=passthrough.PATH, body=body,
                                      client_key=self.caller.bearer), nowait=True)

    @asynccontextmanager
    async def _upstream(self) -> AsyncIterator[tuple[_Target, Watched[Any]]]:
        """The first target that accepts the call, and its items past ``READY``."""
        for n, target in enumerate(self.targets, start=1):
            last = n == len(self.targets)
            upstream = self._upstream_items(target)
            try:
                async with self.gateway.ops.turn(target.provider, target.model,
                                                 upstream) as items:
                    try:  # upstream errors before it accepted the call become HTTP errors
                        await anext(items)  # READY
                    except StopAsyncIteration:
                        raise UpstreamUnavailable("The upstream closed before answering.") \
                            from None
                    except GatewayError as exc:
                        if last or not falls_back(exc.status):
                            raise
                        logger.warning("%s failed (%s); falling back", target.provider,
                                       exc.status)
                        continue
                    yield target, items
                    return
            except MailboxFull:  # the provider's mailbox is full: shed at once (503)
                if last:
                    raise Overloaded(f"The {target.provider} provider is at capacity; retry "
                                     "shortly.") from None
                logger.warning("%s is at capacity; falling back", target.provider)

    def _builder(self) -> ChunkBuilder:
        return ChunkBuilder(id=self.id, model=self.request.model, created=self.created,
                            include_usage=self.request.include_usage)

    async def _finished(self, completion: JSON, usage: Any) -> None:
        """Charge the tokens used, then store the completion when asked (returns once
        durable)."""
        self._charged = True
        charge_tokens(self.gateway.limiter, self.caller.owner, self.caller.limits, usage)
        if self.request.store:
            record = completion_record(self.caller.owner, self.request, completion,
                                       self.created)
            await self.gateway.storage.ask(SaveChatCompletion(record))

    # -- non-stream --------------------------------------------------------------------------

    async def completion(self) -> JSON:
        """The ``chat.completion`` body (stored first when asked). Errors raise."""
        async with self._upstream() as (target, items):
            try:
                if target.translated is None:
                    answer = await anext(items, None)
                    if not isinstance(answer, dict):
                        raise UpstreamUnavailable("The upstream returned an unexpected body.")
                    body = passthrough.relay_body(answer, self.id, self.request.model)
                else:
                    builder = self._builder()
                    async for event in items:
                        builder.feed(event)
                    body = builder.completion()
            except Exception as exc:
                raise as_gateway_error(exc) from None
        await self._finished(body, body.get("usage"))
        return body

    # -- stream ------------------------------------------------------------------------------

    async def frames(self) -> AsyncGenerator[bytes, None]:
        """SSE frames of the streamed completion; see the module docstring. Chunks that are
        ready together (one upstream read, or reads already waiting) come as one ``bytes``, so
        the client gets them in one write; none waits for a later one."""
        started = False
        async with aclosing(self._batches()) as batches:
            try:
                async for batch in batches:
                    started = True
                    yield b"".join([frame(chunk) for chunk in batch])
            except Exception as exc:
                error = as_gateway_error(exc)
                if not started:
                    raise error from None
                yield frame(error_body(error))
                return
        yield DONE

    async def _batches(self) -> AsyncGenerator[list[JSON], None]:
        """Non-empty batches of chunks, in order; the completion is finished (charged, stored)
        after the last one and before this ends."""
        async with self._upstream() as (target, items):
            source = (self._relayed(items) if target.translated is None
                      else self._translated(items))
            try:
                async with aclosing(source) as batches:
                    async for batch in batches:
                        yield batch
            except BaseException as exc:
                if not isinstance(exc, Exception):  # GeneratorExit or Cancelled: abandoned
                    self._charge_abandoned()
                raise

    def _charge_abandoned(self) -> None:
        """Charge a stream its client left: the upstream bills what it read and wrote so far
        all the same (its usage if it came, else estimated, characters / 4)."""
        if self._charged or self._progress is None:
            return
        so_far = self._progress()
        usage = so_far.get("usage")
        if not isinstance(usage, dict):
            written = [c["message"] for c in so_far["choices"]]
            usage = {"total_tokens": estimate_tokens(self.request.messages)
                     + estimate_tokens(written)}
        self._charged = True
        charge_tokens(self.gateway.limiter, self.caller.owner, self.caller.limits, usage)

    async def _relayed(self, pieces: Watched[Any]) -> AsyncGenerator[list[JSON], None]:
        relay = RelayedStream(self.id, self.request.model,
                              hide_usage=not self.request.include_usage)
        self._progress = relay.folded.completion
        async with aclosing(batched(pieces, relay.feed)) as batches:
            async for batch in batches:
                yield batch
        tail, error = relay.close()
        if tail:
            yield tail
        if error is not None:
            raise error
        completion = relay.folded.completion()
        await self._finished(completion, completion.get("usage"))

    async def _translated(self, events: Watched[Any]) -> AsyncGenerator[list[JSON], None]:
        builder = self._builder()
        self._progress = builder.completion
        async with aclosing(batched(events, builder.feed, builder.start())) as batches:
            async for batch in batches:
                yield batch
        if tail := builder.finish():
            yield tail
        await self._finished(builder.completion(), builder.usage)
