"""normalize_input: the quick path for plain messages gives what the full path gives."""

from __future__ import annotations

from typing import Any

import pytest

from openresponses.errors import InvalidRequest
from openresponses.schema.items import normalize_input, normalize_item

CASES: list[dict[str, Any]] = [
    {"type": "message", "role": "user", "content": "hi"},
    {"role": "user", "content": "no type"},
    {"role": "assistant", "content": "answer", "status": "incomplete"},
    {"role": "system", "content": "rules", "id": "msg_given"},
    {"role": "developer", "content": "dev", "id": ""},
    {"role": "user", "content": [{"type": "input_text", "text": "parts"}]},
]


def _without_ids(items: list[dict[str, Any]], given: list[dict[str, Any]]) -> list[Any]:
    return [{**item, "id": item["id"] if raw.get("id") else None}
            for item, raw in zip(items, given, strict=True)]


def test_plain_messages_normalize_as_the_full_path_does() -> None:
    quick = normalize_input(CASES)
    full = [normalize_item(raw, f"input[{i}]") for i, raw in enumerate(CASES)]
    assert _without_ids(quick, CASES) == _without_ids(full, CASES)
    assert all(item["id"].startswith("msg_") for item in quick if not item["id"] == "msg_given")


@pytest.mark.parametrize(("raw", "param"), [
    ({"role": "robot", "content": "x"}, "input[1].role"),
    ({"role": "user", "content": "x", "id": 5}, "input[1].id"),
    ({"role": "user", "content": "x", "id": 0}, "input[1].id"),
    ({"role": None, "content": "x"}, "input[1].role"),
    ({"type": "message", "role": "user", "content": 3}, "input[1].content"),
])
def test_invalid_messages_still_name_their_param(raw: dict[str, Any], param: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        normalize_input([CASES[0], raw])
    assert caught.value.param == param
