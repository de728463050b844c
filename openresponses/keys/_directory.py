"""Key look-ups on the request path: a small time-bounded cache in front of the store.

Every request in keys mode needs its key's record. The directory keeps what it read (found or
not) for ``ttl`` seconds, so a busy key costs a dict look-up, not a storage round trip. Changes
made through this process (the admin API) take effect at once (``forget``); changes made
elsewhere (the CLI, another gateway process) within ``ttl`` seconds.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import trio

from openresponses.keys._record import KeyRecord

Lookup = Callable[[str], Awaitable[KeyRecord | None]]


class KeyDirectory:
    """Finds key records by hash, caching answers for ``ttl`` seconds (trio clock)."""

    def __init__(self, lookup: Lookup, *, ttl: float = 5.0, max_entries: int = 10_000) -> None:
        self._lookup = lookup
        self._ttl = ttl
        self._max_entries = max_entries
        self._cache: dict[str, tuple[float, KeyRecord | None]] = {}

    async def find(self, key_hash: str) -> KeyRecord | None:
        """The record of the key with this hash, or None if there is none.

        Storage errors propagate. Cancellation: nothing is cached.
        """
        now = trio.current_time()
        cached = self._cache.get(key_hash)
        if cached is not None and cached[0] > now:
            return cached[1]
        record = await self._lookup(key_hash)
        if len(self._cache) >= self._max_entries:
            self._cache.clear()  # rare: a flood of distinct keys; the cache refills
        self._cache[key_hash] = (trio.current_time() + self._ttl, record)
        return record

    def forget(self, key_hash: str) -> None:
        """Drop what is cached for this key (it was just created, changed or revoked)."""
        self._cache.pop(key_hash, None)
