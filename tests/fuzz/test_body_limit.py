"""The body limit (``OPENRESPONSES_MAX_BODY_BYTES``, here ``MAX_BODY``) holds on every POST
operation the OpenAPI document lists: one byte past it is a 413 ``request_too_large``, whether
the length is declared or the body is chunked; a body of exactly the limit is not refused."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import httpx2
import pytest

from openresponses.openapi import document_bytes
from tests.fakes.keys import FUZZ_CLIENT_KEY
from tests.fuzz.conftest import FUZZ_ADMIN_KEY, MAX_BODY

POSTS = sorted(path for path, item in json.loads(document_bytes())["paths"].items()
               if "post" in item)


def concrete(path: str) -> str:
    """The path with each ``{parameter}`` filled in."""
    return re.sub(r"\{[^}]+\}", "x", path)


def headers_for(path: str) -> dict[str, str]:
    key = FUZZ_ADMIN_KEY if path.startswith("/v1/admin/") else FUZZ_CLIENT_KEY
    return {"authorization": f"Bearer {key}", "content-type": "application/json"}


def json_of_size(size: int) -> bytes:
    """A JSON object of exactly ``size`` bytes."""
    head = b'{"model": "groq@m", "input": ""}'
    return head[:-2] + b"x" * (size - len(head)) + head[-2:]


def chunks(body: bytes) -> Iterator[bytes]:
    yield body[:100]
    yield body[100:]


def test_the_document_lists_the_post_operations() -> None:
    assert {"/v1/responses", "/v1/chat/completions", "/v1/conversations",
            "/v1/admin/keys", "/v1/responses/{response_id}/cancel"} <= set(POSTS)


@pytest.mark.parametrize("path", POSTS)
@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_body_past_the_limit_is_413(http: httpx2.Client, path: str, chunked: bool) -> None:
    body = json_of_size(MAX_BODY + 1)
    response = http.post(concrete(path), content=chunks(body) if chunked else body,
                         headers=headers_for(path))
    assert response.status_code == 413, response.text
    assert response.json()["error"]["code"] == "request_too_large"


@pytest.mark.parametrize("path", POSTS)
def test_a_body_at_the_limit_is_not_refused_for_its_size(http: httpx2.Client, path: str) -> None:
    response = http.post(concrete(path), content=json_of_size(MAX_BODY),
                         headers=headers_for(path))
    assert response.status_code != 413, response.text
    assert response.status_code < 500, response.text
