"""The admin key schemas of the shipped document say what the endpoint does: a body is valid
by ``CreateGatewayKeyRequest`` / ``UpdateGatewayKeyRequest`` exactly when the admin API's
parser accepts it (for bodies the schemas can speak of: a name's surrounding spaces and the
numeric ceilings are the endpoint's alone)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from openresponses.errors import InvalidRequest
from openresponses.openapi import document_bytes
from openresponses.routes.admin import parse_key_request, parse_key_update

COMPONENTS = json.loads(document_bytes())["components"]


def _valid(schema_name: str, body: Any) -> bool:
    schema = {"$ref": f"#/components/schemas/{schema_name}", "components": COMPONENTS}
    return bool(Draft202012Validator(schema).is_valid(body))


def _accepted(parse: Callable[[Any], object], body: Any) -> bool:
    try:
        parse(body)
    except InvalidRequest:
        return False
    return True


CREATE_BODIES = [
    {"name": "ci"},
    {"name": "ci", "allowed": ["groq@*"], "expires_in": 60, "expires_at": None,
     "limits": {"requests_per_day": 5, "tokens_per_minute": None}},
    {"name": "ci", "allowed": None, "limits": None},
    {"name": "ci", "limits": {}},
    {},
    {"name": None},
    {"name": ""},
    {"name": "ci", "limits": {"requests_per_hour": 1}},
    {"name": "ci", "limits": {"requests_per_day": -1}},
    {"name": "ci", "expires": 60},
    {"name": "ci", "revoked": False},
    {"name": "ci", "allowed": [""]},
    {"name": "ci", "allowed": "groq@*"},
    {"name": "ci", "expires_in": 0},
    [],
]
UPDATE_BODIES = [
    {"name": "x"},
    {"allowed": []},
    {"allowed": ["claude@*"], "name": "x"},
    {"limits": {"requests_per_minute": None}},
    {"name": "x", "limits": {}},
    {"name": "x", "allowed": None, "limits": None},
    {},
    {"limits": {}},
    {"limits": None},
    {"allowed": None},
    {"name": None},
    {"name": None, "allowed": ["groq@*"]},
    {"name": ""},
    {"name": 7},
    {"limits": {"requests_per_hour": 1}},
    {"limits": {"tokens_per_minute": -1}},
    {"limits": {"requests_per_day": 1.5}},
    {"limits": []},
    {"expires_at": 1},
    {"revoked": False},
    [],
]


@pytest.mark.parametrize("body", CREATE_BODIES)
def test_the_create_schema_accepts_what_the_endpoint_accepts(body: Any) -> None:
    accepted = _accepted(lambda data: parse_key_request(data, 1_700_000_000), body)
    assert _valid("CreateGatewayKeyRequest", body) is accepted


@pytest.mark.parametrize("body", UPDATE_BODIES)
def test_the_update_schema_accepts_what_the_endpoint_accepts(body: Any) -> None:
    assert _valid("UpdateGatewayKeyRequest", body) is _accepted(parse_key_update, body)


def test_the_key_schemas_refuse_unknown_fields_and_limits() -> None:
    for name in ("GatewayKeyLimits", "CreateGatewayKeyRequest", "UpdateGatewayKeyRequest"):
        assert COMPONENTS["schemas"][name]["additionalProperties"] is False
