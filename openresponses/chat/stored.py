"""Stored chat completions: the record saved for ``store: true`` and the shapes read back.

Request messages are kept as OpenAI lists them (``GET /v1/chat/completions/{id}/messages``):
each with an id ``<completion id>-<position>``, ``content`` as text (parts joined), the parts
themselves in ``content_parts`` when an array was sent, and ``name`` / ``tool_calls`` /
``tool_call_id`` where the message had them.
"""

from __future__ import annotations

from typing import Any

from openresponses.chat.request import ChatRequest
from openresponses.store.base import StoredChatCompletion

JSON = dict[str, Any]


def _text(content: Any) -> str | None:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [p.get("text") or p.get("refusal") or "" for p in content if isinstance(p, dict)]
        return "".join(texts)
    return None


def stored_message(completion_id: str, position: int, message: JSON) -> JSON:
    """One request message in the listed shape."""
    content = message.get("content")
    listed: JSON = {
        "id": f"{completion_id}-{position}",
        "role": message["role"],
        "content": _text(content),
        "refusal": message.get("refusal"),
        "name": message.get("name"),
        "content_parts": content if isinstance(content, list) else None,
    }
    for key in ("tool_calls", "tool_call_id"):
        if message.get(key) is not None:
            listed[key] = message[key]
    return listed


def completion_record(
    owner: str, request: ChatRequest, completion: JSON, created: int
) -> StoredChatCompletion:
    """What ``store: true`` saves: the completion as sent, the request messages, metadata.
    ``created`` (the gateway's clock when the request came) orders the listing: an upstream's
    ``created`` may come from another clock, or be a constant."""
    completion_id = str(completion["id"])
    return StoredChatCompletion(
        id=completion_id, owner=owner, model=request.model,
        created_at=created,
        metadata=dict(request.metadata),
        completion=completion,
        messages=[stored_message(completion_id, i, m) for i, m in enumerate(request.messages)],
    )


def public_completion(record: StoredChatCompletion) -> JSON:
    """A stored completion as retrieved and listed: the body with its current metadata."""
    return {**record.completion, "metadata": record.metadata}
