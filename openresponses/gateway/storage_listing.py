"""The storage actor's message for listing stored responses (``GET /v1/responses``).

A read: ``StorageActor`` runs it in its read pool, like ``GetResponse``. Scoped by ``owner``.
"""

from __future__ import annotations

from typing import Literal

import attrs

from actors import Ask
from openresponses.store.base import ResponsesPage, Store


@attrs.frozen(kw_only=True)
class ListResponses(Ask[ResponsesPage]):
    """A page of the owner's stored responses (``Store.list_responses``)."""

    owner: str
    limit: int = 20
    order: Literal["asc", "desc"] = "desc"
    after: str | None = None
    model: str | None = None
    status: str | None = None
    metadata: dict[str, str] = attrs.field(factory=dict)

    def __call__(self, store: Store) -> ResponsesPage:
        """Run against ``store`` (in a worker thread)."""
        return store.list_responses(
            self.owner, limit=self.limit, order=self.order, after=self.after,
            model=self.model, status=self.status, metadata=self.metadata,
        )
