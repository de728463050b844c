"""The storage actor's chat-completion messages (``store: true`` on ``/v1/chat/completions``).

``StorageActor`` answers them like its other messages: ``chat_store_call`` says which store
method a message needs and whether it writes (its own transaction) or reads (the read pool).
A save is answered once committed. Every message is scoped by ``owner``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Literal, assert_never

import attrs

from actors import Ask
from openresponses.store.base import (
    ChatCompletionsPage,
    ItemsPage,
    Store,
    StoredChatCompletion,
)


@attrs.frozen
class SaveChatCompletion(Ask[None]):
    """Insert a completion; answered once it is committed."""

    record: StoredChatCompletion


@attrs.frozen
class GetChatCompletion(Ask[StoredChatCompletion | None]):
    owner: str
    completion_id: str


@attrs.frozen(kw_only=True)
class ListChatCompletions(Ask[ChatCompletionsPage]):
    owner: str
    limit: int = 20
    order: Literal["asc", "desc"] = "asc"
    after: str | None = None
    model: str | None = None
    metadata: dict[str, str] = attrs.field(factory=dict)


@attrs.frozen
class UpdateChatCompletion(Ask[StoredChatCompletion | None]):
    """Replace a completion's metadata; the updated record, or None if unknown."""

    owner: str
    completion_id: str
    metadata: dict[str, str]


@attrs.frozen
class DeleteChatCompletion(Ask[bool]):
    owner: str
    completion_id: str


@attrs.frozen(kw_only=True)
class ListChatMessages(Ask[ItemsPage | None]):
    owner: str
    completion_id: str
    limit: int = 20
    order: Literal["asc", "desc"] = "asc"
    after: str | None = None


ChatMessage = (
    SaveChatCompletion | GetChatCompletion | ListChatCompletions | UpdateChatCompletion
    | DeleteChatCompletion | ListChatMessages
)


def chat_store_call(message: ChatMessage) -> tuple[bool, Callable[[Store], object]]:
    """(whether it writes, the store call) that answers ``message``."""
    match message:
        case SaveChatCompletion(record=record):
            return True, lambda store: store.save_chat_completion(record)
        case GetChatCompletion(owner=owner, completion_id=completion_id):
            return False, lambda store: store.get_chat_completion(owner, completion_id)
        case ListChatCompletions():
            return False, functools.partial(_list, message)
        case UpdateChatCompletion(owner=owner, completion_id=completion_id, metadata=metadata):
            return True, lambda store: store.update_chat_completion(
                owner, completion_id, metadata)
        case DeleteChatCompletion(owner=owner, completion_id=completion_id):
            return True, lambda store: store.delete_chat_completion(owner, completion_id)
        case ListChatMessages():
            return False, functools.partial(_messages, message)
        case _:
            assert_never(message)


def _list(message: ListChatCompletions, store: Store) -> ChatCompletionsPage:
    return store.list_chat_completions(
        message.owner, limit=message.limit, order=message.order, after=message.after,
        model=message.model, metadata=message.metadata,
    )


def _messages(message: ListChatMessages, store: Store) -> ItemsPage | None:
    return store.chat_messages(message.owner, message.completion_id, limit=message.limit,
                               order=message.order, after=message.after)
