"""Token counting: the documented estimate, tiktoken when an encoding is at hand, the choice."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import tiktoken

from openresponses.gateway.token_count import (
    ITEM_OVERHEAD,
    REPLY_PRIMING,
    TokenCounter,
    encoding_name,
    estimate_tokens,
    offline_encoding,
)


def message(text: str, role: str = "user") -> dict[str, Any]:
    return {"type": "message", "id": "msg_1", "role": role,
            "content": [{"type": "input_text", "text": text}]}


def byte_encoding() -> tiktoken.Encoding:
    """A tiny real tiktoken encoding: one token per byte (no merges)."""
    return tiktoken.Encoding(name="bytes", pat_str=r"[\s\S]", special_tokens={},
                             mergeable_ranks={bytes([b]): b for b in range(256)})


def test_estimate_counts_characters_by_four_and_framing() -> None:
    items = [message("x" * 10), {"type": "function_call", "id": "fc_1", "call_id": "c",
                                  "name": "get", "arguments": '{"a":1}'}]
    expected = (math.ceil(4 / 4) + math.ceil(10 / 4) + math.ceil(3 / 4) + math.ceil(7 / 4)
                + math.ceil(8 / 4) + 3 * ITEM_OVERHEAD + REPLY_PRIMING)
    assert estimate_tokens(items, instructions="Be brief") == expected


async def test_openai_models_are_counted_with_their_encoding() -> None:
    loaded: list[str] = []

    def loader(name: str) -> tiktoken.Encoding:
        loaded.append(name)
        return byte_encoding()

    counter = TokenCounter(loader)
    items = [message("hello")]
    assert await counter.count("gpt-4o", items, None, None) == 4 + 5 + 3 + 3
    assert await counter.count("gpt-4o-mini", items, None, None) == 15
    assert loaded == ["o200k_base"]  # loaded once, kept


async def test_other_models_and_missing_encodings_are_estimated() -> None:
    counter = TokenCounter(lambda name: None)
    items = [message("hello")]
    assert await counter.count("gpt-4o", items, None, None) == estimate_tokens(items)
    assert await counter.count("llama-3.3-70b", items, None, None) == estimate_tokens(items)
    assert await counter.count(None, items, None, None) == estimate_tokens(items)


def test_encodings_are_never_downloaded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    assert offline_encoding("o200k_base") is None  # not cached: no network attempt
    assert encoding_name("gpt-4o") == "o200k_base"
    assert encoding_name("claude-sonnet-4") is None
