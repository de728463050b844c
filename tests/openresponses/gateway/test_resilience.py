"""Retry policy, circuit breaker and key ring as state machines, on the autojump clock."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from openresponses.gateway.resilience import (
    BreakerOpen,
    CircuitBreaker,
    KeyRing,
    RetryPolicy,
    falls_back,
)


def test_backoff_grows_exponentially_with_jitter_up_to_the_cap() -> None:
    low = RetryPolicy(retries=6, base=0.5, cap=4.0, random=lambda: 0.0)
    high = RetryPolicy(retries=6, base=0.5, cap=4.0, random=lambda: 1.0)
    assert [low.delay(n, None) for n in range(1, 6)] == [0.25, 0.5, 1.0, 2.0, 2.0]
    assert [high.delay(n, None) for n in range(1, 6)] == [0.5, 1.0, 2.0, 4.0, 4.0]


def test_retries_are_bounded() -> None:
    policy = RetryPolicy(retries=2)
    assert policy.delay(2, None) is not None
    assert policy.delay(3, None) is None
    assert RetryPolicy(retries=0).delay(1, 1.0) is None


def test_retry_after_is_honoured_up_to_the_cap() -> None:
    policy = RetryPolicy(max_retry_after=10.0)
    assert policy.delay(1, 3.0) == 3.0
    assert policy.delay(1, 0.0) == 0.0
    assert policy.delay(1, 10.5) is None  # too long: the client gets the 429 and the wait


async def test_breaker_opens_after_repeated_failures_and_fails_fast(
    autojump_clock: trio.testing.MockClock,
) -> None:
    breaker = CircuitBreaker(threshold=3, cooldown=30.0)
    for _ in range(2):
        breaker.failure()
        breaker.check()
    breaker.failure()
    assert breaker.state == "open"
    with pytest.raises(BreakerOpen) as caught:
        breaker.check()
    assert caught.value.retry_after == pytest.approx(30.0)
    await trio.sleep(29)
    with pytest.raises(BreakerOpen):
        breaker.check()


async def test_breaker_closes_after_the_cool_down_on_a_success(
    autojump_clock: trio.testing.MockClock,
) -> None:
    breaker = CircuitBreaker(threshold=2, cooldown=10.0)
    breaker.failure()
    breaker.failure()
    await trio.sleep(10)
    assert breaker.state == "half-open"
    breaker.check()  # calls go through again
    breaker.success()
    assert breaker.state == "closed"
    breaker.failure()
    breaker.check()  # one failure after closing is not enough to open again


async def test_a_failure_while_half_open_opens_it_again_at_once(
    autojump_clock: trio.testing.MockClock,
) -> None:
    breaker = CircuitBreaker(threshold=5, cooldown=10.0)
    for _ in range(5):
        breaker.failure()
    await trio.sleep(10)
    breaker.check()
    breaker.failure()
    assert breaker.state == "open"
    with pytest.raises(BreakerOpen):
        breaker.check()


def test_successes_reset_the_count_of_consecutive_failures() -> None:
    breaker = CircuitBreaker(threshold=3)
    for _ in range(10):
        breaker.failure()
        breaker.failure()
        breaker.success()
    assert breaker.state == "closed"


async def test_keys_are_used_round_robin(autojump_clock: trio.testing.MockClock) -> None:
    ring = KeyRing(["a", "b", "c"])
    assert [ring.take() for _ in range(7)] == ["a", "b", "c", "a", "b", "c", "a"]


async def test_a_refused_key_is_benched_for_a_while(
    autojump_clock: trio.testing.MockClock,
) -> None:
    ring = KeyRing(["a", "b", "c"], auth_bench=300, rate_bench=30)
    ring.bench("a", 401)
    ring.bench("b", 429, retry_after=5.0)
    assert ring.available() == 1
    assert [ring.take() for _ in range(3)] == ["c", "c", "c"]
    await trio.sleep(5)
    assert [ring.take() for _ in range(4)] == ["b", "c", "b", "c"]
    await trio.sleep(295)
    assert sorted(ring.take() for _ in range(3)) == ["a", "b", "c"]


async def test_with_every_key_benched_the_one_free_soonest_is_used(
    autojump_clock: trio.testing.MockClock,
) -> None:
    ring = KeyRing(["a", "b"])
    ring.bench("a", 429, retry_after=20)
    ring.bench("b", 429, retry_after=10)
    assert ring.take() == "b"
    assert "a" not in repr(ring)


@pytest.mark.parametrize(
    ("status", "expected"),
    [(400, False), (413, False), (401, True), (403, True), (404, True), (408, True),
     (429, True), (500, True), (502, True), (503, True), (504, True)],
)
def test_aliases_fall_back_on_provider_failures_not_bad_requests(
    status: int, expected: bool
) -> None:
    assert falls_back(status) is expected
