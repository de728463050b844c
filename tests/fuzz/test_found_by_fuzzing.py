"""Requests the fuzzers once answered with a 5xx, kept as plain regression tests."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from tests.fakes.keys import FUZZ_CLIENT_KEY

AUTH = {"authorization": f"Bearer {FUZZ_CLIENT_KEY}"}


@pytest.mark.parametrize(("path", "body", "param"), [
    # A non-string item id reached the store's id column (sqlite: "type 'list' is not
    # supported"): a 500.
    ("/v1/conversations", {"items": [{"id": [None, None], "type": "program_output",
                                      "call_id": "0", "result": ""}]}, "items[0].id"),
    ("/v1/responses", {"model": "groq@m", "input": [{"role": "user", "content": "hi",
                                                     "id": 7}]}, "input[0].id"),
])
def test_a_bad_item_id_is_a_400_naming_it(
    http: httpx2.Client, path: str, body: dict[str, Any], param: str
) -> None:
    response = http.post(path, json=body, headers=AUTH)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == param
