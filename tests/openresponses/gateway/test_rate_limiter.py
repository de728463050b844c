"""The GCRA buckets and the rate-limiter actor.

Tests about what a backend decides run against both backends (``backend``: in memory, and on
the test Redis, skipped when it is not reachable); tests about time passing run in memory on
trio's autojump clock (the Redis backend runs the same arithmetic, ``evaluate``, on Redis's
clock: see test_rate_limiter_redis.py for its real-time checks).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import trio
import trio.testing

from actors.testing import started
from openresponses.config import Config
from openresponses.gateway.rate_headers import format_reset, rate_headers
from openresponses.gateway.rate_limiter import (
    DAY,
    MINUTE,
    Charge,
    Check,
    Decision,
    Hit,
    LimiterBackend,
    MemoryBackend,
    Rate,
    RateLimiter,
    ip_hits,
    key_hits,
    token_hit,
)
from openresponses.keys import KeyLimits
from tests.openresponses.gateway.limiter_backends import BACKENDS, backend_factory, open_backend

PER_MINUTE = Rate(100, MINUTE)


def ip(address: str = "203.0.113.7") -> Hit:
    return Hit(f"ip:{address}", PER_MINUTE)


def admit(backend: MemoryBackend, *hits: Hit) -> Decision:
    decision = backend.acquire_now(hits)
    assert decision is not None
    return decision


@pytest.fixture(params=BACKENDS)
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[LimiterBackend]:
    async with open_backend(request.param) as opened:
        yield opened


async def acquire(backend: LimiterBackend, *hits: Hit) -> Decision:
    decision = await backend.acquire(hits)
    assert decision is not None
    return decision


# Real time passes between these calls: allow for a few hundred milliseconds of it.
ELAPSED = 0.3


async def test_the_101st_request_in_a_minute_is_refused(backend: LimiterBackend) -> None:
    remaining = [(await acquire(backend, ip())).remaining for _ in range(100)]
    assert remaining == list(range(99, -1, -1))
    refused = await acquire(backend, ip())
    assert not refused.allowed
    assert refused.retry_after == pytest.approx(0.6, abs=ELAPSED)  # one request's worth
    assert 0 < refused.retry_after <= 0.6
    assert refused.reset == pytest.approx(60.0, abs=ELAPSED)
    assert (await acquire(backend, ip("198.51.100.1"))).allowed  # another address's bucket


async def test_the_window_slides_without_a_double_burst_at_a_boundary(
    autojump_clock: trio.testing.MockClock,
) -> None:
    backend = MemoryBackend()
    await trio.sleep(59)  # late in a "fixed" minute
    assert all(admit(backend, ip()).allowed for _ in range(100))
    await trio.sleep(2)  # the next "fixed" minute: a fixed window would allow 100 more
    allowed = sum(admit(backend, ip()).allowed for _ in range(100))
    assert allowed == 3  # 2 s at 100/min refills ~3.3 requests


async def test_after_a_burst_requests_are_admitted_at_the_steady_rate(
    autojump_clock: trio.testing.MockClock,
) -> None:
    backend = MemoryBackend()
    for _ in range(100):
        admit(backend, ip())
    admitted = 0
    for _ in range(50):
        await trio.sleep(0.6)
        admitted += admit(backend, ip()).allowed
        assert not admit(backend, ip()).allowed  # never two in one interval
    assert admitted == 50
    await trio.sleep(60)
    assert admit(backend, ip()).remaining == 99  # fully rested again


async def test_the_per_key_daily_limit(autojump_clock: trio.testing.MockClock) -> None:
    backend = MemoryBackend()
    day = Hit("day:alice", Rate(1000, DAY))
    for _ in range(1000):
        assert admit(backend, day).allowed
    refused = admit(backend, day)
    assert not refused.allowed
    assert refused.retry_after == pytest.approx(86.4)
    assert admit(backend, Hit("day:bob", Rate(1000, DAY))).allowed
    await trio.sleep(DAY)
    assert admit(backend, day).remaining == 999


async def test_a_request_is_charged_to_all_its_buckets_or_to_none(
    backend: LimiterBackend,
) -> None:
    tight = Hit("day:alice", Rate(2, DAY))
    await acquire(backend, ip(), tight)
    await acquire(backend, ip(), tight)
    refused = await acquire(backend, ip(), tight)
    assert not refused.allowed
    assert refused.limit == 2  # the binding bucket is reported
    # The refused request cost the address nothing.
    assert (await acquire(backend, ip())).remaining == 97


async def test_the_binding_decision_is_the_one_with_least_left(backend: LimiterBackend) -> None:
    decision = await acquire(backend, ip(), Hit("day:alice", Rate(10, DAY)))
    assert (decision.limit, decision.remaining) == (10, 9)
    assert decision.reset == pytest.approx(DAY / 10, abs=ELAPSED)


async def test_tokens_per_minute_are_checked_before_and_charged_after(
    backend: LimiterBackend,
) -> None:
    limits = KeyLimits(tokens_per_minute=1000)
    [check] = key_hits(Config(rate_limit_key_per_day=0), "alice", limits)
    assert check.cost == 0
    assert await backend.acquire([check]) is None  # a zero-cost check charges nothing
    assert await backend.acquire([check]) is None
    charge = token_hit("alice", limits, 1500)  # one big answer overdraws the bucket
    assert charge is not None
    await backend.charge(charge)
    refused = await acquire(backend, check)
    assert not refused.allowed
    assert refused.unit == "tokens"
    assert refused.retry_after == pytest.approx(30.0, abs=ELAPSED)  # 500 over, at 1000/min
    assert refused.reset == pytest.approx(90.0, abs=ELAPSED)


async def test_tokens_allowed_again_once_the_overdraft_has_drained(
    autojump_clock: trio.testing.MockClock,
) -> None:
    backend = MemoryBackend()
    limits = KeyLimits(tokens_per_minute=1000)
    [check] = key_hits(Config(rate_limit_key_per_day=0), "alice", limits)
    charge = token_hit("alice", limits, 1500)
    assert charge is not None
    await backend.charge(charge)
    assert not admit(backend, check).allowed
    await trio.sleep(30)
    assert backend.acquire_now([check]) is None  # allowed again (nothing charged)


async def test_sweep_forgets_buckets_that_are_full_again(
    autojump_clock: trio.testing.MockClock,
) -> None:
    backend = MemoryBackend()
    admit(backend, ip("a"))
    admit(backend, Hit("day:alice", Rate(10, DAY)))
    await trio.sleep(61)
    await backend.sweep()
    assert len(backend) == 1  # the address's minute is over; the day is not


@pytest.mark.parametrize("kind", BACKENDS)
async def test_the_actor_admits_and_refuses(kind: str) -> None:
    async with backend_factory(kind) as backend, started(
        lambda: RateLimiter(backend, concurrency=8)
    ) as limiter:
        hits = (Hit("ip:x", Rate(2, MINUTE)),)
        decisions = []
        async with trio.open_nursery() as nursery:  # asked together: decided one by one

            async def ask() -> None:
                decision = await limiter.ask(Check(hits))
                assert decision is not None
                decisions.append(decision.allowed)

            for _ in range(5):
                nursery.start_soon(ask)
        assert sorted(decisions) == [False, False, False, True, True]


async def test_the_actor_admits_refuses_charges_and_sweeps(
    autojump_clock: trio.testing.MockClock,
) -> None:
    backend = MemoryBackend()
    async with started(lambda: RateLimiter(lambda: backend, sweep_every=10)) as limiter:
        hits = (Hit("ip:x", Rate(2, MINUTE)),)
        first = await limiter.ask(Check(hits))
        assert first is not None
        assert first.allowed
        await limiter.ask(Check(hits))
        refused = await limiter.ask(Check(hits))
        assert refused is not None
        assert not refused.allowed
        await limiter.send(Charge(Hit("tpm:k", Rate(10, MINUTE), cost=5, unit="tokens")))
        await trio.sleep(61)
        assert len(backend) == 0


def test_policy_defaults_overrides_and_off_switches() -> None:
    config = Config(rate_limit_ip_per_minute=100, rate_limit_key_per_day=1000)
    assert ip_hits(config, "1.2.3.4") == [Hit("ip:1.2.3.4", Rate(100, MINUTE), scope="ip")]
    assert ip_hits(Config(rate_limit_ip_per_minute=0), "1.2.3.4") == []
    assert ip_hits(config, None) == []
    assert key_hits(config, "h", None) == [Hit("day:h", Rate(1000, DAY))]
    assert key_hits(Config(rate_limit_key_per_day=0), "h", None) == []
    own = KeyLimits(requests_per_minute=10, requests_per_day=5, tokens_per_minute=900)
    assert key_hits(config, "h", own) == [
        Hit("day:h", Rate(5, DAY)),
        Hit("rpm:h", Rate(10, MINUTE)),
        Hit("tpm:h", Rate(900, MINUTE), cost=0, unit="tokens", scope="tokens"),
    ]
    assert key_hits(config, "h", KeyLimits(requests_per_day=0)) == []  # 0: unlimited key
    assert token_hit("h", None, 10) is None
    assert token_hit("h", own, 0) is None


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.0, "0ms"), (0.12, "120ms"), (1.5, "1.5s"), (59.93, "1m0s"), (60, "1m0s"),
     (86.4, "1m27s"), (7384, "2h3m4s")],
)
def test_reset_durations_are_written_as_openai_does(seconds: float, text: str) -> None:
    assert format_reset(seconds) == text


def test_headers_name_the_unit() -> None:
    decision = Decision(allowed=True, limit=100, period=60, remaining=42, reset=34.8)
    assert rate_headers(decision) == {
        "x-ratelimit-limit-requests": "100",
        "x-ratelimit-remaining-requests": "42",
        "x-ratelimit-reset-requests": "34.8s",
    }
