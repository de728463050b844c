"""A ``Turn``: one ``ResponseRun`` set up with its history, its conversation and compaction.

Shared by every way of creating a response (HTTP, background, WebSocket). ``prepare_turn``
resolves the history eagerly, so a bad reference fails before anything starts: the items of a
``conversation`` (404 if unknown; not combinable with ``previous_response_id``), the
WebSocket's cached last response, or the stored ``previous_response_id`` chain.
``Turn.events()`` then compacts past ``context_management``'s threshold (the compaction item
leads the output), runs the response (rate-limit metered) and, once it is stored ``completed``
or ``incomplete``, appends its input and output to the conversation before the final batch
goes out.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Any

import attrs
import trio

from openresponses.auth import Caller
from openresponses.errors import GatewayError, InvalidRequest, NotFound, shown
from openresponses.gateway.builder import Event
from openresponses.gateway.compaction import auto_compaction
from openresponses.gateway.compaction_items import check_sealed
from openresponses.gateway.rate_limiter import charge_tokens, metered
from openresponses.gateway.response_object import usage_of
from openresponses.gateway.run import Gateway, ResponseRun, load_history
from openresponses.gateway.storage_conversations import AddConversationItems, LoadConversation
from openresponses.gateway.token_count import estimate_tokens
from openresponses.schema.items import check_unique_ids
from openresponses.schema.model_call import Item
from openresponses.schema.request import CreateResponse
from openresponses.store.base import StoredResponse

Cached = tuple[str, list[Item]]  # (response id, its whole context): a WebSocket's memory
_KEPT = ("completed", "incomplete")


def conversation_not_found(conversation_id: str) -> NotFound:
    return NotFound(f"Conversation with id '{conversation_id}' not found.",
                    param="conversation")


async def resolve_history(gateway: Gateway, caller: Caller, request: CreateResponse,
                          cached: Cached | None = None) -> list[Item]:
    """The items before this request's input (see the module docstring)."""
    previous = request.previous_response_id
    if request.conversation is not None:
        if previous is not None:
            raise InvalidRequest("'conversation' and 'previous_response_id' cannot be used "
                                 "together.", param="previous_response_id")
        items = await gateway.storage.ask(LoadConversation(caller.owner, request.conversation))
        if items is None:
            raise conversation_not_found(request.conversation)
        # The turn's input joins the conversation: an id it holds would drop that input item.
        check_unique_ids(request.input, "input", known={item["id"] for item in items})
        return items
    if previous is not None and cached is not None and cached[0] == previous:
        return list(cached[1])
    return await load_history(gateway, caller, previous)


@attrs.define
class Turn:
    """A prepared response; iterate ``events()`` once."""

    gateway: Gateway
    caller: Caller
    run: ResponseRun
    history: list[Item]

    @property
    def response(self) -> dict[str, Any]:
        return self.run.response

    @property
    def request(self) -> CreateResponse:
        return self.run.request

    def context(self) -> list[Item]:
        """History, input and output: what a continuation of this response starts from."""
        return [*self.history, *self.request.input, *self.response["output"]]

    def record(self, response: dict[str, Any]) -> StoredResponse:
        """``response`` stored as this turn's (the same record the run saves)."""
        return StoredResponse(
            id=response["id"], owner=self.caller.owner, response=response,
            input_items=self.request.input, previous_response_id=self.request.previous_response_id,
            created_at=response["created_at"],
        )

    def fail_before_start(self, error: GatewayError) -> list[Event]:
        """The events of a response that failed before it started: created, then failed."""
        builder = self.run.builder
        builder.rewind()  # the run built its opening events before the upstream refused
        return builder.start() + builder.fail(error)

    def snapshot(self) -> dict[str, Any]:
        return copy.deepcopy(self.response)

    def _spent(self) -> int:
        """The tokens read and written so far, estimated (characters / 4): what a run its
        client abandoned is charged (``metered``)."""
        read = estimate_tokens([*self.history, *self.request.input], self.request.instructions)
        return read + estimate_tokens(self.response["output"])

    async def events(self) -> AsyncGenerator[list[Event], None]:
        """The run's event batches (see the module docstring). Cancellation: as the run's."""
        summarized: dict[str, Any] | None = None
        if self.request.compact_threshold is not None:
            compaction = await auto_compaction(self.gateway, self.caller, self.request,
                                               self.history)
            if compaction is not None:
                item, summarized = compaction
                self.run.lead_items = [item]
                # The summarizing call's tokens are the response's too (usage, token limits).
                self.run.builder.feed(usage_of(summarized))
        batches = metered(self.gateway.limiter, self.caller.owner, self.caller.limits, self.run,
                          self._spent)
        try:
            async with aclosing(batches) as stream:
                async for batch in stream:
                    if self.request.conversation is not None and _final(batch):
                        await self._append_to_conversation(self.request.conversation)
                    yield batch
        except GatewayError:  # refused before it started: the summarizing call still ran
            if summarized is not None:
                charge_tokens(self.gateway.limiter, self.caller.owner, self.caller.limits,
                              summarized)
            raise

    async def _append_to_conversation(self, conversation_id: str) -> None:
        """Add the input and output of a kept response; shielded (the response is stored)."""
        if self.response.get("status") not in _KEPT:
            return
        items = [*self.request.input, *self.response["output"]]
        with trio.CancelScope(shield=True):
            await self.gateway.storage.ask(
                AddConversationItems(self.caller.owner, conversation_id, items))


def check_references(items: list[Item], history: list[Item]) -> None:
    """400 for an ``item_reference`` naming no item of the turn's context (the history, or an
    earlier input item). One that does names an item the model already gets, since the
    gateway sends each turn's whole context: providers skip the reference itself. It was
    dropped whatever it named, so a reference to an item outside the chain lost it."""
    if not any(item.get("type") == "item_reference" for item in items):
        return
    known = {item.get("id") for item in history}
    for i, item in enumerate(items):
        if item.get("type") == "item_reference" and item["id"] not in known:
            raise InvalidRequest(
                f"Item with id '{shown(item['id'])}' not found in this response's context: an "
                "item_reference may name an item of the previous_response_id chain or of the "
                "conversation; send any other item itself.", param=f"input[{i}].id",
                code="invalid_value")
        known.add(item["id"])


def _final(batch: list[Event]) -> bool:
    return bool(batch) and batch[-1]["type"] in (
        "response.completed", "response.incomplete", "response.failed")


async def prepare_turn(gateway: Gateway, caller: Caller, request: CreateResponse, *,
                       cached: Cached | None = None) -> Turn:
    """A ``Turn`` for ``request``: history resolved, run built (400 for a bad model or tool).

    Raises ``PreviousResponseNotFound``, ``NotFound`` (conversation) or ``InvalidRequest``.
    """
    history = await resolve_history(gateway, caller, request, cached)
    check_references(request.input, history)
    await check_sealed(gateway.storage, request.input, "input")  # before any run starts
    run = ResponseRun(gateway, caller, request, history=history)  # quiet unless it streams
    if request.conversation is not None:
        run.response["conversation"] = {"id": request.conversation}
    return Turn(gateway=gateway, caller=caller, run=run, history=history)
