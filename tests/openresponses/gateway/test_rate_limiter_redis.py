"""The Redis backend: atomic across clients, on Redis's clock, keys that expire, one round
trip for decisions asked together, and fail open / closed when Redis cannot answer.

Needs the test Redis (tests/services.py); every test uses a key prefix of its own and deletes
its keys. The outage tests point at a closed port, or at a socket that never answers.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator

import pytest
import redis
import trio

from actors.testing import started
from openresponses.config import load_config
from openresponses.gateway.rate_limiter import (
    MINUTE,
    BackendUnavailable,
    Charge,
    Check,
    Hit,
    LimiterUnavailable,
    OutageLog,
    Rate,
)
from openresponses.gateway.rate_limiter_redis import RedisBackend, rate_limiter
from openresponses.observability.logs import config_secrets
from openresponses.observability.metrics import Metrics
from tests.e2e.live import closed_port
from tests.openresponses.gateway.limiter_backends import (
    fresh_prefix,
    redis_backend,
    redis_keys,
    running,
)
from tests.services import redis_url

PASSWORD = "hunter2-" + "redis-pw"


async def test_concurrent_decisions_from_two_clients_never_overdraw_a_bucket() -> None:
    prefix = fresh_prefix()
    tight = Hit("day:alice", Rate(50, 86_400))
    wide = Hit("ip:a", Rate(1000, MINUTE))
    allowed = 0
    async with redis_backend(prefix) as one, redis_backend(prefix) as two:

        async def ask(backend: RedisBackend) -> None:
            nonlocal allowed
            decision = await backend.acquire([wide, tight])
            assert decision is not None
            allowed += decision.allowed

        async with trio.open_nursery() as nursery:
            for i in range(200):
                nursery.start_soon(ask, (one, two)[i % 2])
        assert allowed == 50
        after = await one.acquire([wide])  # charged only with the tight bucket: 50 times
        assert after is not None
        assert after.remaining == 1000 - 51


async def test_charged_buckets_expire_once_full_again_and_checks_write_nothing() -> None:
    url, prefix = redis_url(), fresh_prefix()
    async with redis_backend(prefix) as backend:
        await backend.acquire([Hit("ip:a", Rate(100, MINUTE)),
                               Hit("tpm:k", Rate(1000, MINUTE), cost=0, unit="tokens")])
        ttls = await trio.to_thread.run_sync(redis_keys, url, prefix)
        assert list(ttls) == [f"{prefix}ip:a"]  # the zero-cost check wrote nothing
        assert 1000 < ttls[f"{prefix}ip:a"] <= 1600  # 0.6 s of the minute used, + 1 s slack
        await backend.acquire([Hit("ip:b", Rate(20, 0.2))])  # full again after 10 ms
        for _ in range(50):  # expired by Redis within ~1 s, not swept by us
            await trio.sleep(0.1)
            if f"{prefix}ip:b" not in await trio.to_thread.run_sync(redis_keys, url, prefix):
                break
        else:
            pytest.fail("the idle bucket never expired")


async def test_the_bucket_refills_on_the_redis_clock() -> None:
    hit = Hit("ip:a", Rate(5, 0.5))  # a burst of 5, then one per 100 ms
    async with redis_backend() as backend:
        for _ in range(5):
            assert (await backend.acquire([hit])) is not None
        refused = await backend.acquire([hit])
        assert refused is not None
        assert not refused.allowed
        assert 0 < refused.retry_after <= 0.1
        await trio.sleep(refused.retry_after + 0.02)
        again = await backend.acquire([hit])
        assert again is not None
        assert again.allowed


async def test_decisions_asked_together_share_one_round_trip() -> None:
    commands: list[int] = []
    async with redis_backend() as backend:
        send = backend._send

        def counting(calls):  # type: ignore[no-untyped-def]
            commands.append(len(calls))
            return send(calls)

        backend._batcher._send = counting
        async with trio.open_nursery() as nursery:
            for i in range(50):
                nursery.start_soon(backend.acquire, [Hit(f"ip:{i}", Rate(10, MINUTE))])
    assert sum(commands) == 50
    assert len(commands) < 50  # the first call went alone; the rest waited together


async def test_the_script_is_loaded_again_after_a_flush() -> None:
    async with redis_backend() as backend:
        first = await backend.acquire([Hit("ip:a", Rate(10, MINUTE))])
        with redis.Redis.from_url(redis_url()) as client:
            client.script_flush()
        second = await backend.acquire([Hit("ip:a", Rate(10, MINUTE))])
    assert first is not None
    assert second is not None
    assert (first.remaining, second.remaining) == (9, 8)


# -- outages ------------------------------------------------------------------------------


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts connections (the kernel's backlog) and never answers."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        yield server.getsockname()[1]


async def test_an_unreachable_redis_raises_backend_unavailable_without_the_password() -> None:
    url = f"redis://:{PASSWORD}@127.0.0.1:{closed_port()}/0"
    async with running(RedisBackend(url, prefix=fresh_prefix(), cooldown=60)) as backend:
        with pytest.raises(BackendUnavailable) as first:
            await backend.acquire([Hit("ip:a", Rate(10, MINUTE))])
        with trio.fail_after(0.05):  # the cooldown: no second attempt, no wait
            with pytest.raises(BackendUnavailable) as second:
                await backend.acquire([Hit("ip:a", Rate(10, MINUTE))])
    assert "ConnectionError" in str(first.value)
    assert str(second.value) == str(first.value)
    assert PASSWORD not in str(first.value)


async def test_a_redis_that_never_answers_times_out(silent_server: int) -> None:
    url = f"redis://127.0.0.1:{silent_server}/0"
    async with running(RedisBackend(url, prefix=fresh_prefix(), timeout=0.2)) as backend:
        with trio.fail_after(3), pytest.raises(BackendUnavailable, match="Timeout"):
            await backend.acquire([Hit("ip:a", Rate(10, MINUTE))])


def outage_config(on_error: str, port: int) -> dict[str, str]:
    return {"OPENRESPONSES_REDIS_URL": f"redis://:{PASSWORD}@127.0.0.1:{port}/0",
            "OPENRESPONSES_RATE_LIMIT_ON_ERROR": on_error}


async def test_fail_open_admits_counts_and_logs_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    config = load_config(env=outage_config("allow", closed_port()), path=None)
    metrics = Metrics()
    caplog.set_level(logging.WARNING, "openresponses.rate_limiter")
    async with started(rate_limiter(config, metrics)) as limiter:
        for _ in range(5):
            assert await limiter.ask(Check((Hit("ip:a", Rate(1, MINUTE)),))) is None
        await limiter.send(Charge(Hit("tpm:k", Rate(10, MINUTE), cost=5, unit="tokens")))
        assert await limiter.ask(Check((Hit("ip:a", Rate(1, MINUTE)),))) is None  # alive
    assert metrics.sample("openresponses_rate_limiter_errors_total", {"outcome": "allowed"}) == 6
    assert metrics.sample("openresponses_rate_limiter_errors_total",
                          {"outcome": "charge_dropped"}) == 1
    [record] = caplog.records  # one line for the storm, not one per request
    assert "OPENRESPONSES_RATE_LIMIT_ON_ERROR=allow" in record.getMessage()
    assert PASSWORD not in caplog.text
    assert config.redis_url is not None
    assert config.redis_url not in caplog.text


async def test_fail_closed_refuses_with_a_503_rate_limiter_unavailable() -> None:
    config = load_config(env=outage_config("deny", closed_port()), path=None)
    metrics = Metrics()
    async with started(rate_limiter(config, metrics)) as limiter:
        with pytest.raises(LimiterUnavailable) as refused:
            await limiter.ask(Check((Hit("ip:a", Rate(1, MINUTE)),)))
    error = refused.value
    assert (error.status, error.type, error.code) == (503, "server_error",
                                                      "rate_limiter_unavailable")
    assert PASSWORD not in error.message
    assert metrics.sample("openresponses_rate_limiter_errors_total", {"outcome": "denied"}) == 1


def test_the_outage_log_reports_at_most_once_per_period(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [0.0]
    log = OutageLog(None, clock=lambda: now[0])
    caplog.set_level(logging.WARNING, "openresponses.rate_limiter")
    for step in range(25):
        now[0] = step  # one failure a second for 25 s
        log.report(BackendUnavailable("down"), "allowed")
    assert [r.fields["unreported"] for r in caplog.records] == [0, 9, 9]  # type: ignore[attr-defined]


def test_config_reads_redis_settings_and_masks_the_url() -> None:
    env = outage_config("deny", 6379)
    config = load_config(env={**env, "OPENRESPONSES_REDIS_PREFIX": "gw1:"}, path=None)
    assert (config.rate_limit_on_error, config.redis_key_prefix) == ("deny", "gw1:")
    assert PASSWORD not in repr(config)
    assert {env["OPENRESPONSES_REDIS_URL"], PASSWORD} <= set(config_secrets(config))
    assert load_config(env={}, path=None).redis_url is None
    assert load_config(env={}, path=None).rate_limit_on_error == "allow"
    with pytest.raises(ValueError, match="allow or deny"):
        load_config(env={"OPENRESPONSES_RATE_LIMIT_ON_ERROR": "maybe"}, path=None)
    with pytest.raises(ValueError, match="redis://") as bad:
        load_config(env={"OPENRESPONSES_REDIS_URL": f"http://:{PASSWORD}@host"}, path=None)
    assert PASSWORD not in str(bad.value)


def test_without_a_redis_url_the_limiter_is_in_memory() -> None:
    assert rate_limiter(load_config(env={}, path=None), None)().concurrency == 1
    config = load_config(env={"OPENRESPONSES_REDIS_URL": "redis://127.0.0.1:6379/0"}, path=None)
    assert rate_limiter(config, None)().concurrency > 1  # decisions wait together
