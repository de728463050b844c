"""Compaction items: sealed content round trips, tampering is refused, expansion per provider."""

from __future__ import annotations

from typing import Any

import pytest

from openresponses.errors import InvalidRequest
from openresponses.gateway.compaction_items import (
    SUMMARY_HEADER,
    compaction_item,
    expand,
    seal,
    unseal,
)

SECRET = b"k" * 32


def message(text: str, role: str = "user") -> dict[str, Any]:
    return {"type": "message", "id": f"msg_{text}", "role": role,
            "content": [{"type": "input_text", "text": text}]}


def test_sealed_content_round_trips() -> None:
    content = seal(SECRET, "we talked about trio", [message("kept")])
    assert content.startswith("orc1.")
    assert unseal(SECRET, content) == {"v": 1, "summary": "we talked about trio",
                                       "items": [message("kept")]}


@pytest.mark.parametrize("change", ["payload", "mac", "secret"])
def test_altered_or_foreign_content_is_refused(change: str) -> None:
    content = seal(SECRET, "summary")
    payload, mac = content.removeprefix("orc1.").split(".")
    secret = SECRET
    if change == "payload":
        content = "orc1." + payload[:-2] + "AA" + "." + mac
    elif change == "mac":
        content = "orc1." + payload + "." + mac[::-1]
    else:
        secret = b"x" * 32
    with pytest.raises(InvalidRequest) as caught:
        unseal(secret, content)
    assert caught.value.code == "invalid_encrypted_content"


def test_expansion_drops_what_came_before_the_last_compaction() -> None:
    first = compaction_item(SECRET, "old summary")
    second = compaction_item(SECRET, "new summary", [message("kept")])
    items = [message("a"), first, message("b"), second, message("c")]
    out = expand(SECRET, items, api="chat")
    assert [m["content"][0]["text"] for m in out] == [SUMMARY_HEADER + "new summary", "kept",
                                                      "c"]
    assert out[0]["role"] == "user"


def test_instructions_before_a_compaction_stay() -> None:
    developer = message("be terse", role="developer")
    items = [developer, message("a"), compaction_item(SECRET, "summary"), message("b")]
    out = expand(SECRET, items, api="chat")
    assert out[0] == developer
    assert [m["content"][0]["text"] for m in out[1:]] == [SUMMARY_HEADER + "summary", "b"]


def test_foreign_compaction_items_reach_only_responses_upstreams() -> None:
    foreign = {"type": "compaction", "id": "cmp_openai", "encrypted_content": "gAAAA-opaque"}
    items = [message("a"), foreign, message("b")]
    assert expand(SECRET, items, api="responses") == items
    assert expand(SECRET, items, api="anthropic") == [message("a"), message("b")]


def test_context_without_compaction_is_untouched() -> None:
    items = [message("a"), message("b", role="assistant")]
    assert expand(SECRET, items, api="chat") == items
