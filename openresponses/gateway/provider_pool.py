"""The provider-pool actor: one per provider, owning its HTTP client and connection limits.

Each model turn is a ``StreamTurn`` message; the actor runs it in its own task (concurrency =
the pool's connection limit) and streams normalized ``ModelEvent``s back to the asker. When the
asker goes away (client disconnect), the runtime cancels that task, which closes the upstream
connection at once.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any

import attrs
import httpx2
import orjson

from actors import Actor, StreamAsk
from openresponses.config import ProviderConfig
from openresponses.errors import AuthenticationFailed, GatewayError, UpstreamUnavailable
from openresponses.providers.base import WireProtocol
from openresponses.providers.errors import map_transport_error
from openresponses.providers.sse import SSEDecoder
from openresponses.schema.model_call import ModelCall
from openresponses.schema.model_events import ModelEvent

_JSON_HEADERS = {"content-type": "application/json", "accept": "application/json"}
_SSE_HEADERS = {"content-type": "application/json", "accept": "text/event-stream"}


@attrs.frozen
class UpstreamReady:
    """First item of every turn's stream: the upstream accepted the request (2xx)."""


READY = UpstreamReady()
TurnEvent = ModelEvent | UpstreamReady


@attrs.frozen
class StreamTurn(StreamAsk[TurnEvent]):
    """Run one model turn; ``client_key`` is the caller's bearer (used when the server has no
    key of its own for this provider)."""

    call: ModelCall
    client_key: str | None = attrs.field(default=None, repr=False)


class ProviderPool(Actor[StreamTurn]):
    """Owns one provider's ``httpx2.AsyncClient``; runs turns concurrently up to its limit."""

    def __init__(
        self,
        config: ProviderConfig,
        protocol: WireProtocol,
        transport: httpx2.AsyncBaseTransport | None = None,
    ) -> None:
        self.config = config
        self.protocol = protocol
        self.concurrency = config.max_connections
        self._transport = transport
        self._keys = itertools.cycle(config.api_keys) if config.api_keys else None
        self._client: httpx2.AsyncClient | None = None

    async def on_start(self) -> None:
        limits = httpx2.Limits(
            max_connections=self.config.max_connections,
            max_keepalive_connections=self.config.max_connections,
            keepalive_expiry=30.0,
        )
        timeout = httpx2.Timeout(self.config.read_timeout, connect=self.config.connect_timeout)
        self._client = httpx2.AsyncClient(
            base_url=self.config.base_url, limits=limits, timeout=timeout,
            transport=self._transport,
        )

    async def on_stop(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    async def receive(self, message: StreamTurn) -> AsyncIterator[TurnEvent]:
        return self._turn(message)

    def _headers(self, client_key: str | None, stream: bool) -> dict[str, str]:
        key = next(self._keys) if self._keys is not None else client_key
        headers = dict(_SSE_HEADERS if stream else _JSON_HEADERS)
        if key:
            headers.update(self.protocol.auth_headers(key))
        return headers

    async def _turn(self, message: StreamTurn) -> AsyncIterator[TurnEvent]:
        """Send the turn upstream and yield its normalized events.

        Upstream HTTP errors and transport failures are raised as ``GatewayError``s. Cancelled:
        the upstream response is closed (the connection is dropped, not returned to the pool).
        """
        assert self._client is not None
        call = message.call
        request = self.protocol.build_request(call)
        headers = self._headers(message.client_key, call.stream)
        headers.update(request.headers)
        body = orjson.dumps(request.body)
        try:
            if call.stream:
                async for event in self._stream(request.path, body, headers):
                    yield event
            else:
                events = await self._once(request.path, body, headers)
                yield READY
                for event in events:
                    yield event
        except httpx2.HTTPError as exc:
            raise map_transport_error(exc) from None

    async def _once(self, path: str, body: bytes, headers: dict[str, str]) -> list[ModelEvent]:
        assert self._client is not None
        response = await self._client.post(path, content=body, headers=headers)
        if response.status_code >= 400:
            raise self._error(response.status_code, response.content, response.headers)
        try:
            data: Any = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise UpstreamUnavailable("The upstream returned a body that is not JSON.") from None
        if not isinstance(data, dict):
            raise UpstreamUnavailable("The upstream returned an unexpected JSON body.")
        return self.protocol.translate_response(data)

    async def _stream(
        self, path: str, body: bytes, headers: dict[str, str]
    ) -> AsyncIterator[TurnEvent]:
        assert self._client is not None
        async with self._client.stream("POST", path, content=body, headers=headers) as response:
            if response.status_code >= 400:
                content = await response.aread()
                raise self._error(response.status_code, content, response.headers)
            yield READY
            decoder = SSEDecoder()
            translator = self.protocol.stream_translator()
            async with aclosing(response.aiter_bytes()) as chunks:
                async for chunk in chunks:
                    for sse in decoder.feed(chunk):
                        for event in translator.feed(sse.event, sse.data):
                            yield event
            for sse in decoder.close():
                for event in translator.feed(sse.event, sse.data):
                    yield event
            for event in translator.close():
                yield event

    def _error(self, status: int, body: bytes, headers: httpx2.Headers) -> GatewayError:
        error = self.protocol.map_error(status, body, headers)
        if isinstance(error, AuthenticationFailed) and not self.config.api_keys:
            error.message = f"The {self.config.name} provider rejected the credentials. " + (
                error.message
            )
        return error
