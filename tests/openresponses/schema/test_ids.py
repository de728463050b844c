"""Our ids sort by creation time: a millisecond stamp, a sequence, then 132 random bits."""

from __future__ import annotations

import re
import threading
import time

from openresponses.schema import ids
from openresponses.schema.ids import item_id, new_id

SHAPE = re.compile(r"^resp_[0-9a-f]{48}$")


def test_ids_keep_openais_shape_and_carry_their_time() -> None:
    before = time.time_ns() // 1_000_000
    made = new_id("resp")
    after = time.time_ns() // 1_000_000
    assert SHAPE.match(made), made
    assert before <= int(made[5:17], 16) <= after + 1
    assert item_id("function_call").startswith("fc_")


def test_ids_made_in_a_row_sort_in_the_order_they_were_made() -> None:
    made = [new_id("resp") for _ in range(5000)]  # many share a millisecond
    assert made == sorted(made)
    assert len(set(made)) == len(made)


def test_ids_made_from_many_threads_are_unique_and_each_threads_ascend() -> None:
    made: dict[int, list[str]] = {}

    def work(n: int) -> None:
        made[n] = [new_id("msg") for _ in range(2000)]

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(run == sorted(run) for run in made.values())
    assert len({i for run in made.values() for i in run}) == 8000


def test_the_random_part_differs_between_ids_of_the_same_millisecond() -> None:
    tails = {new_id("resp")[20:] for _ in range(1000)}
    assert len(tails) == 1000
    assert len({tail[:8] for tail in tails}) > 990  # random bits, not a counter


def test_a_clock_that_steps_back_does_not_reorder_ticks() -> None:
    readings = iter([5_000, 5_000, 4_000, *[4_000] * 5000, 9_000])
    clock = ids._Clock(lambda: next(readings))
    ticks = [clock.tick() for _ in range(5004)]
    assert ticks[:3] == [(5_000, 0), (5_000, 1), (5_000, 2)]  # stepped back: the sequence goes on
    assert ticks == sorted(ticks)
    assert len(set(ticks)) == len(ticks)
    assert ticks[4096] == (5_001, 0)  # 4096 in one millisecond: the next one is borrowed
    assert ticks[-1] == (9_000, 0)
