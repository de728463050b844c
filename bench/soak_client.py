"""The soak's load client, a process of its own: thousands of concurrent streams from raw trio
sockets (no HTTP client library: one stream costs a socket, a task and a few hundred bytes).

Run by ``bench.soak`` (``python -m bench.soak_client``), one or more of them beside the
gateway, so that the client is never what limits the count: each raises its open-file limit,
opens its share of the streams at a steady rate (one request per connection), reads every
answer to its last chunk, and counts the ones that did not end with ``response.completed``.
It writes one JSON line on stdout when all have ended (or at the deadline, the rest counting as
unfinished), and one progress line on stderr a second.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from typing import Any

import attrs
import orjson
import trio

_END = b"response.completed"
_LAST_CHUNK = b"\r\n0\r\n\r\n"


def raise_open_files() -> int:
    """Raise this process's open-file soft limit to its hard limit; the new soft limit."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


@attrs.define
class ClientState:
    opened: int = 0
    completed: int = 0
    open_now: int = 0  # streams whose head came and whose end has not
    peak_open: int = 0
    errors: dict[str, int] = attrs.Factory(dict)
    samples: dict[str, str] = attrs.Factory(dict)  # the last bytes of one answer per error
    ttfb: list[float] = attrs.Factory(list)

    def fail(self, kind: str, tail: bytes = b"") -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1
        self.samples.setdefault(kind, tail[-400:].decode(errors="replace"))


def request_bytes(path: str, body: dict[str, Any], bearer: str) -> bytes:
    payload = orjson.dumps(body)
    head = (f"POST {path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
            f"authorization: Bearer {bearer}\r\ncontent-length: {len(payload)}\r\n"
            "connection: close\r\n\r\n")
    return head.encode() + payload


async def one_stream(port: int, raw: bytes, state: ClientState) -> None:
    """One request, its whole streamed answer read; counted as completed or as an error."""
    start = time.perf_counter()
    try:
        stream = await trio.open_tcp_stream("127.0.0.1", port)
    except OSError as exc:
        state.fail(f"connect: {exc.strerror or exc}")
        return
    state.opened += 1
    head, tail, counted, ended = b"", b"", False, False
    try:
        async with stream:
            await stream.send_all(raw)
            while data := await stream.receive_some(65536):
                if not head:
                    state.ttfb.append(time.perf_counter() - start)
                    head = data[:64]
                    if not head.startswith(b"HTTP/1.1 200"):
                        break
                    counted = True
                    state.open_now += 1
                    state.peak_open = max(state.peak_open, state.open_now)
                # The last event carries the whole response (KBs): look for its type as the
                # bytes pass, keeping only enough of them to find it across two reads.
                tail = tail[-64:] + data
                ended = ended or _END in tail
                if tail.endswith(_LAST_CHUNK):  # the answer is whole
                    break
                tail = tail[-400:]
    except (OSError, trio.BrokenResourceError) as exc:
        state.fail(f"read: {type(exc).__name__}")
        return
    finally:
        if counted:
            state.open_now -= 1
    if not head.startswith(b"HTTP/1.1 200"):
        state.fail(f"status: {head[:12].decode(errors='replace') or 'no answer'}", tail)
    elif not ended:
        state.fail("stream ended without response.completed", tail)
    else:
        state.completed += 1


async def _progress(state: ClientState, t0: float) -> None:
    while True:
        await trio.sleep(1.0)
        print(orjson.dumps({"t": round(time.monotonic() - t0, 1), "open": state.open_now,
                            "opened": state.opened, "completed": state.completed,
                            "errors": sum(state.errors.values())}).decode(),
              file=sys.stderr, flush=True)


async def run(port: int, raw: bytes, streams: int, rate: float, deadline: float,
              state: ClientState) -> bool:
    """Open ``streams`` streams at ``rate`` a second; True if all ended before ``deadline``."""
    t0 = trio.current_time()
    async with trio.open_nursery() as outer:
        outer.start_soon(_progress, state, time.monotonic())
        with trio.move_on_after(deadline) as scope:
            async with trio.open_nursery() as nursery:
                for n in range(streams):
                    # On schedule, not "a pause after each": late wake-ups do not slow the rate.
                    await trio.sleep_until(t0 + n / rate)
                    nursery.start_soon(one_stream, port, raw, state)
        outer.cancel_scope.cancel()
    return not scope.cancelled_caught


def summary(state: ClientState, streams: int, finished: bool) -> dict[str, Any]:
    ttfb = sorted(state.ttfb)
    return {"streams": streams, "opened": state.opened, "completed": state.completed,
            "errors": state.errors, "error_samples": state.samples, "finished_in_time": finished,
            "peak_open": state.peak_open,
            "ttfb_p50_ms": round(statistics.median(ttfb) * 1000, 1) if ttfb else None,
            "ttfb_max_ms": round(ttfb[-1] * 1000, 1) if ttfb else None}


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.soak_client", description=__doc__)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--streams", type=int, required=True)
    p.add_argument("--rate", type=float, required=True, help="streams opened per second")
    p.add_argument("--model", required=True)
    p.add_argument("--bearer", default="bench")
    p.add_argument("--deadline", type=float, required=True, help="seconds")
    args = p.parse_args()
    raise_open_files()
    body = {"model": args.model, "input": "soak", "store": True, "stream": True}
    state = ClientState()
    finished = trio.run(run, args.port, request_bytes("/v1/responses", body, args.bearer),
                        args.streams, args.rate, args.deadline, state)
    print(orjson.dumps(summary(state, args.streams, finished)).decode(), flush=True)


if __name__ == "__main__":
    main()
