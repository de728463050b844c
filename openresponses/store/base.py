"""The storage interface: what the storage actor needs from a backend, and how to open one.

Backends are synchronous: the storage actor calls them from worker threads, so a backend may
block on disk or network I/O freely. Every read is scoped by ``owner`` (the hash of the caller's
key): another owner's records are invisible, exactly as if they did not exist.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal, Protocol

import attrs

from openresponses.keys import KeyChange, KeyRecord
from openresponses.store.background import BackgroundStore
from openresponses.store.conversations import ConversationStore

Order = Literal["asc", "desc"]


@attrs.frozen(kw_only=True)
class StoredResponse:
    """One response as stored: the Response object sent to the client and this turn's input."""

    id: str
    owner: str  # hash of the caller's key: tenant isolation
    response: dict[str, Any]  # the full Response JSON object as sent to the client
    input_items: list[dict[str, Any]]  # this turn's input items, each with a unique str "id"
    previous_response_id: str | None
    created_at: int
    # A later save of a response stored already (a background response's progress): it is
    # written over the response's row only while that row exists, so a response deleted
    # meanwhile, by any process, is not stored again.
    replaces: bool = False


@attrs.frozen
class Tip:
    """A response read as the tip of a ``previous_response_id`` chain (``Store.tip``), with the
    store's count of responses ever deleted, read in the same snapshot: a process that caches
    chains (``gateway.chain_cache``) learns from it that another process deleted one."""

    record: StoredResponse
    deletions: int


@attrs.frozen
class ItemsPage:
    """One page of a response's input items, in the order asked for."""

    data: list[dict[str, Any]]
    first_id: str | None
    last_id: str | None
    has_more: bool


@attrs.frozen
class ResponsesPage:
    """One page of an owner's stored responses, in the order asked for."""

    records: list[StoredResponse]
    has_more: bool


@attrs.frozen(kw_only=True)
class StoredChatCompletion:
    """A chat completion stored with ``store: true``: the body as sent, the request messages
    (each with its listing ``id``), and metadata the client may update."""

    id: str
    owner: str  # hash of the caller's key: tenant isolation
    model: str  # as the client named it (``provider@model``)
    created_at: int
    metadata: dict[str, str]
    completion: dict[str, Any]
    messages: list[dict[str, Any]]


@attrs.frozen
class ChatCompletionsPage:
    """One page of an owner's stored chat completions, in the order asked for."""

    records: list[StoredChatCompletion]
    has_more: bool


class Store(ConversationStore, BackgroundStore, Protocol):
    """A response store, with conversations and background responses (their protocols).
    Methods are blocking and thread-safe; call them from worker threads."""

    def save_batch(self, records: Sequence[StoredResponse]) -> None:
        """Write ``records`` in one transaction, upserting by id (later records win).

        All or nothing: on error nothing of the batch is stored. A record whose id already
        belongs to another owner is an error (``ValueError``). A record that ``replaces`` is
        skipped when its response is not stored (deleted since), unless an earlier record of
        the batch stores it.
        """
        ...

    def get(self, owner: str, response_id: str) -> StoredResponse | None:
        """The response, or None if unknown for this owner."""
        ...

    def tip(self, owner: str, response_id: str) -> Tip | None:
        """``get``, and the count of responses ever deleted from the store (by any process),
        both from one snapshot; None if unknown for this owner."""
        ...

    def delete(self, owner: str, response_id: str) -> bool:
        """Delete the response and its input items; False if unknown for this owner. Every
        response deleted, however, adds one to the count ``tip`` reads."""
        ...

    def chain(self, owner: str, response_id: str) -> list[StoredResponse] | None:
        """The response and its ancestors via ``previous_response_id``, oldest first.

        One query however deep the chain. The chain stops at an ancestor that was deleted (or
        belongs to another owner). None if ``response_id`` is unknown for this owner.
        """
        ...

    def input_items(
        self,
        owner: str,
        response_id: str,
        *,
        limit: int,
        order: Order,
        after: str | None,
        before: str | None,
    ) -> ItemsPage | None:
        """A page of the response's input items; None if the response is unknown for this owner.

        ``after`` / ``before`` are item ids, read in the listing ``order``: ``after`` starts the
        page just past that item, ``before`` ends it just short of it (the ``limit`` items
        nearest the cursor). ``has_more`` says whether items remain beyond the page in the
        direction being paged. An unknown cursor id gives an empty page.
        """
        ...

    def list_responses(
        self,
        owner: str,
        *,
        limit: int,
        order: Order,
        after: str | None,
        model: str | None,
        status: str | None,
        metadata: dict[str, str],
    ) -> ResponsesPage:
        """The owner's stored responses by creation time (ties broken by id), filtered by
        ``model`` (the Response's ``model`` as the client named it), ``status`` and every
        ``metadata`` pair; ``after`` is a response id (unknown: an empty page). For the console.
        """
        ...

    # -- gateway keys (stored by hash; see openresponses.keys) ----------------------------

    def save_key(self, record: KeyRecord) -> None:
        """Insert a key record (``ValueError`` if its id or hash is already taken)."""
        ...

    def find_key(self, key_hash: str) -> KeyRecord | None:
        """The record of the key with this hash (revoked and expired ones too), or None."""
        ...

    def list_keys(self) -> list[KeyRecord]:
        """Every key record, oldest first."""
        ...

    def revoke_key(self, key_id: str) -> KeyRecord | None:
        """Mark the key revoked (idempotent); its updated record, or None if unknown."""
        ...

    def update_key(self, key_id: str, change: KeyChange) -> KeyRecord | None:
        """Make ``change`` (name, allowed globs, some limits) in one transaction; the updated
        record, or None if unknown. Concurrent changes to different fields both hold."""
        ...

    # -- chat completions (``store: true`` on /v1/chat/completions) ------------------------

    def save_chat_completion(self, record: StoredChatCompletion) -> None:
        """Insert a completion (``ValueError`` if its id is taken)."""
        ...

    def get_chat_completion(self, owner: str, completion_id: str) -> StoredChatCompletion | None:
        """The completion, or None if unknown for this owner."""
        ...

    def list_chat_completions(
        self,
        owner: str,
        *,
        limit: int,
        order: Order,
        after: str | None,
        model: str | None,
        metadata: dict[str, str],
    ) -> ChatCompletionsPage:
        """The owner's completions by creation time, filtered by ``model`` and by every
        ``metadata`` pair; ``after`` is a completion id (unknown: an empty page)."""
        ...

    def update_chat_completion(
        self, owner: str, completion_id: str, metadata: dict[str, str]
    ) -> StoredChatCompletion | None:
        """Replace the completion's metadata; the updated record, or None if unknown."""
        ...

    def delete_chat_completion(self, owner: str, completion_id: str) -> bool:
        """Delete the completion; False if unknown for this owner."""
        ...

    def chat_messages(
        self, owner: str, completion_id: str, *, limit: int, order: Order, after: str | None
    ) -> ItemsPage | None:
        """A page of the completion's request messages; None if unknown for this owner."""
        ...

    def close(self) -> None:
        """Release every connection. Not to be called while other calls are running."""
        ...


def validate_record(record: StoredResponse) -> None:
    """Raise ``ValueError`` if the record cannot be stored (input item ids missing or repeated).

    Cheap and pure, so the storage actor checks each record before it joins a batch: one bad
    record then fails only its own save, not the whole batch.
    """
    seen: set[str] = set()
    for position, item in enumerate(record.input_items):
        item_id = item.get("id")
        if not isinstance(item_id, str) or not item_id:
            raise ValueError(f"input item {position} of response {record.id} has no string id")
        if item_id in seen:
            raise ValueError(f"input item id {item_id} repeats in response {record.id}")
        seen.add(item_id)


def check_page_args(limit: int, order: str) -> None:
    """Raise ``ValueError`` for a limit below 1 or an order other than asc / desc."""
    if limit < 1:
        raise ValueError("limit must be at least 1")
    if order not in ("asc", "desc"):
        raise ValueError("order must be 'asc' or 'desc'")


def items_page(
    rows: Sequence[tuple[str, Any]],
    limit: int,
    *,
    decode: Callable[[Any], dict[str, Any]] | None = None,
    reverse: bool = False,
) -> ItemsPage:
    """The page of a query that fetched up to ``limit + 1`` ``(item id, body)`` rows: the
    extra row only says there is more. ``decode`` turns a stored body into the item (SQLite
    keeps bytes; PostgreSQL's JSONB arrives decoded); ``reverse`` flips a page read backwards
    from a ``before`` cursor into the listing order."""
    page = list(rows[:limit])
    if reverse:
        page.reverse()
    return ItemsPage(data=[decode(body) if decode else body for _, body in page],
                     first_id=page[0][0] if page else None,
                     last_id=page[-1][0] if page else None, has_more=len(rows) > limit)


def open_store(url: str) -> Store:
    """Open the store a URL names, creating the database (and its directory, or its schema)
    if needed, and migrating its schema.

    ``sqlite:///relative/path.db``, ``sqlite:////absolute/path.db`` or ``sqlite:///:memory:``;
    ``postgresql://user:password@host:5432/db`` (or ``postgres://``), with
    ``?options=-c%20search_path%3Dschema`` to pick a schema. Raises ``ValueError`` for any other
    URL; the message names only the scheme, never the rest (a database URL may carry a
    password).
    """
    scheme, sep, _ = url.partition("://")
    if not sep:
        raise ValueError("store URL must look like sqlite:///path/to/file.db or postgresql://…")
    if scheme == "sqlite":
        from openresponses.store.sqlite import SqliteStore

        path = url.removeprefix("sqlite:///")
        if path == url or not path:
            raise ValueError("sqlite store URL must look like sqlite:///path/to/file.db")
        return SqliteStore(path)
    if scheme in ("postgresql", "postgres"):
        from openresponses.store.postgres import PostgresStore

        return PostgresStore(url)
    raise ValueError(
        f"unsupported store URL scheme {scheme!r}: supported are 'sqlite' and 'postgresql'"
    )
