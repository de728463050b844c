"""Helpers shared by the route modules: body decoding with limits."""

from __future__ import annotations

from typing import Any

import orjson
from quart import request

from openresponses.errors import InvalidRequest, RequestTooLarge


async def discard_body(max_bytes: int) -> None:
    """Read and drop the body of a route that takes none, so one past ``max_bytes`` is still
    refused with 413, as on every other route."""
    if (request.content_length or 0) > max_bytes:
        raise RequestTooLarge(f"The request body exceeds the limit of {max_bytes} bytes.")
    raw = await request.get_data(cache=False)
    if len(raw) > max_bytes:
        raise RequestTooLarge(f"The request body exceeds the limit of {max_bytes} bytes.")


async def json_body(max_bytes: int) -> Any:
    """The request body decoded as JSON; 413 past ``max_bytes``, 400 for malformed JSON."""
    if (request.content_length or 0) > max_bytes:
        raise RequestTooLarge(f"The request body exceeds the limit of {max_bytes} bytes.")
    raw = await request.get_data(cache=False)
    assert isinstance(raw, bytes)
    if len(raw) > max_bytes:
        raise RequestTooLarge(f"The request body exceeds the limit of {max_bytes} bytes.")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise InvalidRequest(
            "We could not parse the JSON body of your request. The OpenAI API expects a JSON "
            "payload.",
            code="invalid_json",
        ) from None
