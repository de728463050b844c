"""Which address a request is limited by: the socket peer, or X-Forwarded-For from a trusted
proxy only."""

from __future__ import annotations

import ipaddress

import pytest

from openresponses.config import load_config
from openresponses.routes.admission import client_ip

PROXIES = (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("127.0.0.1/32"))


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("203.0.113.9", None, "203.0.113.9"),
        ("203.0.113.9", "1.1.1.1", "203.0.113.9"),  # not a proxy: the header is a lie
        ("10.1.2.3", "198.51.100.4", "198.51.100.4"),
        ("10.1.2.3", "6.6.6.6, 198.51.100.4", "198.51.100.4"),  # the client forged the left
        ("10.1.2.3", "198.51.100.4, 10.9.9.9", "198.51.100.4"),  # two trusted proxies
        ("10.1.2.3", "10.5.5.5, 10.9.9.9", "10.5.5.5"),  # all trusted: the farthest
        ("10.1.2.3", "garbage", "10.1.2.3"),
        ("10.1.2.3", "", "10.1.2.3"),
        ("127.0.0.1", "2001:db8::1", "2001:db8::1"),
        ("not-an-ip", "1.1.1.1", "not-an-ip"),
        (None, "1.1.1.1", None),
    ],
)
def test_forwarded_for_is_believed_only_from_trusted_proxies(
    peer: str | None, forwarded: str | None, expected: str | None
) -> None:
    assert client_ip(peer, forwarded, PROXIES) == expected


def test_without_trusted_proxies_the_peer_is_the_client() -> None:
    assert client_ip("10.1.2.3", "198.51.100.4", ()) == "10.1.2.3"


def test_trusted_proxies_are_read_from_the_environment() -> None:
    config = load_config(env={"OPENRESPONSES_TRUSTED_PROXIES": "10.0.0.0/8, 127.0.0.1"},
                         path=None)
    assert config.trusted_proxies == PROXIES
    with pytest.raises(ValueError, match="TRUSTED_PROXIES"):
        load_config(env={"OPENRESPONSES_TRUSTED_PROXIES": "proxy.local"}, path=None)
