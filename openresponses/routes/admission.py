"""Admission of every ``/v1`` request: client address, rate limits, authentication.

Before a ``/v1`` route runs: the client address is charged (so unknown keys are limited too),
the bearer is authenticated (``auth.authenticate``; the ``Caller`` is kept on ``quart.g``),
then the key is charged. A refusal is a 429 ``rate_limit_exceeded`` with ``Retry-After``; every
``/v1`` response, refusals included, carries the ``x-ratelimit-*`` headers of the bucket that
binds (fewest requests left). Admin routes are limited by address only.

The client address is the socket peer; ``X-Forwarded-For`` is believed only from peers in
``OPENRESPONSES_TRUSTED_PROXIES``, read right to left up to the first untrusted hop.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Sequence

from quart import Response, g, request
from quart_trio import QuartTrio

from actors import MailboxFull
from openresponses.auth import authenticate, bearer_token
from openresponses.config import IPNetwork
from openresponses.errors import Overloaded, RateLimited
from openresponses.gateway.rate_headers import rate_headers
from openresponses.gateway.rate_limiter import (
    Check,
    Decision,
    Hit,
    LimiterUnavailable,
    ip_hits,
    key_hits,
)
from openresponses.gateway.run import Gateway
from openresponses.keys import KeyDirectory

_ADMIN = "/v1/admin/"


def client_ip(peer: str | None, forwarded_for: str | None,
              trusted: Sequence[IPNetwork]) -> str | None:
    """The client's address: ``peer``, or the nearest untrusted hop of ``X-Forwarded-For``
    when ``peer`` is a trusted proxy (a malformed hop: ``peer``)."""
    if peer is None or not trusted or not forwarded_for or not _trusted(peer, trusted):
        return peer
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        try:
            address = ipaddress.ip_address(hop)
        except ValueError:
            return peer
        if not any(address in network for network in trusted):
            return str(address)
    return hops[0] if hops else peer


def _trusted(address: str, trusted: Sequence[IPNetwork]) -> bool:
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(parsed in network for network in trusted)


# The routes that call a model: only they are refused for a spent tokens-per-minute budget
# (polling a background response's result must not wait for the budget it spent).
_MODEL_ROUTES = frozenset({"/v1/responses", "/v1/chat/completions", "/v1/responses/compact"})


async def check(gateway: Gateway, hits: Sequence[Hit]) -> None:
    """Ask the limiter to admit a request drawing on ``hits``; keep the binding decision on
    ``g`` for the headers; 429 if refused (counted), 503 if the limiter's mailbox is full."""
    limiter = gateway.limiter
    if limiter is None or not hits:
        return
    try:
        decision = await limiter.ask_nowait(Check(tuple(hits)))
    except MailboxFull:
        raise Overloaded("The gateway is overloaded; retry shortly.") from None
    if decision is None:
        return
    previous: Decision | None = g.get("rate_decision")
    if previous is None or not decision.allowed or decision.remaining < previous.remaining:
        g.rate_decision = decision
    if not decision.allowed:
        gateway.ops.metrics.rate_limited.labels(scope=decision.scope).inc()
        raise _refused(decision)


async def _check_admin(gateway: Gateway, hits: Sequence[Hit]) -> None:
    """The address's limit for an admin route, which stays open while the limiter cannot
    answer (``OPENRESPONSES_RATE_LIMIT_ON_ERROR=deny``): the route checks the admin key, and
    an operator must be able to manage keys during an outage."""
    try:
        await check(gateway, hits)
    except LimiterUnavailable:
        pass


def _refused(decision: Decision) -> RateLimited:
    window = "minute" if decision.period <= 60 else "day"
    wait = math.ceil(decision.retry_after)
    return RateLimited(
        f"Rate limit reached: {decision.limit} {decision.unit} per {window}. "
        f"Try again in {wait}s.",
        retry_after=wait,
    )


def install_admission(app: QuartTrio, gateway: Gateway, keys: KeyDirectory) -> None:
    """Register the admission hook and the rate-limit headers on ``app``."""
    config = gateway.config

    @app.before_request
    async def admit() -> None:
        path = request.path
        if path != "/v1" and not path.startswith("/v1/"):
            return
        client = request.scope.get("client")
        peer = str(client[0]) if client else None
        headers = request.headers  # each ``request.`` goes through a context-local proxy
        # Read only when it may be believed: a header missing from werkzeug's ``Headers``
        # costs an exception raised and caught (~15k instructions).
        forwarded = headers.get("x-forwarded-for") if config.trusted_proxies else None
        ip = client_ip(peer, forwarded, config.trusted_proxies)
        hits = ip_hits(config, ip)
        token = bearer_token(headers.get("authorization", ""))
        admin = path.startswith(_ADMIN)
        if admin:
            await _check_admin(gateway, hits)
            return
        if token is None or config.auth == "keys":
            await check(gateway, hits)  # before any key look-up
            hits = []
        caller = await authenticate(config, keys, token)
        g.caller = caller
        spends = request.method == "POST" and path in _MODEL_ROUTES
        await check(gateway, hits + key_hits(config, caller.owner, caller.limits,
                                             tokens=spends))

    @app.after_request
    async def rate_limit_headers(response: Response) -> Response:
        decision: Decision | None = g.get("rate_decision")
        if decision is not None:
            response.headers.update(rate_headers(decision))
        return response
