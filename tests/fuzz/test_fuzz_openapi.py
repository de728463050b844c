"""Schemathesis against the gateway's own ``/openapi.json``: every operation it documents is
fuzzed (path, query, headers and body; valid and invalid by the schema) over loopback.

Whatever arrives, the gateway answers within ``ANSWER_WITHIN`` seconds (a hang fails the
request) and never with a 5xx: the fake upstream always succeeds, so a 5xx is the gateway's own
bug. Errors are the OpenAI envelope and every answer has an ``x-request-id``. Request bodies
that name a model are sometimes pointed at a real provider of the fake upstream, so the
translation code runs too, not only validation. Examples are bounded and seeded (CI budget).
"""

from __future__ import annotations

import json
import os
import re
import zlib
from typing import Any

import httpx2
import schemathesis
from hypothesis import strategies as st
from schemathesis import Case
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.core.transport import Response
from schemathesis.hooks import HookContext

from openresponses.openapi import document_bytes
from tests.fakes.keys import FUZZ_CLIENT_KEY
from tests.fuzz.conftest import FUZZ_ADMIN_KEY

ANSWER_WITHIN = 10.0
SANE_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")  # the request ids the gateway echoes or mints
FRAMING = ("content-length", "transfer-encoding", "connection", "host", "upgrade", "expect")
MODELS = ("groq@m", "claude@c", "openai@gpt-x")
# CI's budget; OPENRESPONSES_FUZZ_EXAMPLES=500 digs deeper (and adds the coverage phase:
# boundary values of every parameter), a run of some minutes.
EXAMPLES = int(os.environ.get("OPENRESPONSES_FUZZ_EXAMPLES", "15"))
SETTINGS = {
    "seed": int(os.environ.get("OPENRESPONSES_FUZZ_SEED", "20261125")),
    "suppress-health-check": ["too_slow", "data_too_large", "filter_too_much"],
    "generation": {"max-examples": EXAMPLES, "database": "none", "mode": "all"},
    "phases": {"examples": {"enabled": False}, "coverage": {"enabled": EXAMPLES > 15},
               "stateful": {"enabled": False}},
}


def _real_model(_: HookContext, body: Any) -> st.SearchStrategy[Any]:
    """``body``, or (for three bodies out of four naming a model) the same body on a provider
    the fake upstream answers. Chosen from the body's own bytes: stable under shrinking."""
    if not isinstance(body, dict) or "model" not in body:
        return st.just(body)
    choice = zlib.crc32(json.dumps(body, sort_keys=True, default=repr).encode()) % 4
    return st.just(body if choice == 3 else {**body, "model": MODELS[choice]})


# The shipped document: ``test_the_gateway_serves_the_shipped_document`` checks the gateway
# serves exactly these bytes. (Loading it from the live gateway needs schemathesis' lazy
# fixture loader, which pytest 9 broke: it writes ``Node._nodeid``.)
schema = schemathesis.openapi.from_dict(json.loads(document_bytes()),
                                        config=SchemathesisConfig.from_dict(SETTINGS))
schema.hook("flatmap_body")(_real_model)


def _bearer(case: Case[Any]) -> str:
    admin = case.operation.path.startswith("/v1/admin/")
    return f"Bearer {FUZZ_ADMIN_KEY if admin else FUZZ_CLIENT_KEY}"


def check_answer(response: Response) -> None:
    """A request id on every answer; the OpenAI error envelope on every JSON error."""
    assert SANE_ID.fullmatch(response.headers["x-request-id"][0])
    if response.status_code >= 400 and (
        response.headers.get("content-type", [""])[0].startswith("application/json")
    ):
        error = response.json()["error"]
        assert set(error) == {"message", "type", "param", "code"}, error


def test_the_gateway_serves_the_shipped_document(http: httpx2.Client) -> None:
    response = http.get("/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.content == document_bytes()


@schema.parametrize()
def test_every_operation_answers_without_a_5xx(case: Case[Any], gateway_root: str) -> None:
    for name in FRAMING:  # the HTTP server's (h11 answers a bogus transfer coding with 501)
        case.headers.pop(name, None)
    response = case.call(base_url=gateway_root, headers={"authorization": _bearer(case)},
                         timeout=ANSWER_WITHIN)
    case.validate_response(response, checks=[not_a_server_error])
    check_answer(response)
