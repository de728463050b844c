"""Sample records for the store tests."""

from __future__ import annotations

from openresponses.store.base import Store, StoredResponse


def record(
    response_id: str,
    *,
    owner: str = "alice",
    previous: str | None = None,
    items: int = 2,
    status: str = "completed",
) -> StoredResponse:
    """A response with ``items`` input items whose ids derive from the response id."""
    return StoredResponse(
        id=response_id,
        owner=owner,
        response={"id": response_id, "object": "response", "status": status, "output": []},
        input_items=[
            {"id": f"{response_id}_item{n}", "type": "message", "role": "user", "content": "hi"}
            for n in range(items)
        ],
        previous_response_id=previous,
        created_at=1_700_000_000,
    )


def chain_of(store: Store, length: int, *, owner: str = "alice") -> list[StoredResponse]:
    """Save ``length`` responses, each following the one before, in one batch."""
    records: list[StoredResponse] = []
    for n in range(length):
        previous = records[-1].id if records else None
        records.append(record(f"resp_{n}", owner=owner, previous=previous, items=1))
    store.save_batch(records)
    return records
