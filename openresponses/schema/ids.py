"""Our ids: ``resp_…``, ``msg_…``, ``fc_…``, ``rs_…`` — never an upstream one.

An id is ``<prefix>_`` and 48 hex characters (OpenAI's length): 12 of milliseconds since the
epoch, 3 of a sequence number within that millisecond, 33 random (132 bits). So ids sort by
creation time — ``GET /v1/responses`` lists responses of the same second newest first by
comparing ids — and within one process strictly in the order they were made (the sequence
counts up within a millisecond and, should the clock step back or 4096 ids share a millisecond,
the stamp moves on past the last one used). Across processes, ids of the same millisecond
order at random.

An id is a name, not a secret: every read is scoped by the caller's key, so knowing (or
guessing) another owner's id reveals nothing. The random part only keeps ids unique, so it
comes from a per-process generator seeded from the OS (and seeded again in a forked child),
not from a system call per id: a 1,000-item input makes 1,000 ids.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable

_SEQ_HEX = 3
_RANDOM_HEX = 33  # of the 34 hex characters of 17 random bytes
_SEQ_LIMIT = 16**_SEQ_HEX
_RANDOM_BITS = 4 * _RANDOM_HEX


class _Clock:
    """The (millisecond, sequence) pair of the next id: strictly increasing in this process."""

    def __init__(self, now_ms: Callable[[], int] | None = None) -> None:
        self._now_ms = now_ms  # None: the system clock (read inline, no call)
        self._lock = threading.Lock()  # ids are also made in worker threads
        self._ms = 0
        self._seq = 0

    def tick(self) -> tuple[int, int]:
        now = time.time_ns() // 1_000_000 if self._now_ms is None else self._now_ms()
        with self._lock:
            if now > self._ms:
                self._ms, self._seq = now, 0
            elif self._seq + 1 < _SEQ_LIMIT:
                self._seq += 1
            else:  # the sequence ran out (or the clock stepped back that far): borrow a ms
                self._ms, self._seq = self._ms + 1, 0
            return self._ms, self._seq


_clock = _Clock()
_random = random.Random(os.urandom(32))
os.register_at_fork(after_in_child=lambda: _random.seed(os.urandom(32)))
_random_bits = _random.getrandbits


def new_id(prefix: str) -> str:
    """A fresh id ``<prefix>_<48 hex chars>`` that sorts after every id made before it here."""
    ms, seq = _clock.tick()
    stamp = ms << (4 * _SEQ_HEX) | seq  # 15 hex: 12 of ms (enough until the year 10889), 3 seq
    return f"{prefix}_{stamp << _RANDOM_BITS | _random_bits(_RANDOM_BITS):048x}"


ITEM_PREFIX = {
    "message": "msg",
    "function_call": "fc",
    "function_call_output": "fco",
    "reasoning": "rs",
    "web_search_call": "ws",
    "custom_tool_call": "ctc",
    "mcp_call": "mcp",
    "mcp_list_tools": "mcpl",
    "mcp_approval_request": "mcpr",
}


def item_id(item_type: str) -> str:
    """A fresh id for an item of ``item_type``."""
    return new_id(ITEM_PREFIX.get(item_type, "item"))
