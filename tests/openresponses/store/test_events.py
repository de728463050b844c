"""Background records in every store backend: stream events, jobs and their reaping, secrets."""

from __future__ import annotations

from typing import Any

from openresponses.store.background import BackgroundJob
from openresponses.store.base import Store, StoredResponse

ERROR = {"code": "server_error", "message": "interrupted"}


def save(store: Store, response_id: str, status: str, owner: str = "alice") -> None:
    store.save_batch([StoredResponse(
        id=response_id, owner=owner, input_items=[], previous_response_id=None,
        created_at=1, response={"id": response_id, "status": status, "error": None})])


def event(n: int) -> dict[str, Any]:
    return {"type": "response.output_text.delta", "sequence_number": n, "delta": str(n)}


def job(response_id: str, heartbeat: float, runner: str = "r1") -> BackgroundJob:
    return BackgroundJob(response_id=response_id, owner="alice", runner=runner,
                         heartbeat_at=heartbeat)


def test_events_are_read_after_a_sequence_number_by_their_owner(store: Store) -> None:
    save(store, "resp_1", "in_progress")
    store.append_events("resp_1", [event(0), event(1)])
    store.append_events("resp_1", [event(2)])
    assert store.response_events("alice", "resp_1", after=-1) == [event(0), event(1), event(2)]
    assert store.response_events("alice", "resp_1", after=1) == [event(2)]
    assert store.response_events("bob", "resp_1", after=-1) is None
    assert store.response_events("alice", "resp_unknown", after=-1) is None


def test_events_go_with_their_response(store: Store) -> None:
    save(store, "resp_1", "completed")
    store.append_events("resp_1", [event(0)])
    assert store.delete("alice", "resp_1")
    save(store, "resp_1", "completed")
    assert store.response_events("alice", "resp_1", after=-1) == []


def test_stale_jobs_are_reaped_and_their_unfinished_responses_failed(store: Store) -> None:
    save(store, "resp_old", "in_progress")
    save(store, "resp_done", "completed")
    save(store, "resp_live", "queued")
    store.track_job(job("resp_old", 100.0))
    store.track_job(job("resp_done", 100.0))
    store.track_job(job("resp_live", 100.0, runner="r2"))
    store.heartbeat("r2", 500.0)
    assert store.reap_jobs(200.0, ERROR) == ["resp_old"]
    failed = store.get("alice", "resp_old")
    assert failed is not None
    assert failed.response["status"] == "failed"
    assert failed.response["error"] == ERROR
    done = store.get("alice", "resp_done")
    assert done is not None
    assert done.response["status"] == "completed"
    assert store.reap_jobs(200.0, ERROR) == []  # reaped jobs are forgotten
    store.finish_job("resp_live")
    assert store.reap_jobs(1000.0, ERROR) == []


def test_the_jobs_of_named_runners_are_reaped_however_fresh(store: Store) -> None:
    save(store, "resp_a", "in_progress")
    save(store, "resp_b", "in_progress")
    store.track_job(job("resp_a", 500.0, runner="gone"))
    store.track_job(job("resp_b", 500.0, runner="alive"))
    assert sorted(store.job_runners()) == ["alive", "gone"]
    assert store.reap_jobs(100.0, ERROR, ["gone"]) == ["resp_a"]
    assert store.job_runners() == ["alive"]


def test_a_secret_is_made_once_and_kept(store: Store) -> None:
    first = store.secret("compaction")
    assert len(first) == 32
    assert store.secret("compaction") == first
    assert store.secret("other") != first


def test_a_reaped_response_s_recorded_stream_ends_with_its_failure(store: Store) -> None:
    save(store, "resp_old", "in_progress")
    store.append_events("resp_old", [event(0), event(1)])
    save(store, "resp_queued", "queued")
    store.track_job(job("resp_old", 100.0))
    store.track_job(job("resp_queued", 100.0))
    assert sorted(store.reap_jobs(200.0, ERROR)) == ["resp_old", "resp_queued"]
    replay = store.response_events("alice", "resp_old", after=-1)
    assert replay is not None
    assert [e["type"] for e in replay] == [event(0)["type"], event(1)["type"], "error",
                                           "response.failed"]
    assert [e["sequence_number"] for e in replay] == [0, 1, 2, 3]
    assert (replay[2]["code"], replay[2]["message"]) == (ERROR["code"], ERROR["message"])
    assert replay[3]["response"]["status"] == "failed"
    assert replay[3]["response"]["error"] == ERROR
    queued = store.response_events("alice", "resp_queued", after=-1)
    assert queued is not None
    assert [e["sequence_number"] for e in queued] == [0, 1]
