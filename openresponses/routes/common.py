"""Helpers shared by the route modules: body decoding with limits."""

from __future__ import annotations

import re
from typing import Any

import orjson
from quart import request

from openresponses.errors import InvalidRequest, RequestTooLarge

_INTEGER = re.compile(r"-?[0-9]{1,19}")  # ASCII digits only: int() also takes "1_0", " 5", "٣"
INT64_MAX = 2**63 - 1  # what a store's INTEGER / bigint column holds


def query_int(name: str, *, default: int, low: int, high: int) -> int:
    """The query parameter ``name`` as an integer from ``low`` to ``high``; ``default`` when it
    is absent; 400 naming it otherwise."""
    raw = request.args.get(name)
    if raw is None:
        return default
    if not _INTEGER.fullmatch(raw) or not low <= int(raw) <= high:
        raise InvalidRequest(f"Invalid '{name}': expected an integer from {low} to {high}.",
                             param=name)
    return int(raw)


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
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise InvalidRequest(
            "We could not parse the JSON body of your request. The OpenAI API expects a JSON "
            "payload.",
            code="invalid_json",
        ) from None
    check_depth(body, len(raw))
    return body


# orjson encodes at most 254 levels of arrays and objects, and the gateway nests what a client
# sent a few levels deeper (a tool's parameters in the stored response, in an event, in an
# upstream body): a body deeper than MAX_DEPTH could be read but never sent or stored.
MAX_DEPTH = 100
_SLOT: list[Any] = [None]  # the probe's innermost list; set only for one synchronous call
_PROBE: list[Any] = _SLOT
for _ in range(254 - MAX_DEPTH - 1):
    _PROBE = [_PROBE]


def check_depth(value: Any, size: int) -> None:
    """400 if ``value`` (decoded JSON, ``size`` bytes of it) nests arrays and objects more
    than ``MAX_DEPTH`` levels deep. Measured by orjson's encoder, in C (~0.1 ms a MB): it
    refuses ``value`` at the bottom of ``254 - MAX_DEPTH`` lists exactly when ``value`` is too
    deep. A body of ``2 * MAX_DEPTH`` bytes or fewer is not measured: nesting takes two bytes
    a level. Event-loop thread only."""
    if size <= 2 * MAX_DEPTH:
        return
    _SLOT[0] = value
    try:
        orjson.dumps(_PROBE)
    except TypeError:  # "Recursion limit reached": decoded JSON has no other unencodable value
        raise InvalidRequest(f"The JSON body nests arrays and objects more than {MAX_DEPTH} "
                             "levels deep.", code="invalid_json") from None
    finally:
        _SLOT[0] = None
