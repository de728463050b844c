"""Upstream bytes kept small and read cheaply: what thousands of open streams pay per stream
and per chunk (bench/results/2026-11-25-soak-2.md)."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import httpx2


def compact_bytes(data: bytes) -> bytes:
    """``data`` copied into a block of its own size. orjson returns its bytes in the ~4 KB
    buffer it wrote them in; a request body lives as long as its stream (httpx2 keeps it for
    the request), so with thousands of slow streams open that is 4 KB each for ~200 bytes."""
    return bytes(memoryview(data))


def body_chunks(response: httpx2.Response) -> AsyncGenerator[bytes, None]:
    """The response body as it arrives. Not content-encoded (an SSE answer): the connection's
    own chunk stream (never an empty chunk: h11 yields none), without ``aiter_bytes``'s decode
    and re-chunk layers (two async generators, a context manager and a decoder step for every
    chunk of every open stream). Encoded (gzip, ...): ``aiter_bytes``, which decodes it."""
    stream = response.stream
    encodings = response.headers.get_list("content-encoding", split_commas=True)
    if isinstance(stream, httpx2.AsyncByteStream) and all(
        value.strip().lower() == "identity" for value in encodings
    ):
        chunks = stream.__aiter__()
        if isinstance(chunks, AsyncGenerator):
            return chunks
    return response.aiter_bytes()
