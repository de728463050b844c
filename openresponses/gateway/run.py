"""One response, from validated request to stored result: the run.

``ResponseRun.events()`` is an async generator of event batches. Its first batch is produced
only once the upstream has answered (so an upstream error before any output becomes a plain HTTP
error); after that, failures end the stream with ``error`` + ``response.failed``. The final
batch is yielded only after the response is durably stored. SSE, WebSocket and non-stream
rendering all consume this one generator.

Cancellation: closing or cancelling the generator cancels the upstream call; nothing is stored
for a response the client abandoned.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import aclosing
from typing import Any

import attrs

from actors import ActorRef, MailboxFull
from openresponses.auth import Caller
from openresponses.config import Config
from openresponses.errors import (
    GatewayError,
    InvalidRequest,
    Overloaded,
    PreviousResponseNotFound,
    UpstreamUnavailable,
)
from openresponses.gateway.builder import Event, ResponseBuilder
from openresponses.gateway.provider_pool import StreamTurn, TurnEvent
from openresponses.gateway.response_object import response_skeleton
from openresponses.gateway.storage import LoadChain, SaveResponse, StorageMessage
from openresponses.schema.ids import new_id
from openresponses.schema.model_call import Item, ModelCall
from openresponses.schema.request import CreateResponse
from openresponses.store.base import StoredResponse

logger = logging.getLogger("openresponses.run")


@attrs.frozen
class Gateway:
    """The actors a run talks to, built at start-up and handed to the routes."""

    config: Config
    providers: dict[str, ActorRef[StreamTurn]]
    storage: ActorRef[StorageMessage]
    clock: Callable[[], float] = time.time


def resolve_model(gateway: Gateway, model: str) -> tuple[str, str]:
    """``provider@model`` → (configured provider name, upstream model). 400 on ``model``."""
    prefix, sep, name = model.partition("@")
    provider = gateway.config.provider(prefix) if sep else None
    if not sep or not name:
        raise InvalidRequest(
            f"Invalid model '{model}': use 'provider@model', e.g. 'openai@gpt-4o'.",
            param="model", code="model_not_found",
        )
    if provider is None or provider.name not in gateway.providers:
        known = ", ".join(sorted(gateway.providers))
        raise InvalidRequest(
            f"Unknown provider '{prefix}' in model '{model}'. Configured providers: {known}.",
            param="model", code="model_not_found",
        )
    return provider.name, name


async def load_history(gateway: Gateway, caller: Caller, previous_id: str | None) -> list[Item]:
    """The items of the whole chain ending at ``previous_id`` (inputs then outputs, oldest
    first). Raises ``PreviousResponseNotFound`` for an unknown or foreign id."""
    if previous_id is None:
        return []
    chain = await gateway.storage.ask(LoadChain(owner=caller.owner, response_id=previous_id))
    if chain is None:
        raise PreviousResponseNotFound(previous_id)
    items: list[Item] = []
    for record in chain:
        items += record.input_items
        items += record.response["output"]
    return items


def model_call(request: CreateResponse, provider: str, model: str, items: list[Item]) -> ModelCall:
    return ModelCall(
        provider=provider, model=model, input=items, instructions=request.instructions,
        tools=request.tools, tool_choice=request.tool_choice,
        parallel_tool_calls=request.parallel_tool_calls if request.tools else None,
        temperature=request.temperature, top_p=request.top_p,
        max_output_tokens=request.max_output_tokens,
        text_format=None if request.text_format.get("type") == "text" else request.text_format,
        reasoning=request.reasoning, metadata=request.metadata or None, user=request.user,
        stream=request.stream, extra=request.extra,
    )


def as_gateway_error(exc: Exception) -> GatewayError:
    """An upstream-side failure as a ``GatewayError``; anything unexpected (a translation bug)
    is logged with its traceback and shown as a 502 without detail."""
    if isinstance(exc, GatewayError):
        return exc
    logger.exception("unexpected error while translating an upstream response")
    return UpstreamUnavailable("The upstream response could not be translated.")


class ResponseRun:
    """Drives one response: model turn(s), event building, storage."""

    def __init__(self, gateway: Gateway, caller: Caller, request: CreateResponse) -> None:
        self.gateway = gateway
        self.caller = caller
        self.request = request
        self.provider, self.model = resolve_model(gateway, request.model)
        created_at = int(gateway.clock())
        self.builder = ResponseBuilder(
            response_skeleton(request, response_id=new_id("resp"), created_at=created_at)
        )

    @property
    def response(self) -> dict[str, Any]:
        return self.builder.response

    async def events(self) -> AsyncGenerator[list[Event], None]:
        """Yield batches of Responses events; see the module docstring for the guarantees."""
        history = await load_history(self.gateway, self.caller, self.request.previous_response_id)
        call = model_call(self.request, self.provider, self.model, history + self.request.input)
        pool = self.gateway.providers[self.provider]
        try:
            async with pool.stream(StreamTurn(call, self.caller.bearer), buffer=64,
                                   nowait=True) as upstream:
                async with aclosing(self._turn_events(upstream)) as batches:
                    async for batch in batches:
                        yield batch
        except MailboxFull:
            message = f"The {self.provider} provider is at capacity; retry shortly."
            raise Overloaded(message) from None

    async def _turn_events(
        self, upstream: AsyncIterator[TurnEvent]
    ) -> AsyncGenerator[list[Event], None]:
        builder = self.builder
        try:  # upstream errors before it accepted the request become HTTP errors
            await anext(upstream)  # READY
        except StopAsyncIteration:
            raise UpstreamUnavailable("The upstream closed the stream before answering.") from None
        except Exception as exc:
            raise as_gateway_error(exc) from None
        yield builder.start()
        try:
            async for event in upstream:
                out = builder.feed(event)  # type: ignore[arg-type]  # only READY is not a ModelEvent
                if out:
                    yield out
        except Exception as exc:
            final = builder.fail(as_gateway_error(exc))
            await self._save()
            yield final
            return
        final = builder.finish(int(self.gateway.clock()))
        await self._save()
        yield final

    async def _save(self) -> None:
        """Store the response and its input items; returns once durable."""
        if not self.request.store:
            return
        response = self.builder.response
        record = StoredResponse(
            id=response["id"], owner=self.caller.owner, response=response,
            input_items=self.request.input,
            previous_response_id=self.request.previous_response_id,
            created_at=response["created_at"],
        )
        await self.gateway.storage.ask(SaveResponse(record))
