"""Who is calling: the bearer token resolved to a ``Caller`` (owner id + forwardable key)."""

from __future__ import annotations

import hashlib

import attrs
from quart import request

from openresponses.errors import AuthenticationFailed


@attrs.frozen
class Caller:
    """``owner`` scopes stored data (the key's hash); ``bearer`` may be forwarded upstream."""

    owner: str
    bearer: str = attrs.field(repr=False)


def caller_from_headers() -> Caller:
    """The caller named by ``Authorization: Bearer …``; 401 when missing."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise AuthenticationFailed(
            "You didn't provide an API key. Provide it in the Authorization header "
            "(Authorization: Bearer YOUR_KEY).",
            code="missing_api_key",
        )
    return Caller(owner=hashlib.sha256(token.encode()).hexdigest(), bearer=token)
