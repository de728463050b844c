"""Admin API bodies → key arguments and changes: what create and update accept, and the
param a refusal names (an unknown field or limit is refused, never silently dropped)."""

from __future__ import annotations

from typing import Any

import pytest

from openresponses.errors import InvalidRequest
from openresponses.keys import KeyChange, KeyLimits
from openresponses.routes.admin import parse_key_request, parse_key_update

NOW = 1_700_000_000


def test_a_create_body_gives_the_arguments_of_a_new_key() -> None:
    body = {"name": " ci ", "allowed": ["groq@*"], "expires_in": 60,
            "limits": {"requests_per_day": 50, "tokens_per_minute": None}}
    assert parse_key_request(body, NOW) == {
        "name": "ci", "allowed": ("groq@*",), "expires_at": NOW + 60,
        "limits": KeyLimits(requests_per_day=50),
    }


def test_a_create_body_may_leave_out_everything_but_the_name() -> None:
    assert parse_key_request({"name": "ci", "limits": None, "expires_at": None}, NOW) == {
        "name": "ci", "allowed": (), "expires_at": None, "limits": KeyLimits(),
    }


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"name": "ci", "limits": {"requests_per_hour": 10}}, "limits.requests_per_hour"),
        ({"name": "ci", "limits": {"requests_per_day": 5, "rpm": 1}}, "limits.rpm"),
        ({"name": "ci", "expires": 60}, "expires"),
        ({"name": "ci", "revoked": True}, "revoked"),
        ({"name": "ci", "models": ["groq@*"]}, "models"),
    ],
)
def test_a_create_body_with_an_unknown_field_or_limit_is_refused_naming_it(
    body: dict[str, Any], param: str
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_key_request(body, NOW)
    assert (caught.value.param, caught.value.code) == (param, "unknown_parameter")
    assert param.rpartition(".")[2] in str(caught.value)


def test_an_update_body_names_only_what_changes() -> None:
    change = parse_key_update({"limits": {"requests_per_minute": None, "tokens_per_minute": 9}})
    assert change == KeyChange(limits={"requests_per_minute": None, "tokens_per_minute": 9})
    assert parse_key_update({"name": "x", "allowed": None}) == KeyChange(name="x")
    assert parse_key_update({"name": "x", "limits": {}}) == KeyChange(name="x")


@pytest.mark.parametrize(
    ("body", "param", "code"),
    [
        ({"limits": {"requests_per_hour": 1}}, "limits.requests_per_hour", "unknown_parameter"),
        ({"expires_at": 1}, "expires_at", "unknown_parameter"),
        ({"name": None}, "name", "invalid_type"),
        ({"name": None, "allowed": ["groq@*"]}, "name", "invalid_type"),
        ({"limits": {}}, None, None),
        ({"allowed": None}, None, None),
    ],
)
def test_an_update_body_that_is_unknown_null_or_empty_is_refused(
    body: dict[str, Any], param: str | None, code: str | None
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_key_update(body)
    assert (caught.value.param, caught.value.code) == (param, code)


@pytest.mark.parametrize("allowed", [
    ["groq@*\n"], ["groq@\x1b[31m*"], [""], ["x" * 257], ["groq@*"] * 101, [7],
])
def test_allowed_globs_are_printable_bounded_strings(allowed: list[Any]) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_key_request({"name": "ci", "allowed": allowed}, NOW)
    assert caught.value.param == "allowed"
    with pytest.raises(InvalidRequest):
        parse_key_update({"allowed": allowed})
