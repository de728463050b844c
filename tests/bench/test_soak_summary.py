"""The soak's summary figures, computed from its one-second timeline."""

from __future__ import annotations

import pytest

from bench.soak import cpu_us_per_chunk, rss_per_stream_kb


def row(t: float, rss_mb: float, cpu: float, upstream: int, clients: int) -> list[float]:
    return [t, rss_mb, cpu, upstream, clients, 0.1, 0.05]


def test_memory_per_stream_is_the_slope_of_rss_over_the_ramp() -> None:
    # 100 MB at start, +0.08 MB (≈ 82 KB) per stream up to the peak; the end (streams
    # closing, RSS kept by the allocator) does not count.
    timeline = [row(t, 100 + 0.08 * 500 * t, 0.5, 500 * t, 500 * t) for t in range(5)]
    timeline += [row(5, 260, 0.3, 1000, 1000), row(6, 260, 0.3, 0, 0)]
    assert rss_per_stream_kb(timeline) == pytest.approx(0.08 * 1024, rel=0.05)


def test_memory_per_stream_needs_a_ramp() -> None:
    assert rss_per_stream_kb([]) is None
    assert rss_per_stream_kb([row(0, 100, 0, 0, 0), row(1, 100, 0, 0, 0)]) is None


def test_cpu_per_chunk_uses_only_the_seconds_all_streams_are_open() -> None:
    timeline = [row(0, 100, 0.9, 500, 500)]  # ramp: opens cost CPU too
    timeline += [row(t, 200, 0.5, 1000, 1000) for t in range(1, 8)]
    timeline[1][2] = timeline[2][2] = 0.9  # the first two full rows still hold a partial ramp
    timeline.append(row(8, 200, 0.1, 1000, 1000))  # the last: a partial second
    timeline.append(row(9, 200, 0.2, 400, 400))  # streams ending
    # rows 3..7 are kept: 0.5 cores for 1,000 chunks a second = 500 µs a chunk
    assert cpu_us_per_chunk(timeline, 1000, 1.0) == pytest.approx(500.0)
    assert cpu_us_per_chunk(timeline[:1], 1000, 1.0) is None
