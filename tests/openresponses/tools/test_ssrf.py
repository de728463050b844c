"""The SSRF guard: schemes, literal addresses, names resolved through getaddrinfo.

Names are resolved only for ``localhost`` and numeric hosts (no network), or through a
custom trio resolver standing in for DNS.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from typing import Any, ClassVar

import pytest
import trio

from openresponses.errors import InvalidRequest
from openresponses.tools.ssrf import check_url, check_url_now

PUBLIC = ["http://93.184.216.34/mcp", "https://93.184.216.34:8443/sse?x=1",
          "https://[2606:4700:4700::1111]/mcp"]
REFUSED = [
    "http://127.0.0.1:8080/mcp",  # loopback
    "http://127.8.9.10/",
    "http://10.1.2.3/",  # private
    "http://172.16.5.4/",
    "http://172.31.255.255/",
    "http://192.168.1.1/",
    "http://169.254.169.254/latest/meta-data/",  # link-local: cloud metadata
    "http://0.0.0.0/",  # unspecified
    "http://100.64.0.1/",  # shared (carrier-grade NAT)
    "http://224.0.0.1/",  # multicast
    "http://[::1]/",
    "http://[fe80::1]/",
    "http://[fc00::1]/",
    "http://[fd12:3456::1]/",
    "http://[::]/",
    "http://[ff02::1]/",
    "http://[::ffff:127.0.0.1]/",  # IPv4-mapped
    "http://[::ffff:169.254.169.254]/",
    "http://[2002:a9fe:a9fe::1]/",  # 6to4 around 169.254.169.254
    "http://[64:ff9b::a9fe:a9fe]/",  # NAT64 around 169.254.169.254
]


@pytest.mark.parametrize("url", PUBLIC)
async def test_public_addresses_are_allowed(url: str) -> None:
    await check_url(url, allow_private=False)
    check_url_now(url, allow_private=False)


@pytest.mark.parametrize("url", REFUSED)
async def test_non_public_addresses_are_refused(url: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        await check_url(url, allow_private=False, param="tools[1].server_url")
    assert caught.value.param == "tools[1].server_url"
    assert caught.value.code == "url_not_allowed"
    assert "OPENRESPONSES_ALLOW_PRIVATE_URLS" in caught.value.message
    with pytest.raises(InvalidRequest):
        check_url_now(url, allow_private=False)


@pytest.mark.parametrize("url", REFUSED[:3])
async def test_allow_private_lets_them_through(url: str) -> None:
    await check_url(url, allow_private=True)
    check_url_now(url, allow_private=True)


async def test_localhost_resolves_to_loopback_and_is_refused() -> None:
    with pytest.raises(InvalidRequest, match="resolves to"):
        await check_url("http://localhost:9000/mcp", allow_private=False)
    with pytest.raises(InvalidRequest):
        check_url_now("http://LOCALHOST./mcp", allow_private=False)
    with pytest.raises(InvalidRequest):
        check_url_now("http://api.localhost/mcp", allow_private=False)


async def test_numeric_host_forms_are_resolved_and_refused() -> None:
    with pytest.raises(InvalidRequest, match=r"127\.0\.0\.1"):
        await check_url("http://2130706433/", allow_private=False)  # 127.0.0.1 as one number


@pytest.mark.parametrize(
    "url",
    ["ftp://93.184.216.34/", "file:///etc/passwd", "javascript:alert(1)", "gopher://x/",
     "http://", "http:///path", "93.184.216.34", "", "http://93.184.216.34:99999/"],
)
async def test_only_http_urls_with_a_host_are_accepted(url: str) -> None:
    for allow_private in (False, True):
        with pytest.raises(InvalidRequest) as caught:
            await check_url(url, allow_private=allow_private, param="p")
        assert caught.value.param == "p"
        with pytest.raises(InvalidRequest):
            check_url_now(url, allow_private=allow_private)


async def test_a_url_that_is_not_a_string_is_refused() -> None:
    with pytest.raises(InvalidRequest):
        await check_url(["http://93.184.216.34/"], allow_private=False)


class FakeDns(trio.abc.HostnameResolver):
    """Resolves a few names without any network."""

    table: ClassVar[dict[bytes, str | tuple[str, ...]]] = {
        b"public.example": "93.184.216.34",
        b"metadata.example": "169.254.169.254",
        b"mixed.example": ("93.184.216.34", "10.0.0.7"),
    }

    async def getaddrinfo(self, host: bytes | None, port: Any, family: int = 0, type: int = 0,
                          proto: int = 0, flags: int = 0) -> list[Any]:
        answer = self.table.get(host or b"")
        if answer is None:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        addresses = (answer,) if isinstance(answer, str) else answer
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in addresses]

    async def getnameinfo(self, sockaddr: Any, flags: int) -> tuple[str, str]:
        raise NotImplementedError


@pytest.fixture
async def fake_dns() -> AsyncIterator[None]:
    previous = trio.socket.set_custom_hostname_resolver(FakeDns())
    yield
    trio.socket.set_custom_hostname_resolver(previous)


async def test_names_are_checked_by_every_address_they_resolve_to(fake_dns: None) -> None:
    await check_url("https://public.example/mcp", allow_private=False)
    with pytest.raises(InvalidRequest, match=r"resolves to 169\.254\.169\.254"):
        await check_url("https://metadata.example/", allow_private=False)
    with pytest.raises(InvalidRequest, match=r"10\.0\.0\.7"):
        await check_url("https://mixed.example/", allow_private=False)


async def test_a_name_that_does_not_resolve_is_refused(fake_dns: None) -> None:
    with pytest.raises(InvalidRequest, match="cannot be resolved") as caught:
        await check_url("https://nowhere.example/", allow_private=False, param="q")
    assert caught.value.param == "q"
    check_url_now("https://nowhere.example/", allow_private=False)  # no DNS there
