"""A misbehaving Chat Completions upstream on raw trio sockets, for fault tests.

Each connection takes the next queued ``Fault`` (default ``ok``) and acts it out on the wire:
answer properly, reset the connection mid-stream, send malformed SSE or bytes that are not
HTTP, stall, answer 5xx, hold until released. Every answer closes the connection afterwards
(no keep-alive), so ``open_connections`` counts exactly the connections the gateway has not
closed yet: a test waits for it to reach 0 to prove nothing leaked.
"""

from __future__ import annotations

import json
import socket
import struct
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Literal

import attrs
import trio

from tests.fakes.script import Script, chat_body, chat_stream

Fault = Literal[
    "ok", "slow", "reset", "malformed", "garbage", "stall", "stall_headers", "5xx", "hold"
]
_SSE_HEAD = (b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
             b"transfer-encoding: chunked\r\nconnection: close\r\n\r\n")


def chunk(data: bytes) -> bytes:
    """One HTTP/1.1 chunk."""
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


async def read_request(stream: trio.SocketStream) -> bytes | None:
    """Read one request (head + content-length body); None if the peer closed first."""
    data = b""
    while b"\r\n\r\n" not in data:
        more = await stream.receive_some(65536)
        if not more:
            return None
        data += more
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        more = await stream.receive_some(65536)
        if not more:
            return None
        body += more
    return body


async def wait_closed(stream: trio.SocketStream) -> None:
    """Wait until the peer closes (or resets) the connection."""
    try:
        while await stream.receive_some(65536):
            pass
    except trio.BrokenResourceError:
        pass


def abort(stream: trio.SocketStream) -> None:
    """Close with a TCP reset instead of a clean FIN."""
    stream.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


@attrs.define
class FaultyUpstream:
    """Serves queued faults on 127.0.0.1; ``url`` is its base URL once serving."""

    faults: deque[Fault] = attrs.Factory(deque)
    default: Fault = "ok"  # when nothing is queued
    release: trio.Event = attrs.Factory(trio.Event)  # ends ``hold``
    url: str = ""
    open_connections: int = 0
    requests: int = 0
    script: Script = attrs.Factory(lambda: Script(text="All good here.", chunks=3))
    _idle: trio.Event = attrs.Factory(trio.Event)

    def queue(self, *faults: Fault) -> None:
        self.faults.extend(faults)

    async def all_closed(self) -> None:
        """Wait until the gateway has closed every connection it opened."""
        if self.open_connections:
            await self._idle.wait()

    async def serve(self, *, task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED) -> None:
        listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
        port = listeners[0].socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        task_status.started(self.url)
        await trio.serve_listeners(self._handle, listeners)

    async def _handle(self, stream: trio.SocketStream) -> None:
        self.open_connections += 1
        if self._idle.is_set():
            self._idle = trio.Event()
        try:
            async with stream:
                body = await read_request(stream)
                if body is None:
                    return
                self.requests += 1
                fault = self.faults.popleft() if self.faults else self.default
                stream_mode = bool(json.loads(body).get("stream"))
                await self._act(fault, stream, stream_mode)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass
        finally:
            self.open_connections -= 1
            if not self.open_connections:
                self._idle.set()

    async def _act(self, fault: Fault, stream: trio.SocketStream, stream_mode: bool) -> None:
        actions: dict[Fault, Callable[[trio.SocketStream], Awaitable[None]]] = {
            "reset": self._reset, "malformed": self._malformed, "garbage": self._garbage,
            "stall": self._stall, "stall_headers": wait_closed, "5xx": self._server_error,
        }
        if fault == "hold":
            await self.release.wait()
            fault = "ok"
        if fault == "slow":
            await (self._slow_stream(stream) if stream_mode else self._ok_json(stream, 0.2))
        elif fault == "ok":
            await (self._ok_stream(stream) if stream_mode else self._ok_json(stream))
        else:
            await actions[fault](stream)

    def _events(self) -> list[bytes]:
        return chat_stream(self.script, "faulty-model")

    async def _ok_stream(self, stream: trio.SocketStream) -> None:
        await stream.send_all(_SSE_HEAD + b"".join(chunk(e) for e in self._events()) + chunk(b""))

    async def _slow_stream(self, stream: trio.SocketStream) -> None:
        await stream.send_all(_SSE_HEAD)
        for event in self._events():
            await stream.send_all(chunk(event))
            await trio.sleep(0.04)
        await stream.send_all(chunk(b""))

    async def _ok_json(self, stream: trio.SocketStream, delay: float = 0.0) -> None:
        await trio.sleep(delay)
        body = json.dumps(chat_body(self.script, "faulty-model")).encode()
        await stream.send_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                              b"connection: close\r\ncontent-length: "
                              + str(len(body)).encode() + b"\r\n\r\n" + body)

    async def _reset(self, stream: trio.SocketStream) -> None:
        await stream.send_all(_SSE_HEAD + b"".join(chunk(e) for e in self._events()[:2]))
        await trio.sleep(0.05)
        abort(stream)

    async def _malformed(self, stream: trio.SocketStream) -> None:
        events = [*self._events()[:2], b'data: {"choices": [{"delta": {not json\n\n']
        await stream.send_all(_SSE_HEAD + b"".join(chunk(e) for e in events))
        await wait_closed(stream)

    async def _garbage(self, stream: trio.SocketStream) -> None:
        await stream.send_all(b"SSH-2.0-OpenSSH_9.6\r\n\x00\x01\x02 this is not HTTP\r\n\r\n")

    async def _stall(self, stream: trio.SocketStream) -> None:
        await stream.send_all(_SSE_HEAD + b"".join(chunk(e) for e in self._events()[:2]))
        await wait_closed(stream)

    async def _server_error(self, stream: trio.SocketStream) -> None:
        body = b'{"error": {"message": "internal failure", "type": "server_error"}}'
        await stream.send_all(b"HTTP/1.1 500 Internal Server Error\r\n"
                              b"content-type: application/json\r\nconnection: close\r\n"
                              b"content-length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
