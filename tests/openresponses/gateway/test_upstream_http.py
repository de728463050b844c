"""A provider's HTTP requests, sent through httpx2 transports without an ``AsyncClient``: what
the client used to add is still there (Host, timeouts, decoding, the URL join, proxies from
the environment) and what it must not do (carry one user's cookies to the next) is gone."""

from __future__ import annotations

import functools
import gzip
import json
from collections.abc import AsyncIterator

import httpx2
import pytest
import trio

from openresponses.config import ProviderConfig
from openresponses.gateway.upstream_http import UpstreamHTTP, environment_proxy

_PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


@pytest.fixture(autouse=True)
def no_proxy_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


def config(base_url: str = "http://upstream.test/v1") -> ProviderConfig:
    return ProviderConfig("groq", "chat", base_url, ("k1",), connect_timeout=3.0,
                          read_timeout=60.0)


def opened(handler: httpx2.MockTransport) -> UpstreamHTTP:
    http = UpstreamHTTP(config(), handler)
    http.open()
    return http


async def test_a_request_carries_host_agent_encoding_timeouts_and_the_callers_headers() -> None:
    seen: list[httpx2.Request] = []

    def answer(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(200, json={"ok": True})

    http = opened(httpx2.MockTransport(answer))
    response = await http.read("POST", "chat/completions", b'{"a":1}',
                               {"accept": "application/json", "authorization": "Bearer k1"})
    assert response.json() == {"ok": True}
    [request] = seen
    assert str(request.url) == "http://upstream.test/v1/chat/completions"
    assert request.headers["host"] == "upstream.test"
    assert request.headers["user-agent"].startswith("openresponses/")
    assert request.headers["accept-encoding"] == "gzip, deflate"
    assert request.headers["accept"] == "application/json"
    assert request.headers["authorization"] == "Bearer k1"
    assert request.headers["content-length"] == "7"
    assert request.content == b'{"a":1}'
    assert request.extensions["timeout"] == {"connect": 3.0, "read": 60.0, "write": 60.0,
                                             "pool": 60.0}


@pytest.mark.parametrize(("base_url", "path", "expected"), [
    ("http://upstream.test/v1", "chat/completions", "http://upstream.test/v1/chat/completions"),
    ("http://upstream.test/v1/", "/messages", "http://upstream.test/v1/messages"),
    ("http://upstream.test", "/v1/models", "http://upstream.test/v1/models"),
    ("http://upstream.test/v1", "https://other.test/x?y=1", "https://other.test/x?y=1"),
])
def test_paths_join_the_base_url_as_the_client_joined_them(
    base_url: str, path: str, expected: str
) -> None:
    assert str(UpstreamHTTP(config(base_url)).url(path)) == expected
    client_joined = httpx2.AsyncClient(base_url=base_url).build_request("GET", path).url
    assert str(client_joined) == expected


async def test_no_cookie_is_carried_from_one_request_to_the_next() -> None:
    cookies: list[str | None] = []

    def answer(request: httpx2.Request) -> httpx2.Response:
        cookies.append(request.headers.get("cookie"))
        return httpx2.Response(200, json={}, headers={"set-cookie": "__cf_bm=abc; Path=/"})

    http = opened(httpx2.MockTransport(answer))
    for _ in range(2):
        await http.read("POST", "chat/completions", b"{}", {})
    assert cookies == [None, None]


async def test_a_compressed_answer_is_decoded() -> None:
    body = json.dumps({"id": "x"}).encode()

    def answer(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, content=gzip.compress(body),
                               headers={"content-encoding": "gzip"})

    response = await opened(httpx2.MockTransport(answer)).read("POST", "chat/completions",
                                                               b"{}", {})
    assert response.content == body


class _Body(httpx2.AsyncByteStream):
    """A streamed body that records whether it was closed."""

    def __init__(self) -> None:
        self.closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b"data: 1\n\n"
        yield b"data: 2\n\n"

    async def aclose(self) -> None:
        self.closed = True


async def test_a_stream_is_closed_on_leaving_even_unread() -> None:
    body = _Body()
    http = opened(httpx2.MockTransport(lambda request: httpx2.Response(200, stream=body)))
    async with http.stream("POST", "chat/completions", b"{}", {}) as response:
        assert response.status_code == 200
        assert not body.closed  # the body is left unread
    assert body.closed


def test_the_environment_names_the_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    url = httpx2.URL("https://api.openai.com/v1")
    assert environment_proxy(url) is None
    monkeypatch.setenv("ALL_PROXY", "http://all.proxy:1")
    assert environment_proxy(url) == "http://all.proxy:1"
    monkeypatch.setenv("https_proxy", "http://tls.proxy:3128")
    assert environment_proxy(url) == "http://tls.proxy:3128"
    assert environment_proxy(httpx2.URL("http://api.openai.com/v1")) == "http://all.proxy:1"
    monkeypatch.setenv("NO_PROXY", "example.com,.openai.com")
    assert environment_proxy(url) is None
    assert environment_proxy(httpx2.URL("https://api.anthropic.com")) == "http://tls.proxy:3128"


async def test_requests_go_through_the_environments_proxy(
    monkeypatch: pytest.MonkeyPatch, nursery: trio.Nursery
) -> None:
    """A real HTTP proxy on loopback receives the request in absolute form."""
    request_lines: list[bytes] = []

    async def proxy(stream: trio.SocketStream) -> None:
        data = b""
        while b"\r\n\r\n" not in data:
            data += await stream.receive_some(65536)
        request_lines.append(data.split(b"\r\n", 1)[0])
        body = b'{"via": "proxy"}'
        await stream.send_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                              b"content-length: %d\r\nconnection: close\r\n\r\n%s"
                              % (len(body), body))
        await stream.aclose()

    [listener] = await nursery.start(functools.partial(trio.serve_tcp, proxy, 0, host="127.0.0.1"))
    port = listener.socket.getsockname()[1]
    monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{port}")
    http = UpstreamHTTP(config("http://upstream.invalid/v1"))
    http.open()
    try:
        with trio.fail_after(10):
            response = await http.read("POST", "chat/completions", b"{}", {})
    finally:
        await http.aclose()
    assert response.json() == {"via": "proxy"}
    assert request_lines == [b"POST http://upstream.invalid/v1/chat/completions HTTP/1.1"]
