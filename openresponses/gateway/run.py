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
from contextlib import aclosing, asynccontextmanager
from typing import Any

import attrs
import trio

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
from openresponses.gateway.chain_cache import History
from openresponses.gateway.compaction_items import expand_context, has_compaction
from openresponses.gateway.context_reads import ContextReads
from openresponses.gateway.group_commit import GroupCommit
from openresponses.gateway.pool_messages import PoolMessage, StreamTurn, TurnEvent
from openresponses.gateway.rate_limiter import LimiterMessage
from openresponses.gateway.resilience import falls_back
from openresponses.gateway.response_object import response_skeleton
from openresponses.gateway.storage import StorageMessage, load_context, save_response
from openresponses.gateway.tool_loop import (
    approval_request,
    declined,
    finish_calls,
    interrupted_calls,
    list_mcp_tools,
    pending_approvals,
    start_calls,
    within_budget,
)
from openresponses.gateway.tool_runner import ToolMessage
from openresponses.gateway.turn_source import turn_events
from openresponses.gateway.upstream_call import model_call
from openresponses.observability.observer import Ops, Watched
from openresponses.providers.unsupported import refuse_openai_prompt
from openresponses.schema.ids import new_id
from openresponses.schema.model_call import Item
from openresponses.schema.request import CreateResponse
from openresponses.store.base import StoredResponse
from openresponses.tools.base import ServerToolSpec, ToolCallRequest
from openresponses.tools.toolset import adapt_input, build_toolset

logger = logging.getLogger("openresponses.run")


@attrs.frozen
class Gateway:
    """The actors a run talks to, built at start-up and handed to the routes."""

    config: Config
    providers: dict[str, ActorRef[PoolMessage]]
    storage: ActorRef[StorageMessage]
    tools: ActorRef[ToolMessage] | None = None
    limiter: ActorRef[LimiterMessage] | None = None  # None: no rate limits
    background: ActorRef[Any] | None = None  # BackgroundRunner (gateway.background)
    clock: Callable[[], float] = time.time
    ops: Ops = attrs.Factory(Ops)  # metrics, shutdown drain, actor statistics
    commits: GroupCommit | None = None  # the storage actor's batch, joined directly
    reads: ContextReads | None = None  # the storage actor's chain cache, read directly


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


def resolve_targets(gateway: Gateway, model: str) -> list[tuple[str, str]]:
    """A model alias (``[models.NAME]``) → its targets, in order; else ``[resolve_model]``."""
    targets = gateway.config.models.get(model, (model,))
    return [resolve_model(gateway, target) for target in targets]


async def load_history(gateway: Gateway, caller: Caller, previous_id: str | None) -> list[Item]:
    """The items of the whole chain ending at ``previous_id`` (inputs then outputs, oldest
    first). Raises ``PreviousResponseNotFound`` for an unknown or foreign id."""
    if previous_id is None:
        return []
    items = await load_context(gateway.storage, gateway.reads, caller.owner, previous_id)
    if items is None:
        raise PreviousResponseNotFound(previous_id)
    return items


def as_gateway_error(exc: Exception) -> GatewayError:
    """An upstream-side failure as a ``GatewayError``; anything unexpected (a translation bug)
    is logged with its traceback and shown as a 502 without detail."""
    if isinstance(exc, GatewayError):
        return exc
    logger.exception("unexpected error while translating an upstream response")
    return UpstreamUnavailable("The upstream response could not be translated.")


class ResponseRun:
    """Drives one response: model turn → server tools → model turn …, building events, then
    storing the result."""

    def __init__(self, gateway: Gateway, caller: Caller, request: CreateResponse, *,
                 history: list[Item] | None = None) -> None:
        self.gateway = gateway
        self.caller = caller
        self.request = request
        self.targets = resolve_targets(gateway, request.model)  # several: an alias
        self.provider, self.model = self.targets[0]
        self.api = gateway.config.providers[self.provider].api
        refuse_openai_prompt(request.extra, self.api)
        self.settings = gateway.config.tools
        self.toolset = build_toolset(request.tools, api=self.api, settings=self.settings)
        created_at = int(gateway.clock())
        # A non-stream response's events are drained unread (routes/responses.py, compaction):
        # build only its final object. Background and WebSocket turns always stream.
        self.builder = ResponseBuilder(
            response_skeleton(request, response_id=new_id("resp"), created_at=created_at),
            server_tools=frozenset(self.toolset.server), renamed=self.toolset.renamed,
            quiet=not request.stream,
        )
        self.tool_calls = 0
        self._started = False  # whether response.created went out
        self._approvals: list[tuple[ServerToolSpec, ToolCallRequest, bool]] = []
        self._interrupted: list[Item] = []
        # The context before this input, when the caller has it (a conversation, a WebSocket's
        # last response); None: load the previous_response_id chain.
        self.history = history
        # Output items that precede the first model turn (an automatic compaction): streamed
        # first, and part of the model's context after the input.
        self.lead_items: list[Item] = []

    @property
    def response(self) -> dict[str, Any]:
        return self.builder.response

    @property
    def warnings(self) -> list[str]:
        """Why some requested tools were not offered (for a response header and the log)."""
        return self.toolset.warnings

    async def events(self) -> AsyncGenerator[list[Event], None]:
        """Yield batches of Responses events; see the module docstring for the guarantees."""
        history = self.history
        if history is None:
            history = await load_history(self.gateway, self.caller,
                                         self.request.previous_response_id)
        listed = await self._prepare_tools(history)
        context = await self._context(history)
        try:
            async with aclosing(self._loop(context, listed)) as batches:
                async for batch in batches:
                    yield batch
        except MailboxFull:
            message = f"The {self.provider} provider is at capacity; retry shortly."
            raise Overloaded(message) from None

    async def _context(self, history: list[Item]) -> list[Item]:
        """History and input as the provider gets them: compaction items expanded into
        summary messages, then reshaped for its api (``adapt_input``). A plain cached history
        (``chain_cache.History``) is taken as it is, unless the input holds a compaction item
        (which may drop what came before it)."""
        head = [*self.request.input, *self.lead_items]
        if isinstance(history, History) and history.plain and not has_compaction(head):
            return [*history, *adapt_input(head, self.api)]
        items = await expand_context(self.gateway.storage, [*history, *head], api=self.api)
        return adapt_input(items, self.api)

    async def _prepare_tools(self, history: list[Item]) -> list[dict[str, Any]]:
        """List MCP servers' tools; returns the new ``mcp_list_tools`` items to show."""
        if not self.toolset.mcp_tools:
            return []
        runner = self._runner()
        listed = await list_mcp_tools(runner, self.toolset.mcp_tools, history, self.settings)
        self.toolset = self.toolset.with_mcp_tools(listed.specs)
        self.builder.add_server_tools(self.toolset.server)
        self._approvals = pending_approvals(self.request.input, history, self.toolset.server)
        # What ran beside the calls that waited for approval (none answered it since).
        self._interrupted = interrupted_calls(history) if self._approvals else []
        return listed.items

    def _runner(self) -> ActorRef[ToolMessage]:
        if self.gateway.tools is None:
            raise InvalidRequest("Server-side tools are not available on this gateway.",
                                 param="tools")
        return self.gateway.tools

    async def _loop(self, context: list[Item], listed: list[dict[str, Any]]
                    ) -> AsyncGenerator[list[Event], None]:
        builder = self.builder
        first = True
        # response.created/in_progress come first; they are sent with what precedes the first
        # model turn (MCP listings, approved calls) once the upstream has accepted it.
        prelude = (builder.start() + builder.add_items(self.lead_items, keep_ids=True)
                   + builder.add_items(listed))
        try:
            context += await self._approved(prelude)
            for _ in range(self.settings.max_iterations):
                builder.begin_turn()
                async with aclosing(self._model_turn(context, first, prelude)) as turn:
                    async for batch in turn:
                        yield batch
                first = False
                events, calls = builder.end_turn()
                context += [i for i in builder.response["output"][builder.turn_start:]]
                if events:
                    yield events
                if not calls:
                    if builder.finish_reason == "pause":
                        continue  # a paused turn (Anthropic pause_turn): send it back, go on
                    break
                calls, ignored = self._within_budget(calls)
                waiting = [c for c in calls if self._needs_approval(c)]
                runnable = [c for c in calls if c not in waiting]
                if runnable:  # those needing no approval run now, the others wait for it
                    self.tool_calls += len(runnable)
                    started = start_calls(builder, [(self.toolset.server[c.name], c)
                                                    for c in runnable])
                    yield started.events
                    done, more = await finish_calls(self._runner(), builder, started,
                                                    include_sources=self._sources())
                    yield done
                    context += more
                context += ignored  # after the calls run: the model's order
                if waiting:
                    yield self._approval_requests(waiting)
                    break
                if builder.client_calls_this_turn():
                    break  # the client answers its own calls, then continues the chain
            else:
                builder.set_incomplete("max_tool_iterations")
        except GatewayError as error:
            if not self._started:
                raise  # nothing was sent yet: a plain HTTP error
            yield await self._failed(error)
            return
        except Exception as exc:
            if not self._started:
                raise as_gateway_error(exc) from None
            yield await self._failed(as_gateway_error(exc))
            return
        final = builder.finish(int(self.gateway.clock()))
        await self._save()
        yield final

    async def _model_turn(self, context: list[Item], first: bool, prelude: list[Event]
                          ) -> AsyncGenerator[list[Event], None]:
        """The turn's event batches. Events that arrived together (one upstream read) make
        one batch, so a stream sends them in one write; the first turn's batch leads with
        ``prelude``."""
        async with self._upstream(context, first) as upstream:
            self._started = self._started or first
            out, error = self._feed(upstream.ready(), prelude if first else [])
            while True:
                if out:
                    yield out
                if error is not None:
                    raise error  # after the events before it, as when they went one by one
                try:
                    event = await upstream.receive()
                except trio.EndOfChannel:
                    return
                out, error = self._feed([event, *upstream.ready()], [])

    def _feed(self, events: list[TurnEvent], out: list[Event]
              ) -> tuple[list[Event], Exception | None]:
        """``out`` plus the events built from ``events``; a failure stops there and is
        returned with what was built before it."""
        out = list(out)
        for event in events:
            try:
                out += self.builder.feed(event)  # type: ignore[arg-type]  # not READY
            except Exception as exc:
                return out, exc
        return out, None

    @asynccontextmanager
    async def _upstream(self, context: list[Item], first: bool
                        ) -> AsyncIterator[Watched[TurnEvent]]:
        """The model turn's upstream, past READY. On the first turn of a model alias, a target
        that fails before answering hands over to the next one (``[models.NAME] targets``)."""
        targets = self.targets if first else [(self.provider, self.model)]
        for n, (self.provider, self.model) in enumerate(targets, start=1):
            call = model_call(self.request, self.provider, self.model, context, self.toolset,
                              self.api)
            turn = StreamTurn(call, self.caller.bearer)
            pool = self.gateway.providers[self.provider]
            try:
                async with self.gateway.ops.turn(self.provider, self.model, turn_events(
                        pool, turn, nowait=first)) as upstream:
                    try:  # upstream errors before it accepted the request become HTTP errors
                        await anext(upstream)  # READY
                    except StopAsyncIteration:
                        raise UpstreamUnavailable("The upstream closed before answering.") from None
                    except GatewayError as exc:
                        if n == len(targets) or not falls_back(exc.status):
                            raise
                        logger.warning("%s failed (%s); falling back", self.provider, exc.status)
                        continue
                    yield upstream
                    return
            except MailboxFull:  # the provider's mailbox is full: shed at once (503)
                if n == len(targets):
                    raise Overloaded(
                        f"The {self.provider} provider is at capacity; retry shortly.") from None
                logger.warning("%s is at capacity; falling back", self.provider)

    async def _approved(self, prelude: list[Event]) -> list[Item]:
        """Context items for MCP calls the client approved (run now) or declined."""
        approvals = self._approvals
        if not approvals:
            return []
        context = list(self._interrupted)
        runnable = []
        for spec, call, approve in approvals:
            if approve:
                runnable.append((spec, call))
            else:
                context += declined(call)
        if runnable:
            started = start_calls(self.builder, runnable)
            done, more = await finish_calls(self._runner(), self.builder, started,
                                            include_sources=self._sources())
            prelude += started.events + done
            context += more
        return context

    def _within_budget(self, calls: list[ToolCallRequest]
                       ) -> tuple[list[ToolCallRequest], list[Item]]:
        """``tool_loop.within_budget``; once the budget is spent, the gateway's tools are no
        longer offered, so the model answers."""
        allowed, ignored, spent = within_budget(calls, self.tool_calls,
                                                self.request.max_tool_calls)
        if spent:
            self.toolset = self.toolset.without_server_tools()
        return allowed, ignored

    def _approval_requests(self, calls: list[ToolCallRequest]) -> list[Event]:
        """The MCP approval requests of ``calls``, added to the output (the response ends)."""
        requests = [approval_request(self.toolset.server[c.name], c) for c in calls]
        return self.builder.add_items(requests, keep_ids=True)

    def _needs_approval(self, call: ToolCallRequest) -> bool:
        spec = self.toolset.server[call.name]
        if spec.kind != "mcp":
            return False
        return bool(spec.options["server"].needs_approval(spec.options["tool"]))

    def _sources(self) -> bool:
        return "web_search_call.action.sources" in self.request.include

    async def _failed(self, error: GatewayError) -> list[Event]:
        final = self.builder.fail(error)
        await self._save()
        return final

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
            replaces=self.request.background,  # stored ``queued`` first; maybe deleted since
        )
        await save_response(self.gateway.storage, self.gateway.commits, record)
