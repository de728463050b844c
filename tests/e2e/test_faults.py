"""Fault tolerance against a misbehaving upstream (tests/fakes/faulty.py).

Every fault ends in a clear error: an HTTP error before any output, else an ``error`` event and
``response.failed``, stored exactly as the client saw it. Afterwards no model call is in flight
and the upstream sees every connection closed (nothing leaked).
"""

from __future__ import annotations

import gc
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import attrs
import httpx2
import pytest
import trio

from openresponses import server
from openresponses.config import load_config
from openresponses.gateway.provider_pool import ProviderPool
from tests.e2e.live import (
    AUTH,
    assert_quiet,
    faulty_config,
    live_gateway,
    post_stream,
    scrape,
    stored,
    value,
)
from tests.fakes.faulty import Fault, FaultyUpstream
from tests.fakes.keys import FAULTY_PROVIDER_KEY
from tests.fakes.script import Script, chat_stream

BODY = {"model": "faulty@m", "input": "hello"}


@pytest.fixture
async def root(faulty: FaultyUpstream, tmp_path: Path) -> AsyncIterator[str]:
    """A gateway whose ``faulty`` provider times out reads after 0.5 s."""
    async with live_gateway(faulty_config(tmp_path, faulty.url, read_timeout=0.5)) as url:
        yield url


async def settle(http: httpx2.AsyncClient, root: str, faulty: FaultyUpstream) -> None:
    """Nothing in flight in the gateway, every upstream connection closed."""
    await assert_quiet(http, root, "faulty")
    with trio.fail_after(3):
        await faulty.all_closed()


async def test_faults_before_any_output_are_plain_http_errors(
    root: str, faulty: FaultyUpstream
) -> None:
    cases: list[tuple[Fault, int]] = [("garbage", 502), ("stall_headers", 504), ("5xx", 502)]
    async with httpx2.AsyncClient(timeout=10) as http:
        for fault, status in cases:
            faulty.queue(fault)
            with trio.fail_after(5):
                outcome = await post_stream(http, root, BODY)
            assert outcome.status == status, fault
            assert outcome.error["type"] == "server_error"
            assert outcome.error["message"]
            assert faulty.url not in outcome.error["message"]
            await settle(http, root, faulty)
        for stream in (True, False):
            response = await http.post(f"{root}/v1/responses", headers=AUTH,
                                       json={"model": "down@m", "input": "x", "stream": stream})
            assert response.status_code == 502, response.text
            assert response.json()["error"]["message"] == "could not connect to upstream"
        await assert_quiet(http, root, "down")


async def test_faults_mid_stream_end_failed_and_are_stored_as_seen(
    root: str, faulty: FaultyUpstream
) -> None:
    faults: list[Fault] = ["ok", "reset", "malformed", "stall"]
    async with httpx2.AsyncClient(timeout=10) as http:
        for fault in faults:
            faulty.queue(fault)
            started = trio.current_time()
            with trio.fail_after(5):  # the stall ends at the 0.5 s read timeout
                outcome = await post_stream(http, root, BODY)
            elapsed = trio.current_time() - started
            assert outcome.status == 200
            assert outcome.types[0] == "response.created"
            final = outcome.events[-1]["response"]
            assert await stored(http, root, outcome.response_id) == final
            assert FAULTY_PROVIDER_KEY not in str(outcome.events)
            await settle(http, root, faulty)
            if fault == "ok":
                assert final["status"] == "completed"
                continue
            assert outcome.types[-2:] == ["error", "response.failed"], fault
            assert final["status"] == "failed"
            assert final["error"]["message"]
            if fault == "stall":
                assert 0.4 < elapsed < 3.0
                assert outcome.events[-2]["code"] == "upstream_timeout"


async def test_5xx_storm_ends_in_clear_errors_and_nothing_leaks(
    root: str, faulty: FaultyUpstream
) -> None:
    faulty.default = "5xx"
    statuses: list[int] = []
    async with httpx2.AsyncClient(timeout=10) as http:

        async def one() -> None:
            outcome = await post_stream(http, root, BODY)
            assert outcome.error["type"] == "server_error"
            statuses.append(outcome.status)

        with trio.fail_after(5):
            async with trio.open_nursery() as nursery:
                for _ in range(24):
                    nursery.start_soon(one)
        assert len(statuses) == 24
        assert set(statuses) <= {502, 503}  # 503 once a circuit breaker sheds the storm
        await settle(http, root, faulty)
        samples = await scrape(http, root)
        errors = value(samples, "openresponses_model_calls_total", provider="faulty", model="m",
                       outcome="error")
        assert errors == 24  # each call failed (upstream 500, or shed by the breaker)


def rss_bytes(pid: int) -> int:
    """The resident set size of process ``pid`` (``VmRSS`` in ``/proc/<pid>/status``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for process {pid}")


@attrs.define
class RssWatch:
    """Samples a process's RSS every 10 ms while ``watching``; keeps the peak."""

    pid: int
    peak: int = 0

    async def sample(self) -> None:
        while True:
            self.peak = max(self.peak, rss_bytes(self.pid))
            await trio.sleep(0.01)

    @asynccontextmanager
    async def watching(self) -> AsyncIterator[None]:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self.sample)
            yield
            nursery.cancel_scope.cancel()


def settled_rss(pid: int) -> int:
    gc.collect()
    return rss_bytes(pid)


FLOOD_WAVES, FLOOD_WAVE = 4, 28  # 112 requests past the two the provider holds, per flood
FLOOD_INPUT = "x" * 128 * 1024  # 14 MB of request bodies per flood: a leak would show
MiB = 1024 * 1024


@attrs.define
class Flood:
    """Floods a gateway whose ``faulty`` provider holds two requests; records what came back."""

    http: httpx2.AsyncClient
    root: str
    faulty: FaultyUpstream
    shed: list[float] = attrs.Factory(list)  # seconds each 503 took
    served: list[int] = attrs.Factory(list)

    async def one(self, body: dict[str, str]) -> None:
        started = trio.current_time()
        response = await self.http.post(f"{self.root}/v1/responses", json=body, headers=AUTH)
        if response.status_code == 503:
            assert response.json()["error"]["code"] == "overloaded"
            self.shed.append(trio.current_time() - started)
        else:
            self.served.append(response.status_code)

    async def run(self) -> None:
        """Two requests take the provider's connection and mailbox slot; then waves of big
        requests are shed; then the two are released."""
        self.faulty.default, self.faulty.release = "hold", trio.Event()
        body = {"model": "faulty@m", "input": "x"}
        async with trio.open_nursery() as holders:
            for _ in range(2):
                holders.start_soon(self.one, body)
            with trio.fail_after(5):
                await assert_busy(self.http, self.root)
            for _ in range(FLOOD_WAVES):
                async with trio.open_nursery() as wave:
                    for _ in range(FLOOD_WAVE):
                        wave.start_soon(self.one, {**body, "input": FLOOD_INPUT})
            self.faulty.release.set()
        self.faulty.default = "ok"


async def test_flood_beyond_the_provider_mailbox_gets_fast_503s_then_recovers(
    faulty: FaultyUpstream, tmp_path: Path
) -> None:
    """One connection and a one-message mailbox: two requests fit, the rest are shed at once.
    The gateway's memory (this process's RSS: the gateway runs in it) is bounded by the
    concurrency, not by the number of requests: a second flood takes no more memory."""
    config = faulty_config(tmp_path, faulty.url, max_connections=1, env={
        "OPENRESPONSES_PROVIDER_MAILBOX": "1", "OPENRESPONSES_RATE_LIMIT_IP_PER_MINUTE": "0",
        "OPENRESPONSES_RATE_LIMIT_KEY_PER_DAY": "0"})
    body = {"model": "faulty@m", "input": "x"}
    limits = httpx2.Limits(max_connections=FLOOD_WAVE + 2)
    async with live_gateway(config) as root, httpx2.AsyncClient(timeout=10,
                                                                  limits=limits) as http:
        for _ in range(3):  # warm up: imports, caches and pools are in place
            assert (await http.post(f"{root}/v1/responses", json=body,
                                    headers=AUTH)).status_code == 200
        before = settled_rss(os.getpid())
        flood, watch = Flood(http, root, faulty), RssWatch(os.getpid())
        async with watch.watching():
            await flood.run()
        assert flood.served == [200, 200]
        assert len(flood.shed) == FLOOD_WAVES * FLOOD_WAVE
        assert max(flood.shed) < 1.0
        for _ in range(3):  # recovered: sequential requests all go through
            response = await http.post(f"{root}/v1/responses", json=body, headers=AUTH)
            assert response.status_code == 200
        after_one = settled_rss(os.getpid())
        await Flood(http, root, faulty).run()
        after_two = settled_rss(os.getpid())
        assert watch.peak - before < 96 * MiB, (before, watch.peak)
        assert after_two - after_one < 6 * MiB, (after_one, after_two)  # ~14 MB if it leaked
        samples = await scrape(http, root)
        assert value(samples, "openresponses_http_requests_total", route="/v1/responses",
                     method="POST", provider="faulty", status="503") == 2 * len(flood.shed)
        await settle(http, root, faulty)


async def assert_busy(http: httpx2.AsyncClient, root: str) -> None:
    """Wait until the provider holds its one connection and its one mailbox slot."""
    while True:
        samples = await scrape(http, root)
        if value(samples, "openresponses_active_streams", provider="faulty") == 2:
            return
        await trio.sleep(0.01)


class CrashSwitch:
    """Crashes the provider actor while it serves a request (see ``crashing_pool``)."""

    def __init__(self) -> None:
        self.fire = trio.Event()


def crashing_pool(switch: CrashSwitch) -> type[ProviderPool]:
    class CrashingPool(ProviderPool):
        """A pool with a task in its context nursery that raises when the switch fires: a
        crash of the actor itself, not an error answering one message."""

        async def on_start(self) -> None:
            await super().on_start()
            self.context.nursery.start_soon(self._bomb)

        async def _bomb(self) -> None:
            await switch.fire.wait()
            switch.fire = trio.Event()
            raise RuntimeError("injected crash")

    return CrashingPool


def crash_transport(switch: CrashSwitch) -> httpx2.MockTransport:
    """Fires the switch for inputs naming ``crash-now`` (before answering) or ``crash-later``
    (after the first events); answers other requests normally."""

    async def handler(request: httpx2.Request) -> httpx2.Response:
        events = chat_stream(Script(text="fine"), "m")
        if b"crash-now" in request.content:
            switch.fire.set()
            await trio.sleep_forever()

        async def body() -> AsyncIterator[bytes]:
            yield b"".join(events[:2])
            if b"crash-later" in request.content:
                switch.fire.set()
                await trio.sleep_forever()
            yield b"".join(events[2:])

        return httpx2.Response(200, headers={"content-type": "text/event-stream"},
                               content=body())

    return httpx2.MockTransport(handler)


async def test_crashed_provider_actor_restarts_and_its_requests_fail_cleanly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    switch = CrashSwitch()
    monkeypatch.setattr(server, "ProviderPool", crashing_pool(switch))
    config = load_config(env={"OPENRESPONSES_STORE": f"sqlite:///{tmp_path}/g.db",
                              "GROQ_BASE_URL": "http://fake.invalid/v1",
                              "OPENRESPONSES_UPSTREAM_RETRIES": "0"}, path=None)
    transport = crash_transport(switch)
    body = {"model": "groq@m", "input": "crash-now"}
    async with live_gateway(config, transports=lambda name: transport) as root, \
            httpx2.AsyncClient(timeout=10) as http:
        with trio.fail_after(5):
            before = await post_stream(http, root, body)
            during = await post_stream(http, root, {**body, "input": "crash-later"})
            after = await post_stream(http, root, {**body, "input": "all well"})
        assert before.status == 502
        assert before.error["type"] == "server_error"
        assert during.types[0] == "response.created"
        assert during.types[-2:] == ["error", "response.failed"]
        assert await stored(http, root, during.response_id) == during.events[-1]["response"]
        assert after.types[-1] == "response.completed"
        samples = await scrape(http, root)
        assert value(samples, "openresponses_actor_restarts_total", actor="provider:groq") == 2
        await assert_quiet(http, root, "groq")


async def test_early_error_responses_close_the_connection_so_the_next_request_never_hangs(
    root: str,
) -> None:
    """A 401 raised before the body is read used to leave, now and then, a keep-alive
    connection whose next request hypercorn never answered (about 1 in 10)."""
    body = {"model": "faulty@m", "input": "x"}
    async with httpx2.AsyncClient(timeout=2) as http:
        with trio.fail_after(10):
            for _ in range(40):
                response = await http.post(f"{root}/v1/responses", json=body)
                assert response.status_code == 401
        kept = await http.get(f"{root}/health")
        assert "connection" not in kept.headers
