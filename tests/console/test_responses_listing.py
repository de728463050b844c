"""``GET /v1/responses`` on a real gateway: newest first, paging with ``after``, filters on
model, status and metadata, owner isolation, and 400s naming the bad parameter."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.keys_helpers import call, create_key, create_response, error_of


async def listing(gateway_url: str, key: str, query: str = "") -> dict[str, Any]:
    response = await call("GET", f"{gateway_url}/responses{query}", key)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def made(gateway_url: str, key: str, **body: Any) -> str:
    response = await create_response(gateway_url, key, **body)
    assert response.status_code == 200, response.text
    response_id: str = response.json()["id"]
    return response_id


def newest_first(*response_ids: str) -> list[str]:
    """Made one after the other (arguments oldest first), listed newest first: strictly, also
    within a second (response ids sort by creation time)."""
    return list(reversed(response_ids))


async def test_lists_the_callers_responses_newest_first(gateway_url: str, api_key: str) -> None:
    first = await made(gateway_url, api_key)
    second = await made(gateway_url, api_key, previous_response_id=first)
    body = await listing(gateway_url, api_key)
    assert body["object"] == "list"
    expected = newest_first(first, second)
    assert [r["id"] for r in body["data"]] == expected
    assert (body["first_id"], body["last_id"], body["has_more"]) == (*expected, False)
    assert body["data"][0]["object"] == "response"
    assert body["data"][0]["output_text"] == "Hello from the fake model."
    oldest = await listing(gateway_url, api_key, "?order=asc")
    assert [r["id"] for r in oldest["data"]] == expected[::-1]


async def test_pages_with_limit_and_after(gateway_url: str, api_key: str) -> None:
    made_ids = [await made(gateway_url, api_key) for _ in range(5)]
    seen: list[str] = []
    query = "?limit=2"
    while True:
        page = await listing(gateway_url, api_key, query)
        assert len(page["data"]) <= 2
        seen += [r["id"] for r in page["data"]]
        if not page["has_more"]:
            break
        query = f"?limit=2&after={page['last_id']}"
    assert seen == newest_first(*made_ids)
    assert (await listing(gateway_url, api_key, "?after=resp_unknown"))["data"] == []


async def test_filters_by_model_status_and_metadata(gateway_url: str, api_key: str) -> None:
    tagged = await made(gateway_url, api_key, model="groq@llama",
                        metadata={"team": "search", "env": "prod"})
    other_team = await made(gateway_url, api_key, model="groq@llama", metadata={"team": "ads"})
    other_model = await made(gateway_url, api_key, model="openai@gpt-4o",
                             metadata={"team": "search"})

    async def found(query: str) -> list[str]:
        return [r["id"] for r in (await listing(gateway_url, api_key, query))["data"]]

    assert await found("?model=groq@llama") == [other_team, tagged]
    assert await found("?metadata[team]=search") == [other_model, tagged]
    assert await found("?metadata[team]=search&metadata[env]=prod") == [tagged]
    assert await found("?model=openai@gpt-4o&metadata[team]=search") == [other_model]
    assert await found("?status=completed&model=groq@llama") == [other_team, tagged]
    assert await found("?status=failed") == []


async def test_another_keys_responses_are_invisible(gateway_url: str, api_key: str) -> None:
    mine = await made(gateway_url, api_key)
    other_key = (await create_key(gateway_url, name="other"))["key"]
    theirs = await made(gateway_url, other_key)
    assert [r["id"] for r in (await listing(gateway_url, api_key))["data"]] == [mine]
    assert [r["id"] for r in (await listing(gateway_url, other_key))["data"]] == [theirs]
    assert (await listing(gateway_url, api_key, f"?after={theirs}"))["data"] == []


async def test_a_deleted_response_leaves_the_list(gateway_url: str, api_key: str) -> None:
    kept, deleted = await made(gateway_url, api_key), await made(gateway_url, api_key)
    assert (await call("DELETE", f"{gateway_url}/responses/{deleted}", api_key)).is_success
    assert [r["id"] for r in (await listing(gateway_url, api_key))["data"]] == [kept]


@pytest.mark.parametrize(("query", "param"), [
    ("?limit=0", "limit"), ("?limit=101", "limit"), ("?limit=ten", "limit"),
    ("?limit=-1", "limit"), ("?order=sideways", "order"), ("?status=done", "status"),
    ("?model=", "model"), ("?metadata=x", "metadata"), ("?metadata[]=x", "metadata[]"),
    ("?metadata[a=x", "metadata[a"), ("?after=" + "r" * 600, "after"),
])
async def test_bad_parameters_are_400_naming_the_param(
    gateway_url: str, api_key: str, query: str, param: str
) -> None:
    response = await call("GET", f"{gateway_url}/responses{query}", api_key)
    assert response.status_code == 400, response.text
    error = error_of(response)
    assert error["param"] == param
    assert error["type"] == "invalid_request_error"


async def test_listing_needs_a_valid_key(gateway_url: str) -> None:
    assert (await call("GET", f"{gateway_url}/responses", None)).status_code == 401
    assert (await call("GET", f"{gateway_url}/responses", "or-unknown")).status_code == 401
