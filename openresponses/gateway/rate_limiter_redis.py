"""Rate-limit buckets in Redis, shared by every gateway process that names the same server.

``OPENRESPONSES_REDIS_URL`` selects this backend. A bucket is one Redis string, the GCRA
theoretical arrival time (TAT) in seconds, under ``OPENRESPONSES_REDIS_PREFIX`` + the bucket's
name. One Lua script (``SCRIPT``) takes all of a request's buckets at once, so the decision is
atomic across processes: it reads the Redis clock (``TIME``, one clock for every process), reads
every bucket, and writes them (with ``PX``, so an idle bucket expires once it is full again)
only if all allow the request. It returns the clock and the TATs it read, from which
``rate_limiter.evaluate`` computes the same ``Decision`` as the memory backend: the script runs
that arithmetic on the same doubles (the numbers travel as exact decimal strings), so both sides
reach the same verdict.

Round trips: redis-py's client is synchronous (``redis.asyncio`` is asyncio-only), so it runs in
a worker thread owned by this backend, one call at a time. The rate-limiter actor handles many
decisions at once; they queue in a ``_Batcher`` whose one task sends every decision waiting as
one pipeline of ``EVALSHA`` calls: one round trip per batch, never more than one per decision.
The script is loaded (``SCRIPT LOAD``) only when Redis answers ``NOSCRIPT``.

Failures: short socket timeouts bound every call. A failed call raises ``BackendUnavailable``
for every decision of its batch, and for ``cooldown`` seconds after it decisions fail at once
without touching Redis (an outage costs no latency); the actor then applies
``OPENRESPONSES_RATE_LIMIT_ON_ERROR``. Messages never carry the URL or its password.

Redis Cluster is not supported: a request's buckets are different keys, so they may live on
different shards, which one script cannot touch.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from functools import partial
from urllib.parse import urlsplit

import attrs
import redis
import trio
from redis.backoff import NoBackoff
from redis.exceptions import NoScriptError
from redis.retry import Retry

from openresponses.config import Config
from openresponses.gateway.rate_limiter import (
    BackendUnavailable,
    Decision,
    Hit,
    RateLimiter,
    binding,
    evaluate,
)
from openresponses.observability.metrics import Metrics

# KEYS: the buckets. ARGV[1]: "acquire" (charge all if all allow) or "charge" (charge all);
# then, per bucket, its emission interval, cost and period in seconds.
# Returns {now, 1 if charged else 0, the TAT read from each bucket or ""}.
SCRIPT = """
local mode = ARGV[1]
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local charged = 1
local read, tats = {}, {}
for i, key in ipairs(KEYS) do
  local at = 2 + (i - 1) * 3
  local interval, cost, period = tonumber(ARGV[at]), tonumber(ARGV[at + 1]), tonumber(ARGV[at + 2])
  local raw = redis.call('GET', key)
  local tat = now
  if raw then tat = math.max(tonumber(raw), now) end
  tats[i] = tat + interval * cost
  read[i] = raw or ''
  if mode == 'acquire' and tats[i] - period > now + 1e-9 then charged = 0 end
end
if charged == 1 then
  for i, key in ipairs(KEYS) do
    if tonumber(ARGV[3 + (i - 1) * 3]) > 0 then
      local ttl = math.ceil((tats[i] - now) * 1000) + 1000
      redis.call('SET', key, string.format('%.17g', tats[i]), 'PX', ttl)
    end
  end
end
return {string.format('%.17g', now), charged, unpack(read)}
"""
SCRIPT_SHA = hashlib.sha1(SCRIPT.encode()).hexdigest()
PIPELINE_DEPTH = 512  # decisions the actor lets wait together for one round trip

Call = tuple[str, tuple[str, ...], tuple[str, ...]]  # mode, keys, args
Reply = list[bytes | int]


class RedisBackend:
    """A ``LimiterBackend`` on a Redis server; see the module docstring."""

    def __init__(self, url: str, *, prefix: str, timeout: float = 0.5,
                 cooldown: float = 1.0) -> None:
        self._client = redis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 1, supported_errors=(redis.ConnectionError,)),
            max_connections=4)
        self._prefix = prefix
        self._password = urlsplit(url).password
        self._batcher = _Batcher(self._send, cooldown=cooldown, describe=self._describe)

    async def acquire(self, hits: Sequence[Hit]) -> Decision | None:
        if not hits:
            return None
        reply = await self._batcher.submit(self._call("acquire", hits))
        now = float(reply[0])
        read = [float(raw) if raw else None for raw in reply[2:]]
        decisions = [evaluate(hit, tat, now)[1] for hit, tat in zip(hits, read, strict=True)]
        return binding(hits, decisions)

    async def charge(self, hit: Hit) -> None:
        await self._batcher.submit(self._call("charge", [hit]))

    async def sweep(self) -> None:
        """Nothing to do: buckets expire in Redis once they are full again."""

    async def run(self) -> None:
        """Send the batches until cancelled; then close the connections."""
        try:
            await self._batcher.run()
        finally:
            self._client.close()

    def _call(self, mode: str, hits: Sequence[Hit]) -> Call:
        args = [mode]
        for hit in hits:
            args += [repr(hit.rate.period / hit.rate.limit), str(hit.cost),
                     repr(float(hit.rate.period))]
        return mode, tuple(self._prefix + hit.bucket for hit in hits), tuple(args)

    def _send(self, calls: Sequence[Call]) -> list[Reply | Exception]:
        """One pipeline of EVALSHA calls (in a worker thread); calls that met ``NOSCRIPT`` ran
        nothing, so they are sent again once the script is loaded."""
        replies = self._pipeline(calls)
        missing = [i for i, reply in enumerate(replies) if isinstance(reply, NoScriptError)]
        if missing:
            self._client.script_load(SCRIPT)
            for i, reply in zip(missing, self._pipeline([calls[i] for i in missing]),
                                strict=True):
                replies[i] = reply
        return replies

    def _pipeline(self, calls: Sequence[Call]) -> list[Reply | Exception]:
        pipe = self._client.pipeline(transaction=False)
        for _, keys, args in calls:
            pipe.evalsha(SCRIPT_SHA, len(keys), *keys, *args)
        replies: list[Reply | Exception] = pipe.execute(raise_on_error=False)
        return replies

    def _describe(self, error: BaseException) -> str:
        """What went wrong, without the password (redis-py names the host, never the URL)."""
        text = f"{type(error).__name__}: {error}"
        return text.replace(self._password, "[redacted]") if self._password else text


@attrs.define(eq=False)
class _Pending:
    call: Call
    done: trio.Event = attrs.Factory(trio.Event)
    outcome: Reply | Exception | None = None
    abandoned: bool = False  # its asker left before it was sent: not sent at all


class _Batcher:
    """Decisions waiting together go out together, from one worker thread at a time."""

    def __init__(self, send: Callable[[Sequence[Call]], list[Reply | Exception]], *,
                 cooldown: float, describe: Callable[[BaseException], str]) -> None:
        self._send = send
        self._cooldown = cooldown
        self._describe = describe
        self._queue: list[_Pending] = []
        self._wake = trio.Event()
        self._thread = trio.CapacityLimiter(1)
        self._down_until = -float("inf")
        self._down_reason = ""

    async def submit(self, call: Call) -> Reply:
        """The script's reply to ``call``; raises ``BackendUnavailable``. Cancelled before
        its batch is sent, the call is dropped; after, it may still take effect."""
        pending = _Pending(call)
        self._queue.append(pending)
        self._wake.set()
        try:
            await pending.done.wait()
        finally:
            pending.abandoned = not pending.done.is_set()
        outcome = pending.outcome
        if isinstance(outcome, BackendUnavailable):
            raise BackendUnavailable(str(outcome))
        if isinstance(outcome, Exception):
            raise BackendUnavailable(f"the script failed ({self._describe(outcome)})")
        assert outcome is not None
        return outcome

    async def run(self) -> None:
        """Send whatever is waiting, batch after batch, until cancelled."""
        while True:
            await self._wake.wait()
            self._wake = trio.Event()
            batch = [pending for pending in self._queue if not pending.abandoned]
            self._queue = []
            if batch:
                outcomes = await self._execute([pending.call for pending in batch])
                for pending, outcome in zip(batch, outcomes, strict=True):
                    pending.outcome = outcome
                    pending.done.set()

    async def _execute(self, calls: list[Call]) -> list[Reply | Exception]:
        if trio.current_time() < self._down_until:
            return [BackendUnavailable(self._down_reason)] * len(calls)
        try:
            return await trio.to_thread.run_sync(self._send, calls, limiter=self._thread)
        except (redis.RedisError, OSError) as exc:
            self._down_until = trio.current_time() + self._cooldown
            self._down_reason = self._describe(exc)
            return [BackendUnavailable(self._down_reason)] * len(calls)


def rate_limiter(config: Config, metrics: Metrics | None) -> Callable[[], RateLimiter]:
    """The rate-limiter actor the configuration asks for: buckets in Redis when
    ``config.redis_url`` is set, else in memory (per process)."""
    if config.redis_url is None:
        return partial(RateLimiter, metrics=metrics)
    backend = partial(RedisBackend, config.redis_url, prefix=config.redis_key_prefix)
    return partial(RateLimiter, backend, concurrency=PIPELINE_DEPTH,
                   on_error=config.rate_limit_on_error, metrics=metrics)
