"""The rate-limiter actor: GCRA buckets in memory, behind a backend interface.

Each limit is a bucket checked with GCRA (the generic cell rate algorithm): a bucket of
``limit`` requests per ``period`` stores one number, the theoretical arrival time (TAT). A
request is allowed while ``TAT + cost·period/limit - period <= now``; it then moves the TAT on.
A full burst of ``limit`` is allowed from rest, after which requests are admitted at the steady
rate: a sliding window without the double burst of fixed windows at their boundary.

A request names several buckets (the client IP per minute, the key per day, the key's own
per-minute limits); it is admitted only if all allow it, and only then charged to all. Tokens
per minute are charged after the fact, from the response's usage (``Charge``), and checked
with cost 0 before each request.

``LimiterBackend`` is what the actor needs from a store of buckets; ``MemoryBackend`` keeps them
in a dict (one process); ``rate_limiter_redis.RedisBackend`` (several processes, chosen by
``OPENRESPONSES_REDIS_URL``) runs the same arithmetic (``evaluate``) in a Lua script, on the
Redis clock. A backend that cannot answer raises ``BackendUnavailable``; the actor then admits
or refuses as ``OPENRESPONSES_RATE_LIMIT_ON_ERROR`` says, and counts and logs the outage.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import AsyncGenerator, Callable, Sequence
from contextlib import aclosing
from typing import Any, Literal, Protocol, assert_never

import attrs
import trio

from actors import Actor, ActorRef, Ask, MailboxFull
from openresponses.config import Config, OnError
from openresponses.errors import GatewayError
from openresponses.keys import KeyLimits
from openresponses.observability.metrics import Metrics

logger = logging.getLogger("openresponses.rate_limiter")

Unit = Literal["requests", "tokens"]
_EPSILON = 1e-9
MINUTE = 60.0
DAY = 86_400.0


@attrs.frozen
class Rate:
    limit: int  # requests (or tokens) per period; > 0
    period: float  # seconds


@attrs.frozen
class Hit:
    """One bucket a request draws on; ``cost`` 0 only checks (tokens: charged afterwards)."""

    bucket: str
    rate: Rate
    cost: int = 1
    unit: Unit = "requests"
    scope: str = "key"  # what is limited, for metrics: ip, key, tokens


@attrs.frozen(kw_only=True)
class Decision:
    """The outcome for the bucket that binds: the refusing one, or the one with least left."""

    allowed: bool
    limit: int
    period: float
    remaining: int
    reset: float  # seconds until the bucket is full again
    retry_after: float = 0.0  # seconds until the refused request would be allowed
    unit: Unit = "requests"
    scope: str = "key"


class BackendUnavailable(Exception):
    """The store of buckets did not answer (unreachable, timed out, refused the command).
    The message is safe to log: it never carries the store's address or credentials."""


class LimiterUnavailable(GatewayError):
    """A request refused because limits could not be checked
    (``OPENRESPONSES_RATE_LIMIT_ON_ERROR=deny``)."""

    status = 503
    type = "server_error"
    code = "rate_limiter_unavailable"


class LimiterBackend(Protocol):
    """Where the buckets live. Decisions are atomic with respect to each other; ``acquire`` and
    ``charge`` raise ``BackendUnavailable`` when the store cannot answer."""

    async def acquire(self, hits: Sequence[Hit]) -> Decision | None:
        """Charge every hit if all allow it; the binding decision (None without hits)."""
        ...

    async def charge(self, hit: Hit) -> None:
        """Charge ``hit`` unconditionally (usage known after the fact)."""
        ...

    async def sweep(self) -> None:
        """Forget buckets that are full again (they equal fresh ones)."""
        ...

    async def run(self) -> None:
        """Background work for the actor's lifetime (started in its nursery, cancelled when
        it stops): returns at once when there is none."""
        ...


def evaluate(hit: Hit, stored: float | None, now: float) -> tuple[float, Decision]:
    """GCRA for one bucket whose stored TAT is ``stored`` (None: fresh): (the TAT to store if
    the request is charged, the decision). Pure, so that the Redis script, which runs the same
    arithmetic on the same doubles, reaches the same verdict."""
    limit, period = hit.rate.limit, hit.rate.period
    interval = period / limit
    tat = max(now if stored is None else stored, now)
    new_tat = tat + interval * hit.cost
    allow_at = new_tat - period
    if allow_at > now + _EPSILON:
        return tat, Decision(allowed=False, limit=limit, period=period, remaining=0,
                             reset=tat - now, retry_after=allow_at - now, unit=hit.unit,
                             scope=hit.scope)
    remaining = min(limit, math.floor((now - allow_at) / interval + _EPSILON))
    return new_tat, Decision(allowed=True, limit=limit, period=period, remaining=remaining,
                             reset=new_tat - now, unit=hit.unit, scope=hit.scope)


def binding(hits: Sequence[Hit], decisions: Sequence[Decision]) -> Decision | None:
    """The decision that binds a request: the refusal that waits longest, else the charged
    bucket with least left (None if nothing was charged)."""
    refused = [decision for decision in decisions if not decision.allowed]
    if refused:
        return max(refused, key=lambda d: d.retry_after)
    charged = [decision for hit, decision in zip(hits, decisions, strict=True) if hit.cost]
    return min(charged, key=lambda d: d.remaining) if charged else None


class MemoryBackend:
    """GCRA buckets in a dict, on the trio clock (or ``clock``). Synchronous inside."""

    def __init__(self, clock: Callable[[], float] = trio.current_time) -> None:
        self._clock = clock
        self._tat: dict[str, float] = {}

    def __len__(self) -> int:
        return len(self._tat)

    async def acquire(self, hits: Sequence[Hit]) -> Decision | None:
        return self.acquire_now(hits)

    def acquire_now(self, hits: Sequence[Hit]) -> Decision | None:
        """``acquire`` without a checkpoint."""
        now = self._clock()
        outcomes = [evaluate(hit, self._tat.get(hit.bucket), now) for hit in hits]
        decisions = [decision for _, decision in outcomes]
        if all(decision.allowed for decision in decisions):
            for hit, (tat, _) in zip(hits, outcomes, strict=True):
                if hit.cost:
                    self._tat[hit.bucket] = tat
        return binding(hits, decisions)

    async def charge(self, hit: Hit) -> None:
        now = self._clock()
        interval = hit.rate.period / hit.rate.limit
        self._tat[hit.bucket] = max(self._tat.get(hit.bucket, now), now) + interval * hit.cost

    async def sweep(self) -> None:
        now = self._clock()
        for bucket in [b for b, tat in self._tat.items() if tat <= now]:
            del self._tat[bucket]

    async def run(self) -> None:
        """Nothing runs in the background."""


# -- the actor ---------------------------------------------------------------------------------


@attrs.frozen
class Check(Ask[Decision | None]):
    """Admit (and charge) a request drawing on ``hits``, or refuse it."""

    hits: tuple[Hit, ...]


@attrs.frozen
class Charge:
    """Charge tokens used (a plain message: nobody waits for it)."""

    hit: Hit


LimiterMessage = Check | Charge


class RateLimiter(Actor[LimiterMessage]):
    """Owns the buckets. In memory it takes one message at a time (a decision is a few
    microseconds of arithmetic); a remote backend is given ``concurrency`` > 1 so that
    decisions waiting together travel together. Forgets full buckets every ``sweep_every``
    seconds.

    When the backend cannot answer, ``on_error`` decides: ``allow`` admits the request (no
    ``x-ratelimit`` headers), ``deny`` refuses it with ``LimiterUnavailable`` (503). Either way
    the outage is counted (``openresponses_rate_limiter_errors``) and logged, at most once per
    ``OutageLog.every`` seconds. A token charge that cannot be recorded is dropped.
    """

    def __init__(
        self,
        backend: Callable[[], LimiterBackend] = MemoryBackend,
        *,
        sweep_every: float = MINUTE,
        concurrency: int = 1,
        on_error: OnError = "allow",
        metrics: Metrics | None = None,
    ) -> None:
        self._backend = backend()
        self._sweep_every = sweep_every
        self.concurrency = concurrency
        self._on_error = on_error
        self._outage = OutageLog(metrics)

    async def on_start(self) -> None:
        self.context.nursery.start_soon(self._backend.run)
        self.context.nursery.start_soon(self._sweep_forever)

    async def receive(self, message: LimiterMessage) -> Decision | None:
        match message:
            case Check(hits=hits):
                return await self._check(hits)
            case Charge(hit=hit):
                try:
                    await self._backend.charge(hit)
                except BackendUnavailable as exc:
                    self._outage.report(exc, "charge_dropped")
                return None
            case _:
                assert_never(message)

    async def _check(self, hits: Sequence[Hit]) -> Decision | None:
        try:
            return await self._backend.acquire(hits)
        except BackendUnavailable as exc:
            if self._on_error == "deny":
                self._outage.report(exc, "denied")
                raise LimiterUnavailable(
                    "Rate limits cannot be checked right now, so the request was not admitted; "
                    "retry shortly.") from None
            self._outage.report(exc, "allowed")
            return None

    async def _sweep_forever(self) -> None:
        while True:
            await trio.sleep(self._sweep_every)
            await self._backend.sweep()


_OUTCOMES = {
    "allowed": "requests admitted unchecked (OPENRESPONSES_RATE_LIMIT_ON_ERROR=allow)",
    "denied": "requests refused with 503 (OPENRESPONSES_RATE_LIMIT_ON_ERROR=deny)",
    "charge_dropped": "token charges dropped",
}


class OutageLog:
    """Counts every decision taken without the backend and logs a warning at most once per
    ``every`` seconds (with how many were not logged), so an outage under load is one line
    every few seconds, not one per request."""

    every = 10.0

    def __init__(self, metrics: Metrics | None, clock: Callable[[], float] = time.monotonic,
                 ) -> None:
        self._metrics = metrics
        self._clock = clock
        self._logged_at: float | None = None
        self._unlogged = 0

    def report(self, error: BackendUnavailable, outcome: str) -> None:
        if self._metrics is not None:
            self._metrics.rate_limiter_errors.labels(outcome=outcome).inc()
        now = self._clock()
        if self._logged_at is not None and now - self._logged_at < self.every:
            self._unlogged += 1
            return
        logger.warning(
            "rate limiter backend unavailable (%s): %s; %d more since the last report",
            error, _OUTCOMES.get(outcome, outcome), self._unlogged,
            extra={"fields": {"outcome": outcome, "unreported": self._unlogged}})
        self._logged_at, self._unlogged = now, 0


# -- policy: which buckets a request draws on ----------------------------------------------------


def ip_hits(config: Config, ip: str | None) -> list[Hit]:
    """The client address's bucket (``OPENRESPONSES_RATE_LIMIT_IP_PER_MINUTE``; 0 = off)."""
    limit = config.rate_limit_ip_per_minute
    return [Hit(f"ip:{ip}", Rate(limit, MINUTE), scope="ip")] if limit > 0 and ip else []


def key_hits(config: Config, owner: str, limits: KeyLimits | None, *,
             tokens: bool = True) -> list[Hit]:
    """The key's buckets: requests per day (its own limit or the gateway's), and its own
    requests and tokens per minute if set. ``owner`` is the key's hash. ``tokens``: whether
    the request may call a model (a read is not refused for a spent token budget)."""
    limits = limits or KeyLimits()
    per_day = limits.requests_per_day
    per_day = config.rate_limit_key_per_day if per_day is None else per_day
    hits = [Hit(f"day:{owner}", Rate(per_day, DAY))] if per_day > 0 else []
    if limits.requests_per_minute:
        hits.append(Hit(f"rpm:{owner}", Rate(limits.requests_per_minute, MINUTE)))
    if limits.tokens_per_minute and tokens:
        hits.append(Hit(f"tpm:{owner}", Rate(limits.tokens_per_minute, MINUTE), cost=0,
                        unit="tokens", scope="tokens"))
    return hits


def token_hit(owner: str, limits: KeyLimits | None, tokens: int) -> Hit | None:
    """The charge for ``tokens`` used by a key with a tokens-per-minute limit, else None."""
    if limits is None or not limits.tokens_per_minute or tokens <= 0:
        return None
    return Hit(f"tpm:{owner}", Rate(limits.tokens_per_minute, MINUTE), cost=tokens,
               unit="tokens", scope="tokens")


class _Run(Protocol):
    @property
    def response(self) -> dict[str, Any]: ...

    def events(self) -> AsyncGenerator[list[dict[str, Any]], None]: ...


def metered(
    limiter: ActorRef[LimiterMessage] | None,
    owner: str,
    limits: KeyLimits | None,
    run: _Run,
    spent: Callable[[], int],
) -> AsyncGenerator[list[dict[str, Any]], None]:
    """``run.events()``; for a key with a tokens-per-minute limit, wrapped so that the
    response's tokens are charged once the run ends (completed or failed), or ``spent()``
    (an estimate of the tokens sent and made so far) if it is closed or cancelled first."""
    if limiter is None or limits is None or not limits.tokens_per_minute:
        return run.events()
    return _metered(limiter, owner, limits, run, spent)


async def _metered(
    limiter: ActorRef[LimiterMessage], owner: str, limits: KeyLimits, run: _Run,
    spent: Callable[[], int],
) -> AsyncGenerator[list[dict[str, Any]], None]:
    """Closing it closes the run. A client that went away mid-run is charged ``spent()``:
    the upstream bills what it read and wrote all the same (else hanging up just before the
    end would dodge the limit)."""
    try:
        async with aclosing(run.events()) as batches:
            async for batch in batches:
                yield batch
    except BaseException as exc:
        if not isinstance(exc, Exception):  # GeneratorExit or Cancelled: abandoned
            charge_tokens(limiter, owner, limits, {"total_tokens": spent()})
        raise
    charge_tokens(limiter, owner, limits, run.response.get("usage"))


def charge_tokens(limiter: ActorRef[LimiterMessage] | None, owner: str,
                  limits: KeyLimits | None, usage: object) -> None:
    """Charge the ``total_tokens`` of ``usage`` (a Responses or Chat Completions usage object,
    or None) to a key with a tokens-per-minute limit; nothing for any other key."""
    total = usage.get("total_tokens") if isinstance(usage, dict) else None
    hit = token_hit(owner, limits, total if isinstance(total, int) else 0)
    if limiter is None or hit is None:
        return
    try:
        limiter.send_nowait(Charge(hit))
    except MailboxFull:
        pass  # shed: under overload a token count may be lost, never a request delayed
