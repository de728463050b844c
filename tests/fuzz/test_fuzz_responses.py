"""Property-based fuzzing of every endpoint over loopback: bodies, queries, paths, headers.

Whatever a client sends, the gateway answers in bounded time with a non-5xx status (the fake
upstream always succeeds, so a 5xx would be the gateway's own fault), every answer carries a
sane ``x-request-id``, and bodies past the limit are refused with 413. Examples are bounded and
derandomized, so the run is fast and the same on every machine.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote

import httpx2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fakes.keys import FUZZ_CLIENT_KEY
from tests.fuzz.conftest import MAX_BODY

AUTH = {"authorization": f"Bearer {FUZZ_CLIENT_KEY}"}
SANE_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
FUZZ = settings(max_examples=80, deadline=None, database=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

LEAF = (st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats()
        | st.text(max_size=24))
JSON = st.recursive(LEAF, lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=6)
TEXT = st.text(max_size=40)


def _typed(types: list[str], **optional: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.fixed_dictionaries({"type": st.sampled_from(types)}, optional=optional)


PART = _typed(["input_text", "output_text", "input_image", "input_file", "refusal", "bogus"],
              text=TEXT | JSON, image_url=st.just("data:image/png;base64,iVBORw0KGgo=") | JSON,
              file_data=JSON, detail=JSON, annotations=JSON)
MESSAGE = st.fixed_dictionaries(
    {"role": st.sampled_from(["user", "assistant", "system", "developer", "tool", "wizard"]),
     "content": TEXT | st.lists(PART, max_size=3) | JSON},
    optional={"type": st.just("message") | JSON, "id": JSON, "status": JSON})
ITEM = MESSAGE | _typed(
    ["function_call", "function_call_output", "reasoning", "item_reference", "bogus"],
    call_id=TEXT | JSON, output=TEXT | JSON, name=TEXT | JSON, arguments=TEXT | JSON,
    id=TEXT | JSON, summary=JSON, encrypted_content=JSON, content=JSON)
TOOL = _typed(["function", "custom", "bogus"], name=TEXT | JSON, parameters=JSON,
              description=JSON, strict=JSON, function=JSON)
OPTIONAL = {
    "stream": st.booleans() | JSON, "store": st.booleans() | JSON, "instructions": TEXT | JSON,
    "tools": st.lists(TOOL, max_size=3) | JSON, "tool_choice": JSON,
    "temperature": st.floats(-1, 3) | JSON, "top_p": JSON, "max_output_tokens": JSON,
    "previous_response_id": TEXT | JSON, "metadata": JSON, "text": JSON, "reasoning": JSON,
    "parallel_tool_calls": JSON, "include": JSON, "user": JSON, "truncation": JSON,
    "background": JSON, "max_tool_calls": JSON, "service_tier": JSON, "prompt": JSON,
}
MODEL = st.sampled_from(["groq@m", "openai@gpt-x", "claude@c", "nope", "groq@", "@m", ""]) | JSON
BODY = st.fixed_dictionaries({"model": MODEL, "input": TEXT | st.lists(ITEM, max_size=4) | JSON},
                             optional=OPTIONAL) | JSON


def check(response: httpx2.Response) -> None:
    assert response.status_code < 500, (response.status_code, response.text[:500])
    assert SANE_ID.fullmatch(response.headers["x-request-id"])
    if response.headers.get("content-type", "").startswith("application/json"):
        body = response.json()
        if response.status_code >= 400:
            assert set(body["error"]) == {"message", "type", "param", "code"}


def post(http: httpx2.Client, content: bytes) -> httpx2.Response:
    return http.post("/v1/responses", content=content,
                     headers={"content-type": "application/json", **AUTH})


@FUZZ
@given(body=BODY)
def test_any_json_body_gets_a_clean_answer(http: httpx2.Client, body: Any) -> None:
    content = json.dumps(body).encode()
    if len(content) > MAX_BODY:
        content = json.dumps({"model": "groq@m", "input": "trimmed"}).encode()
    check(post(http, content))


@settings(FUZZ, max_examples=40)
@given(raw=st.binary(max_size=200) | TEXT.map(str.encode))
def test_any_bytes_get_a_clean_answer(http: httpx2.Client, raw: bytes) -> None:
    check(post(http, raw))


HEADER_VALUE = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40)
HEADER_NAME = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyz-0123456789"), min_size=1,
                      max_size=16)


@settings(FUZZ, max_examples=40)
@given(authorization=st.none() | HEADER_VALUE | st.just(AUTH["authorization"]),
       content_type=st.none() | HEADER_VALUE, request_id=st.none() | HEADER_VALUE,
       extra=st.dictionaries(HEADER_NAME, HEADER_VALUE, max_size=4))
def test_any_headers_get_a_clean_answer(
    http: httpx2.Client, authorization: str | None, content_type: str | None,
    request_id: str | None, extra: dict[str, str],
) -> None:
    headers = {k: v for k, v in extra.items() if k not in ("content-length", "host",
                                                          "transfer-encoding", "connection")}
    for name, value in (("authorization", authorization), ("content-type", content_type),
                        ("x-request-id", request_id)):
        headers[name] = value if value is not None else ""
    # A field value cannot start or end with whitespace (RFC 9110 5.5): the client refuses
    # to send one such (b" "), so each value goes stripped.
    sent = {k: v.strip() for k, v in headers.items() if v.strip()}
    body = json.dumps({"model": "groq@m", "input": "hi"}).encode()
    response = http.post("/v1/responses", content=body, headers=sent)
    check(response)
    request_id = sent.get("x-request-id")
    if request_id and SANE_ID.fullmatch(request_id):
        assert response.headers["x-request-id"] == request_id


@settings(FUZZ, max_examples=50)
@given(response_id=TEXT, method=st.sampled_from(["GET", "DELETE", "POST", "PUT"]),
       sub=st.sampled_from(["", "/input_items", "/cancel", "/x"]),
       query=st.dictionaries(st.sampled_from(["limit", "order", "after", "before", "include",
                                              "stream", "x"]), TEXT, max_size=4))
def test_any_path_and_query_get_a_clean_answer(
    http: httpx2.Client, response_id: str, method: str, sub: str, query: dict[str, str]
) -> None:
    url = f"/v1/responses/{quote(response_id, safe='')}{sub}"
    check(http.request(method, url, params=query, headers=AUTH))


@settings(FUZZ, max_examples=15)
@given(path=st.sampled_from(["/health", "/ready", "/metrics", "/", "/v1", "/v1/models"]),
       query=st.dictionaries(TEXT, TEXT, max_size=3))
def test_ops_endpoints_ignore_junk_queries(
    http: httpx2.Client, path: str, query: dict[str, str]
) -> None:
    check(http.get(path, params=query))


def padded(size: int) -> bytes:
    """A valid request body of exactly ``size`` bytes."""
    head = json.dumps({"model": "groq@m", "input": ""}).encode()
    pad = size - len(head)
    assert pad >= 0
    return head[:-2] + b"x" * pad + head[-2:]


@settings(FUZZ, max_examples=12)
@given(size=st.integers(MAX_BODY - 32, MAX_BODY + 32), chunked=st.booleans())
def test_bodies_past_the_limit_are_413(http: httpx2.Client, size: int, chunked: bool) -> None:
    body = padded(size)
    content: Any = iter([body[:100], body[100:]]) if chunked else body
    response = http.post("/v1/responses", content=content,
                         headers={**AUTH, "content-type": "application/json"})
    check(response)
    if size > MAX_BODY:
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "request_too_large"
    else:
        assert response.status_code == 200, response.text


def test_a_huge_body_is_refused_without_reading_it(http: httpx2.Client) -> None:
    response = http.post("/v1/responses", content=b"x" * (4 * 1024 * 1024), headers=AUTH)
    assert response.status_code == 413
