"""``GET /v1/responses``: a page of the caller's stored responses, newest first by default.

OpenAI has no such endpoint; the console needs one. It answers an OpenAI-style list object
(``{"object": "list", "data", "first_id", "last_id", "has_more"}``) of full Response objects,
scoped by the caller's key like every other read. Query parameters: ``limit`` (1-100, default
20), ``order`` (``asc`` | ``desc``, default ``desc``), ``after`` (a response id: the page
starts just past it; unknown → an empty page), ``model``, ``status`` and ``metadata[key]=value``
(every pair must match). Anything malformed is a 400 naming the parameter.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from quart import Blueprint, Response, request

from openresponses.auth import caller_from_headers
from openresponses.errors import InvalidRequest
from openresponses.gateway.run import Gateway
from openresponses.gateway.storage_listing import ListResponses
from openresponses.render import json_response
from openresponses.routes.common import query_int

STATUSES = ("completed", "failed", "in_progress", "cancelled", "queued", "incomplete")
MAX_LIMIT = 100
_MAX_FILTER = 512  # characters of one filter value: longer ones match nothing stored anyway
_MAX_PAIRS = 16  # OpenAI metadata holds at most 16 pairs


def _invalid(param: str, message: str) -> InvalidRequest:
    return InvalidRequest(f"Invalid '{param}': {message}", param=param, code="invalid_value")


def _text(args: Mapping[str, str], name: str) -> str | None:
    value = args.get(name)
    if value is None:
        return None
    if not value or len(value) > _MAX_FILTER:
        raise _invalid(name, f"expected 1 to {_MAX_FILTER} characters.")
    return value


def _metadata(args: Mapping[str, str]) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for name, value in args.items():
        if not name.startswith("metadata"):
            continue
        key = name.removeprefix("metadata[").removesuffix("]")
        if key == name or not name.endswith("]") or not key or len(key) > 64:
            raise _invalid(name, "filter on metadata as metadata[key]=value.")
        if len(value) > _MAX_FILTER:
            raise _invalid(name, f"expected at most {_MAX_FILTER} characters.")
        pairs[key] = value
    if len(pairs) > _MAX_PAIRS:
        raise _invalid("metadata", f"at most {_MAX_PAIRS} pairs.")
    return pairs


def parse_list_args(args: Mapping[str, str], owner: str) -> ListResponses:
    """The storage actor's ask for ``owner``'s listing from a query string;
    ``InvalidRequest`` naming the bad parameter."""
    order = args.get("order", "desc")
    if order not in ("asc", "desc"):
        raise _invalid("order", "expected asc or desc.")
    status = _text(args, "status")
    if status is not None and status not in STATUSES:
        raise _invalid("status", f"expected one of {', '.join(STATUSES)}.")
    return ListResponses(
        owner=owner, limit=query_int("limit", default=20, low=1, high=MAX_LIMIT),
        order="asc" if order == "asc" else "desc",
        after=_text(args, "after"), model=_text(args, "model"), status=status,
        metadata=_metadata(args),
    )


def list_body(responses: list[dict[str, Any]], has_more: bool) -> dict[str, Any]:
    """The OpenAI-style list object of a page."""
    return {
        "object": "list", "data": responses, "has_more": has_more,
        "first_id": responses[0]["id"] if responses else None,
        "last_id": responses[-1]["id"] if responses else None,
    }


def listing_blueprint(gateway: Gateway) -> Blueprint:
    """``GET /v1/responses`` bound to a started ``Gateway``."""
    bp = Blueprint("responses_listing", __name__)

    @bp.get("/v1/responses")
    async def list_responses() -> Response:
        caller = caller_from_headers()
        page = await gateway.storage.ask(parse_list_args(request.args, caller.owner))
        return json_response(list_body([r.response for r in page.records], page.has_more))

    return bp
