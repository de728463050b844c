"""Resilient upstream calls: which failures to retry and when, a circuit breaker per provider,
and round-robin over a provider's keys with benching of keys that were refused.

All three are plain state machines on the trio clock (``trio.current_time``, so tests run them
under ``autojump_clock``); the provider pool decides with them, then does the I/O.

Only failures before the upstream accepted the request are retried: the caller has seen
nothing yet, and the model produced nothing billable. Once a byte of the answer is on its way
to the client, a failure ends the stream instead.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

import attrs
import trio

# Statuses worth a retry: rate limited, server errors, overloaded (Anthropic's 529).
RETRY_STATUSES = frozenset({429, 500, 502, 503, 529})
# Statuses that count against a provider's health (429 is about a key, not the provider).
BREAKER_STATUSES = frozenset({500, 502, 503, 504, 529})


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """At most ``retries`` retries; exponential backoff from ``base`` up to ``cap`` seconds
    with equal jitter; an upstream ``Retry-After`` is honoured up to ``max_retry_after``
    (a longer wait is not retried: the client gets the error and the wait)."""

    retries: int = 2
    base: float = 0.5
    cap: float = 8.0
    max_retry_after: float = 10.0
    random: Callable[[], float] = attrs.field(default=random.random, eq=False, repr=False)

    def delay(self, attempt: int, retry_after: float | None) -> float | None:
        """Seconds to wait before retry number ``attempt`` (1-based), or None: give up."""
        if attempt > self.retries:
            return None
        if retry_after is not None:
            return retry_after if retry_after <= self.max_retry_after else None
        ceiling = min(self.cap, self.base * 2.0 ** (attempt - 1))
        return ceiling / 2 + self.random() * ceiling / 2


class BreakerOpen(Exception):
    """The provider's breaker is open; ``retry_after`` seconds until it lets calls through."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"circuit open for {retry_after:.1f}s")
        self.retry_after = retry_after


class CircuitBreaker:
    """Opens after ``threshold`` consecutive failures; while open every call fails fast.

    After ``cooldown`` seconds calls go through again (half-open): the first success closes
    the breaker, the first failure opens it for another cool-down. Calls abandoned midway
    (cancelled) count as neither, so nothing can wedge it half-open.
    """

    def __init__(self, *, threshold: int = 5, cooldown: float = 30.0) -> None:
        self.threshold = threshold
        self.cooldown = cooldown
        self._failures = 0
        self._open_until: float | None = None

    @property
    def state(self) -> str:
        """``closed``, ``open`` or ``half-open`` (for logs and tests)."""
        if self._open_until is None:
            return "closed"
        return "open" if trio.current_time() < self._open_until else "half-open"

    def check(self) -> None:
        """Raise ``BreakerOpen`` while the breaker is open."""
        if self._open_until is not None:
            wait = self._open_until - trio.current_time()
            if wait > 0:
                raise BreakerOpen(wait)

    def success(self) -> None:
        self._failures = 0
        self._open_until = None

    def failure(self) -> None:
        """Count a failure; open if it makes ``threshold`` in a row or the breaker is half-open."""
        self._failures += 1
        if self._open_until is not None or self._failures >= self.threshold:
            self._open_until = trio.current_time() + self.cooldown


class KeyRing:
    """A provider's keys, used round-robin; a key refused with 401 / 429 sits out a while.

    When every key is benched the one free soonest is used anyway: a call with a doubtful key
    beats no call at all.
    """

    def __init__(self, keys: Sequence[str], *, auth_bench: float = 300.0,
                 rate_bench: float = 30.0) -> None:
        if not keys:
            raise ValueError("a KeyRing needs at least one key")
        self._keys = list(keys)
        self._next = 0
        self._benched_until = [0.0] * len(self._keys)
        self.auth_bench = auth_bench
        self.rate_bench = rate_bench

    def __repr__(self) -> str:  # never print keys
        return f"<KeyRing of {len(self._keys)} keys>"

    def __len__(self) -> int:
        return len(self._keys)

    def take(self) -> str:
        """The next key in turn that is not benched (else the one free soonest)."""
        now = trio.current_time()
        count = len(self._keys)
        for step in range(count):
            index = (self._next + step) % count
            if self._benched_until[index] <= now:
                self._next = index + 1
                return self._keys[index]
        index = min(range(count), key=self._benched_until.__getitem__)
        self._next = index + 1
        return self._keys[index]

    def bench(self, key: str, status: int, retry_after: float | None = None) -> None:
        """Set ``key`` aside after it was refused: 401 for ``auth_bench`` seconds, 429 for the
        upstream's ``retry_after`` (else ``rate_bench``)."""
        seconds = self.auth_bench if status == 401 else (retry_after or self.rate_bench)
        now = trio.current_time()
        for index, candidate in enumerate(self._keys):
            if candidate == key:
                self._benched_until[index] = max(self._benched_until[index], now + seconds)

    def available(self) -> int:
        """How many keys are not benched now."""
        now = trio.current_time()
        return sum(1 for until in self._benched_until if until <= now)


def falls_back(status: int) -> bool:
    """Whether a model alias tries its next target after an error of this status: the
    provider failed or refused (401, 403, 404, 408, 429, 5xx), not the request (400, 413)."""
    return status >= 500 or status in (401, 403, 404, 408, 429)
