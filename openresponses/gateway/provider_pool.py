"""The provider-pool actor: one per provider, owning its HTTP client and connection limits.

Each model turn is a ``StreamTurn`` message; the actor runs it in its own task (concurrency =
the pool's connection limit) and streams normalized ``ModelEvent``s back to the asker (a
non-stream turn is a ``CallTurn``, answered with all its events in one reply). When the
asker goes away (client disconnect), the runtime cancels that task, which closes the upstream
connection at once. A ``RawRequest`` (Chat Completions passthrough, a provider's model list)
goes through the same loop, limits, retries and breaker, and relays the upstream answer as is
(a non-stream one is a ``CallRaw``). The messages are in ``gateway.pool_messages``.

Failures before the upstream accepted the request (connect errors, 429, 500, 502, 503, 529) are
retried per the ``RetryPolicy``; never once ``READY`` was sent. Server keys are used round-robin,
a key refused with 401 / 429 is benched and the call retried with the next one; a breaker opened
by repeated failures answers 503 at once for a cool-down (``gateway.resilience``).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import aclosing
from typing import Any, TypeVar, assert_never

import httpx2
import orjson
import trio

from actors import Actor
from openresponses.config import ProviderConfig
from openresponses.errors import (
    AuthenticationFailed,
    GatewayError,
    Overloaded,
    UpstreamUnavailable,
)
from openresponses.gateway.pool_messages import (
    READY,
    CallRaw,
    CallTurn,
    PoolMessage,
    RawItem,
    RawRequest,
    StreamTurn,
    TurnEvent,
    UpstreamReady,
)
from openresponses.gateway.resilience import (
    BREAKER_STATUSES,
    RETRY_STATUSES,
    BreakerOpen,
    CircuitBreaker,
    KeyRing,
    RetryPolicy,
)
from openresponses.gateway.upstream_body import body_chunks, compact_bytes
from openresponses.gateway.upstream_http import UpstreamHTTP
from openresponses.observability.metrics import (
    BREAKER_CLOSED,
    BREAKER_HALF_OPEN,
    BREAKER_OPEN,
    Metrics,
)
from openresponses.providers.base import WireProtocol
from openresponses.providers.errors import map_transport_error, retry_after
from openresponses.providers.sse import SSEDecoder

_JSON_HEADERS = {"content-type": "application/json", "accept": "application/json"}
_SSE_HEADERS = {"content-type": "application/json", "accept": "text/event-stream"}


_BREAKER_GAUGE = {"closed": BREAKER_CLOSED, "half-open": BREAKER_HALF_OPEN, "open": BREAKER_OPEN}


T = TypeVar("T")


class ProviderPool(Actor[PoolMessage]):
    """Owns one provider's HTTP connections (``UpstreamHTTP``); runs turns concurrently up to
    its limit."""

    def __init__(
        self,
        config: ProviderConfig,
        protocol: WireProtocol,
        transport: httpx2.AsyncBaseTransport | None = None,
        *,
        retry: RetryPolicy | None = None,
        breaker: CircuitBreaker | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.config = config
        self.protocol = protocol
        self.concurrency = config.max_connections
        self._keys = KeyRing(config.api_keys) if config.api_keys else None
        self._retry = retry or RetryPolicy()
        self._breaker = breaker or CircuitBreaker()
        self._metrics = metrics
        self._http = UpstreamHTTP(config, transport)

    async def on_start(self) -> None:
        self._http.open()

    async def on_stop(self) -> None:
        await self._http.aclose()

    async def receive(
        self, message: PoolMessage
    ) -> (AsyncIterator[TurnEvent | RawItem | UpstreamReady] | list[TurnEvent]
          | list[RawItem | UpstreamReady]):
        match message:
            case StreamTurn():
                return self._turn(message)
            case CallTurn():
                async with aclosing(self._turn(message)) as events:
                    return [event async for event in events]
            case RawRequest():
                return self._raw(message)
            case CallRaw():
                async with aclosing(self._raw(message)) as items:
                    return [item async for item in items]
            case _:
                assert_never(message)

    def _headers(self, key: str | None, stream: bool) -> dict[str, str]:
        headers = dict(_SSE_HEADERS if stream else _JSON_HEADERS)
        if key:
            headers.update(self.protocol.auth_headers(key))
        return headers

    def _turn(self, message: StreamTurn | CallTurn) -> AsyncGenerator[TurnEvent, None]:
        """Send the turn upstream (retrying failures before ``READY``); its events.

        Upstream HTTP errors and transport failures are raised as ``GatewayError``s; an open
        breaker as a 503. Cancelled (also while waiting to retry): the upstream response is
        closed (the connection is dropped, not returned to the pool).
        """
        call = message.call
        request = self.protocol.build_request(call)
        body = compact_bytes(orjson.dumps({**request.body, **message.extra_body}))

        # Each event passes every generator between the socket and the consumer: the
        # attempt is the stream itself, with no wrapper generator of its own.
        def attempt(headers: dict[str, str]) -> AsyncGenerator[TurnEvent, None]:
            if call.stream:
                return self._stream(request.path, body, headers)
            return self._once(request.path, body, headers)

        return self._retrying(message.client_key, call.stream, request.headers, attempt)

    def _raw(self, message: RawRequest | CallRaw) -> AsyncGenerator[RawItem | UpstreamReady, None]:
        """Send a ``RawRequest`` (retried like a turn); the answer as it comes."""
        body = None if message.body is None else compact_bytes(orjson.dumps(message.body))

        def attempt(headers: dict[str, str]) -> AsyncGenerator[RawItem | UpstreamReady, None]:
            return self._raw_attempt(message, body, headers)

        return self._retrying(message.client_key, message.stream, {}, attempt)

    async def _retrying(
        self,
        client_key: str | None,
        stream: bool,
        extra_headers: dict[str, str],
        attempt: Callable[[dict[str, str]], AsyncGenerator[T, None]],
    ) -> AsyncGenerator[T, None]:
        """Run ``attempt(headers)`` (``READY`` first, then items) until one is accepted,
        retrying failures before ``READY`` per the policy."""
        attempt_no = 0
        while True:
            key = self._keys.take() if self._keys is not None else client_key
            headers = self._headers(key, stream)
            headers.update(extra_headers)
            started = False
            try:
                self._breaker.check()
                async with aclosing(attempt(headers)) as it:
                    async for event in it:
                        if event is READY:
                            started = True
                            self._breaker_outcome(ok=True)
                        yield event
                return
            except BreakerOpen as exc:
                raise Overloaded(
                    f"The {self.config.name} provider is failing; calls to it are paused.",
                    code="circuit_open", retry_after=exc.retry_after,
                ) from None
            except (_Refused, httpx2.HTTPError) as exc:
                attempt_no += 1
                wait = None if started else self._retry_wait(exc, key, attempt_no)
                if wait is None:
                    raise _as_gateway_error(exc) from None
                if self._metrics is not None:
                    self._metrics.retries.labels(provider=self.config.name).inc()
            await trio.sleep(wait)

    def _breaker_outcome(self, *, ok: bool) -> None:
        """Tell the breaker how a call went; mirror a change of its state in the metrics."""
        before = self._breaker.state
        if ok:
            self._breaker.success()
        else:
            self._breaker.failure()
        after = self._breaker.state
        if self._metrics is None or after == before:
            return
        name = self.config.name
        self._metrics.breaker_state.labels(provider=name).set(_BREAKER_GAUGE[after])
        if after == "open":
            self._metrics.breaker_trips.labels(provider=name).inc()

    def _retry_wait(self, exc: Exception, key: str | None, attempt: int) -> float | None:
        """Record the failure (breaker, key bench); seconds to wait before retrying, or None."""
        if isinstance(exc, httpx2.HTTPError):
            self._breaker_outcome(ok=False)
            if not isinstance(exc, httpx2.ConnectError | httpx2.ConnectTimeout):
                return None
            return self._retry.delay(attempt, None)
        assert isinstance(exc, _Refused)
        if exc.status in BREAKER_STATUSES:
            self._breaker_outcome(ok=False)
        if self._keys is not None and key is not None and exc.status in (401, 429):
            self._keys.bench(key, exc.status, exc.retry_after)
            if self._keys.available() and attempt <= self._retry.retries:
                return 0.0  # another key is ready: no reason to wait
        if exc.status not in RETRY_STATUSES:
            return None
        return self._retry.delay(attempt, exc.retry_after)

    async def _raw_attempt(
        self, message: RawRequest | CallRaw, body: bytes | None, headers: dict[str, str]
    ) -> AsyncGenerator[RawItem | UpstreamReady, None]:
        """One raw request: ``READY`` then the JSON body, or the stream's bytes."""
        if not message.stream:
            data = await self._json(message.method, message.path, body, headers)
            yield READY
            yield data
            return
        async with self._http.stream(message.method, message.path, body, headers) as response:
            if response.status_code >= 400:
                content = await response.aread()
                raise self._refused(response.status_code, content, response.headers)
            yield READY
            async with aclosing(body_chunks(response)) as chunks:
                async for chunk in chunks:
                    yield chunk

    async def _once(
        self, path: str, body: bytes, headers: dict[str, str]
    ) -> AsyncGenerator[TurnEvent, None]:
        """One non-stream request: ``READY`` then the events; ``_Refused`` for an HTTP error."""
        events = self.protocol.translate_response(await self._json("POST", path, body, headers))
        yield READY
        for event in events:
            yield event

    async def _json(
        self, method: str, path: str, body: bytes | None, headers: dict[str, str]
    ) -> dict[str, Any]:
        """A JSON answer; ``_Refused`` for an HTTP error, 502 for a body that is not JSON."""
        response = await self._http.read(method, path, body, headers)
        if response.status_code >= 400:
            raise self._refused(response.status_code, response.content, response.headers)
        try:
            data: Any = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise UpstreamUnavailable("The upstream returned a body that is not JSON.") from None
        if not isinstance(data, dict):
            raise UpstreamUnavailable("The upstream returned an unexpected JSON body.")
        return data

    async def _stream(
        self, path: str, body: bytes, headers: dict[str, str]
    ) -> AsyncGenerator[TurnEvent, None]:
        """One stream request: ``READY`` then the events; ``_Refused`` for an HTTP error."""
        async with self._http.stream("POST", path, body, headers) as response:
            if response.status_code >= 400:
                content = await response.aread()
                raise self._refused(response.status_code, content, response.headers)
            yield READY
            decoder = SSEDecoder()
            translator = self.protocol.stream_translator()
            async with aclosing(body_chunks(response)) as chunks:
                async for chunk in chunks:
                    for sse in decoder.feed(chunk):
                        for event in translator.feed(sse.event, sse.data):
                            yield event
            for sse in decoder.close():
                for event in translator.feed(sse.event, sse.data):
                    yield event
            for event in translator.close():
                yield event

    def _refused(self, status: int, body: bytes, headers: httpx2.Headers) -> _Refused:
        error = self.protocol.map_error(status, body, headers)
        if isinstance(error, AuthenticationFailed) and not self.config.api_keys:
            error.message = f"The {self.config.name} provider rejected the credentials. " + (
                error.message
            )
        return _Refused(status, error, retry_after(headers))


class _Refused(Exception):
    """The upstream answered an HTTP error (before any output); ``error`` is it mapped."""

    def __init__(self, status: int, error: GatewayError, retry_after: float | None) -> None:
        super().__init__(status)
        self.status = status
        self.error = error
        self.retry_after = retry_after


def _as_gateway_error(exc: Exception) -> GatewayError:
    return exc.error if isinstance(exc, _Refused) else map_transport_error(exc)
