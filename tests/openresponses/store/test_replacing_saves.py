"""Saves that replace (``StoredResponse.replaces``: a background response's progress) write
over the response's row while it exists and never make it again once it was deleted, by any
process: a deleted background response stays deleted, on every backend. A cancel from another
process (``Store.cancel_response``) marks only an unfinished response, and the run's later
saves never write over it: what stays stored is what the canceller answered."""

from __future__ import annotations

import attrs
import pytest

from openresponses.store.base import Store
from tests.openresponses.store.samples import record


def test_a_replacing_save_updates_the_stored_response_and_its_items(store: Store) -> None:
    store.save_batch([record("resp_1", status="queued", items=3)])
    store.save_batch([attrs.evolve(record("resp_1", status="completed", items=1),
                                   replaces=True)])
    found = store.get("alice", "resp_1")
    assert found is not None
    assert found.response["status"] == "completed"
    assert [item["id"] for item in found.input_items] == ["resp_1_item0"]


def test_a_replacing_save_of_a_deleted_response_stores_nothing(store: Store) -> None:
    store.save_batch([record("resp_1", status="queued"), record("resp_2")])
    assert store.delete("alice", "resp_1")  # e.g. by another process, while it ran
    store.save_batch([attrs.evolve(record("resp_1", status="completed"), replaces=True),
                      record("resp_3")])
    assert store.get("alice", "resp_1") is None
    assert store.input_items("alice", "resp_1", limit=5, order="asc", after=None,
                             before=None) is None
    assert store.get("alice", "resp_3") is not None  # the rest of the batch is stored


def test_a_replacing_save_after_the_first_save_in_one_batch_is_stored(store: Store) -> None:
    first = record("resp_1", status="queued", items=2)
    later = attrs.evolve(record("resp_1", status="in_progress", items=1), replaces=True)
    store.save_batch([first, later])
    found = store.get("alice", "resp_1")
    assert found is not None
    assert found.response["status"] == "in_progress"
    assert [item["id"] for item in found.input_items] == ["resp_1_item0"]


def test_a_replacing_save_never_touches_another_owners_response(store: Store) -> None:
    store.save_batch([record("resp_1", owner="alice", status="completed")])
    store.save_batch([attrs.evolve(record("resp_1", owner="mallory", status="hijacked"),
                                   replaces=True)])
    found = store.get("alice", "resp_1")
    assert found is not None
    assert found.response["status"] == "completed"
    assert store.get("mallory", "resp_1") is None


@pytest.mark.parametrize("replaces_first", [True, False])
def test_a_batch_mixing_replacing_and_new_saves_keeps_the_last_record(
    store: Store, replaces_first: bool
) -> None:
    store.save_batch([record("resp_1", status="queued")])
    first = attrs.evolve(record("resp_1", status="in_progress"), replaces=replaces_first)
    last = attrs.evolve(record("resp_1", status="completed"), replaces=True)
    store.save_batch([first, last])
    found = store.get("alice", "resp_1")
    assert found is not None
    assert found.response["status"] == "completed"


def test_a_cancel_marks_only_an_unfinished_response_and_answers_it_as_it_is(
    store: Store
) -> None:
    """Cancels from another process wrote a stale snapshot marked cancelled over a response
    that had just completed: its output was lost (fuzzed on two gateways, 1 in 60)."""
    store.save_batch([record("resp_run", status="in_progress"),
                      record("resp_done", status="completed")])
    cancelled = store.cancel_response("alice", "resp_run")
    assert cancelled is not None
    assert cancelled["status"] == "cancelled"
    found = store.get("alice", "resp_run")
    assert found is not None
    assert found.response["status"] == "cancelled"
    done = store.cancel_response("alice", "resp_done")
    assert done is not None
    assert done["status"] == "completed"
    assert store.cancel_response("mallory", "resp_run") is None
    assert store.cancel_response("alice", "resp_unknown") is None


def test_a_run_s_later_saves_never_write_over_a_cancel(store: Store) -> None:
    store.save_batch([record("resp_1", status="in_progress")])
    store.cancel_response("alice", "resp_1")
    completed = attrs.evolve(record("resp_1", status="completed", items=1), replaces=True)
    store.save_batch([completed])
    found = store.get("alice", "resp_1")
    assert found is not None
    assert found.response["status"] == "cancelled"  # the run's end did not uncancel it
    with_output = attrs.evolve(record("resp_1", status="cancelled", items=1), replaces=True)
    store.save_batch([with_output])  # the run storing its cancel, with what it made
    found = store.get("alice", "resp_1")
    assert found is not None
    assert [item["id"] for item in found.input_items] == ["resp_1_item0"]
