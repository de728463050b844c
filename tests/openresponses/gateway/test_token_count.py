"""Token counting: the documented estimate, tiktoken (exact, offline) for OpenAI models, the
choice of encoding by model, and never a download."""

from __future__ import annotations

import hashlib
import math
import os
import threading
from pathlib import Path
from typing import Any

import pytest
import tiktoken
import tiktoken.load

from openresponses.gateway.token_count import (
    ITEM_OVERHEAD,
    MAX_EXACT_CHARACTERS,
    REPLY_PRIMING,
    TIKTOKEN_ITEM_OVERHEAD,
    TokenCounter,
    encoding_name,
    estimate_tokens,
)
from openresponses.gateway.token_encodings import (
    SHA256,
    bundled,
    cache_path,
    ensure_cached,
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


async def test_exact_counting_runs_off_the_event_loop_and_stops_at_a_million_characters(
) -> None:
    """tiktoken ran on the event loop: 16 M characters of one letter froze the gateway 12 s."""
    threads: list[int] = []

    class Watched(tiktoken.Encoding):
        def encode_ordinary(self, text: str) -> list[int]:
            threads.append(threading.get_ident())
            return super().encode_ordinary(text)

    plain = byte_encoding()
    watched = Watched(name="watched", pat_str=plain._pat_str, special_tokens={},
                      mergeable_ranks=plain._mergeable_ranks)
    counter = TokenCounter(lambda name: watched)
    assert await counter.count("gpt-4o", [message("hello")], None, None) == 15
    assert threads
    assert threading.get_ident() not in threads  # a worker thread's
    huge = [message("a" * (MAX_EXACT_CHARACTERS + 1))]
    threads.clear()
    assert await counter.count("gpt-4o", huge, None, None) == estimate_tokens(huge)
    assert threads == []  # estimated, not encoded


async def test_other_models_and_missing_encodings_are_estimated() -> None:
    counter = TokenCounter(lambda name: None)
    items = [message("hello")]
    assert await counter.count("gpt-4o", items, None, None) == estimate_tokens(items)
    assert await counter.count("llama-3.3-70b", items, None, None) == estimate_tokens(items)
    assert await counter.count(None, items, None, None) == estimate_tokens(items)


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty tiktoken cache; any download attempt fails the test."""
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))

    def no_download(url: str) -> bytes:
        raise AssertionError(f"tiktoken tried to download {url}")

    monkeypatch.setattr(tiktoken.load, "read_file", no_download)
    return tmp_path


def test_the_bundled_files_are_the_ones_tiktoken_expects() -> None:
    for file, digest in SHA256.items():
        data = bundled(file)
        assert data is not None
        assert hashlib.sha256(data).hexdigest() == digest


@pytest.mark.usefixtures("cache")
def test_encodings_load_offline_and_encode_exactly() -> None:
    o200k, cl100k = offline_encoding("o200k_base"), offline_encoding("cl100k_base")
    assert o200k is not None
    assert cl100k is not None
    # Token ids published in OpenAI's cookbook ("How to count tokens with tiktoken").
    assert cl100k.encode("tiktoken is great!") == [83, 1609, 5963, 374, 2294, 0]
    assert o200k.encode("tiktoken is great!") == [83, 8251, 2488, 382, 2212, 0]
    assert cl100k.encode("hello world") == [15339, 1917]


async def test_the_model_chooses_o200k_or_cl100k(cache: Path) -> None:
    counter = TokenCounter()
    text = "Привет, как дела?"  # 6 tokens in o200k_base, 8 in cl100k_base
    items = [message(text)]
    framing = 1 + TIKTOKEN_ITEM_OVERHEAD + REPLY_PRIMING  # "user", the item, the reply
    assert await counter.count("gpt-4o", items, None, None) == 6 + framing
    assert await counter.count("gpt-5", items, None, None) == 6 + framing
    assert await counter.count("gpt-4", items, None, None) == 8 + framing
    assert await counter.count("gpt-3.5-turbo", items, None, None) == 8 + framing
    instructions = "tiktoken is great!"  # 6 tokens, framed like an item
    assert await counter.count("gpt-4o", items, instructions, None) == (
        6 + 6 + framing + TIKTOKEN_ITEM_OVERHEAD)
    assert sorted(os.listdir(cache)) == sorted(os.path.basename(str(cache_path(f)))
                                               for f in SHA256)  # both files, in tiktoken's cache


def test_encodings_are_never_downloaded(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert offline_encoding("o200k_base", source=lambda file: None) is None  # nothing at hand
    assert offline_encoding("p50k_base") is None  # not shipped
    assert not list(cache.iterdir())
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", "")  # tiktoken's cache off: it would download
    assert offline_encoding("o200k_base") is None
    assert encoding_name("gpt-4o") == "o200k_base"
    assert encoding_name("claude-sonnet-4") is None


def test_altered_files_are_never_used(cache: Path) -> None:
    assert not ensure_cached("cl100k_base", source=lambda file: b"dGFtcGVyZWQ= 0\n")
    path = Path(str(cache_path("cl100k_base")))
    path.write_bytes(b"dGFtcGVyZWQ= 0\n")  # a broken cache file is replaced by the bundled one
    assert ensure_cached("cl100k_base")
    assert hashlib.sha256(path.read_bytes()).hexdigest() == SHA256["cl100k_base"]
