"""The SSRF guard for URLs a client makes the gateway fetch (MCP servers, ...).

A client may name any URL; the gateway must not become its way into the operator's network.
Only ``http`` and ``https`` are accepted, and — unless ``allow_private`` (from
``OPENRESPONSES_ALLOW_PRIVATE_URLS=true``) — a host that is, or resolves to, an address that is
not globally routable is refused: private (10/8, 172.16/12, 192.168/16, fc00::/7), loopback,
link-local (169.254/16 with the cloud metadata address, fe80::/10), unspecified, multicast,
shared (100.64/10) and reserved ranges, also when embedded in IPv6 (``::ffff:127.0.0.1``,
6to4, Teredo, NAT64). Every address a name resolves to must pass.

What it cannot see: a name that resolves differently when the request is made (DNS
rebinding). The MCP transports follow no redirect that leaves the origin, so a public server
cannot bounce the gateway to a private one.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

import trio

from openresponses.errors import InvalidRequest

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_SCHEMES = {"http": 80, "https": 443}
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_HINT = "Set OPENRESPONSES_ALLOW_PRIVATE_URLS=true on the gateway to allow it."


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, compatible, 6to4, Teredo, NAT64)."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64 or (int(ip) >> 32 == 0 and int(ip) > 1):  # NAT64, or ::a.b.c.d
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def forbidden_address(ip: IPAddress) -> bool:
    """Whether a client may not make the gateway connect to ``ip``."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None and forbidden_address(embedded):
            return True
    return ip.is_multicast or ip.is_unspecified or not ip.is_global


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])  # drop an IPv6 zone (fe80::1%eth0)
    except ValueError:
        return None


def split_url(url: object, *, param: str) -> tuple[str, int]:
    """The host and port of an ``http(s)`` URL; anything else → ``InvalidRequest``."""
    if not isinstance(url, str) or not url:
        raise InvalidRequest("The URL must be a non-empty string.", param=param)
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise InvalidRequest("The URL is not valid.", param=param) from None
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES:
        raise InvalidRequest("The URL must use http or https.", param=param, code="invalid_url")
    if not parts.hostname:
        raise InvalidRequest("The URL has no host.", param=param, code="invalid_url")
    return parts.hostname, port or _SCHEMES[scheme]


def _refuse(host: str, ip: IPAddress, param: str) -> InvalidRequest:
    what = "is" if str(ip) == host else f"resolves to {ip}, which is"
    return InvalidRequest(
        f"The URL host {host!r} {what} a private, loopback, link-local or otherwise non-public "
        f"address; the gateway does not connect to it. {_HINT}",
        param=param, code="url_not_allowed",
    )


def check_url_now(url: object, *, allow_private: bool, param: str = "server_url") -> None:
    """The checks that need no DNS: the scheme, a host, and a literal IP or ``localhost`` host
    (names are resolved by ``check_url``)."""
    host, _port = split_url(url, param=param)
    if allow_private:
        return
    literal = _literal(host)
    if literal is not None and forbidden_address(literal):
        raise _refuse(host, literal, param)
    name = host.lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        raise _refuse(host, ipaddress.IPv4Address("127.0.0.1"), param)


async def _resolve(host: str, port: int, param: str) -> list[IPAddress]:
    try:
        infos = await trio.socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):  # UnicodeError: not a valid name (an empty or long label)
        raise InvalidRequest(f"The URL host {host!r} cannot be resolved.", param=param,
                             code="invalid_url") from None
    addresses = [_literal(str(info[4][0])) for info in infos]
    return [a for a in addresses if a is not None]


async def check_url(url: object, *, allow_private: bool, param: str = "server_url") -> None:
    """Refuse ``url`` (``InvalidRequest`` naming ``param``) unless it is ``http(s)`` and its host
    is, and resolves only to, public addresses. Resolution runs in a thread (trio's
    ``getaddrinfo``); cancelling abandons it."""
    host, port = split_url(url, param=param)
    if allow_private:
        return
    literal = _literal(host)
    addresses = [literal] if literal is not None else await _resolve(host, port, param)
    if not addresses:
        raise InvalidRequest(f"The URL host {host!r} cannot be resolved.", param=param,
                             code="invalid_url")
    for ip in addresses:
        if forbidden_address(ip):
            raise _refuse(host, ip, param)
