"""The fake upstream: a bare asyncio HTTP/1.1 server, fast enough never to be the bottleneck.

``POST …/chat/completions``, ``…/messages`` and ``…/responses`` answer in the Chat Completions,
Anthropic Messages and OpenAI Responses formats; ``"stream": true`` in the body gets SSE in
chunked encoding, one chunk per event. The model name sets chunk count, delay and latency (see
``bench.payloads``). ``GET /stats`` answers counters as JSON; ``GET /health`` answers ``ok``.

Run: ``python -m bench.upstream --port 9100``. Keep-alive, no pipelining, no chunked request
bodies (411). Every answer is rendered once per (format, model, stream) and cached.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from typing import Any

import orjson

from bench.payloads import knobs, render, wire_format

_JSON_HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n"
_SSE_HEAD = (b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
             b"cache-control: no-cache\r\ntransfer-encoding: chunked\r\n\r\n")
_LAST_CHUNK = b"0\r\n\r\n"
_MAX_HEAD = 64 * 1024


class Stats:
    def __init__(self) -> None:
        self.requests = 0
        self.bytes_in = 0
        self.errors = 0
        self.streams = 0
        self.max_streams = 0

    def as_json(self) -> bytes:
        return orjson.dumps(vars(self))


class Cache:
    """Rendered answers, keyed by (format, model, stream)."""

    def __init__(self) -> None:
        self._answers: dict[tuple[str, str, bool], bytes | list[bytes]] = {}

    def answer(self, fmt: str, model: str, stream: bool) -> bytes | list[bytes]:
        key = (fmt, model, stream)
        found = self._answers.get(key)
        if found is None:
            rendered = render(fmt, model, stream)
            if isinstance(rendered, bytes):
                found = (_JSON_HEAD % len(rendered)) + rendered
            else:
                found = [b"%x\r\n%s\r\n" % (len(frame), frame) for frame in rendered]
            if len(self._answers) < 4096:
                self._answers[key] = found
        return found


class UpstreamProtocol(asyncio.Protocol):
    """One connection: parse a request, answer it (maybe slowly), then the next."""

    def __init__(self, cache: Cache, stats: Stats) -> None:
        self.cache = cache
        self.stats = stats
        self.buf = bytearray()
        self.transport: asyncio.Transport | None = None
        self.busy = False
        self.closed = False
        self.timer: asyncio.TimerHandle | None = None
        self.streaming = False
        self.loop = asyncio.get_running_loop()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.timer is not None:
            self.timer.cancel()
        self._end_stream()

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if not self.busy:
            self._next_request()

    def _next_request(self) -> None:
        while not self.busy and not self.closed:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buf) > _MAX_HEAD:
                    self._fail(431)
                return
            head = bytes(self.buf[:end]).decode("latin-1").split("\r\n")
            method, target = head[0].split(" ", 2)[:2]
            headers = {}
            for line in head[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            if "chunked" in headers.get("transfer-encoding", ""):
                self._fail(411)
                return
            length = int(headers.get("content-length", "0"))
            if len(self.buf) < end + 4 + length:
                return
            body = bytes(self.buf[end + 4:end + 4 + length])
            del self.buf[:end + 4 + length]
            self.stats.bytes_in += end + 4 + length
            self._handle(method, target, body)

    def _fail(self, status: int) -> None:
        self.stats.errors += 1
        assert self.transport is not None
        self.transport.write(b"HTTP/1.1 %d Error\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                             % status)
        self.transport.close()
        self.closed = True

    def _handle(self, method: str, target: str, body: bytes) -> None:
        assert self.transport is not None
        path = target.split("?", 1)[0]
        if method == "GET":
            payload = self.stats.as_json() if path == "/stats" else b"ok"
            self.transport.write((_JSON_HEAD % len(payload)) + payload)
            return
        self.stats.requests += 1
        try:
            request: Any = orjson.loads(body)
            model = str(request["model"])
            stream = bool(request.get("stream"))
        except (orjson.JSONDecodeError, KeyError, TypeError):
            self._fail(400)
            return
        answer = self.cache.answer(wire_format(path), model, stream)
        latency = knobs(model).latency
        if latency:
            self.busy = True
            self.timer = self.loop.call_later(latency, self._respond, answer, model)
        else:
            self._respond(answer, model)

    def _respond(self, answer: bytes | list[bytes], model: str) -> None:
        self.timer = None
        if self.closed or self.transport is None:
            return
        if isinstance(answer, bytes):
            self.busy = False
            self.transport.write(answer)
            self._next_request()
            return
        self.busy = True
        self.streaming = True
        self.stats.streams += 1
        self.stats.max_streams = max(self.stats.max_streams, self.stats.streams)
        self.transport.write(_SSE_HEAD)
        self._send_frames(answer, 0, knobs(model).chunk_delay)

    def _send_frames(self, frames: list[bytes], start: int, delay: float) -> None:
        self.timer = None
        if self.closed or self.transport is None:
            return
        write = self.transport.write
        if not delay:
            for frame in frames[start:]:
                write(frame)
        else:
            write(frames[start])
            if start + 1 < len(frames):
                self.timer = self.loop.call_later(delay, self._send_frames, frames, start + 1,
                                                  delay)
                return
        write(_LAST_CHUNK)
        self._end_stream()
        self.busy = False
        self._next_request()

    def _end_stream(self) -> None:
        if self.streaming:
            self.streaming = False
            self.stats.streams -= 1


async def serve(host: str, port: int) -> None:
    """Serve until SIGINT/SIGTERM."""
    loop = asyncio.get_running_loop()
    cache, stats = Cache(), Stats()
    server = await loop.create_server(lambda: UpstreamProtocol(cache, stats), host, port,
                                      backlog=4096, reuse_address=True)
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    print(f"upstream listening on http://{host}:{port}", flush=True)
    async with server:
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.upstream", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9100)
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.host, args.port))


if __name__ == "__main__":
    main()
