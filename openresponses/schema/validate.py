"""Small typed field readers that raise ``InvalidRequest`` naming the offending ``param``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from openresponses.errors import InvalidRequest

_MISSING: Any = object()


def _type_error(param: str, expected: str, value: Any) -> InvalidRequest:
    got = "null" if value is None else type(value).__name__
    return InvalidRequest(
        f"Invalid type for '{param}': expected {expected}, but got {got}.",
        param=param,
        code="invalid_type",
    )


def opt_str(data: Mapping[str, Any], key: str, param: str | None = None) -> str | None:
    value = data.get(key)
    if value is None or isinstance(value, str):
        return value
    raise _type_error(param or key, "a string", value)


def req_str(data: Mapping[str, Any], key: str, param: str | None = None) -> str:
    value = data.get(key, _MISSING)
    if value is _MISSING or value is None:
        raise InvalidRequest(
            f"Missing required parameter: '{param or key}'.",
            param=param or key,
            code="missing_required_parameter",
        )
    if not isinstance(value, str):
        raise _type_error(param or key, "a string", value)
    return value


def opt_bool(data: Mapping[str, Any], key: str, param: str | None = None) -> bool | None:
    value = data.get(key)
    if value is None or isinstance(value, bool):
        return value
    raise _type_error(param or key, "a boolean", value)


def opt_number(
    data: Mapping[str, Any], key: str, *, low: float, high: float, param: str | None = None
) -> float | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _type_error(param or key, "a number", value)
    if not low <= value <= high:
        raise InvalidRequest(
            f"Invalid '{param or key}': {value} is not between {low} and {high}.",
            param=param or key,
            code="invalid_value",
        )
    return float(value)


def opt_int(
    data: Mapping[str, Any], key: str, *, low: int, high: int, param: str | None = None
) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _type_error(param or key, "an integer", value)
    if not low <= value <= high:
        raise InvalidRequest(
            f"Invalid '{param or key}': {value} is not between {low} and {high}.",
            param=param or key,
            code="invalid_value",
        )
    return value


def opt_dict(data: Mapping[str, Any], key: str, param: str | None = None) -> dict[str, Any] | None:
    value = data.get(key)
    if value is None or isinstance(value, dict):
        return value
    raise _type_error(param or key, "an object", value)


def opt_list(data: Mapping[str, Any], key: str, param: str | None = None) -> list[Any] | None:
    value = data.get(key)
    if value is None or isinstance(value, list):
        return value
    raise _type_error(param or key, "an array", value)


def metadata(data: Mapping[str, Any], key: str = "metadata") -> dict[str, str] | None:
    """OpenAI metadata: at most 16 string pairs, keys ≤ 64 chars, values ≤ 512 chars."""
    value = opt_dict(data, key)
    if value is None:
        return None
    if len(value) > 16:
        raise InvalidRequest("'metadata' may hold at most 16 pairs.", param=key)
    for k, v in value.items():
        if not isinstance(v, str) or len(k) > 64 or len(v) > 512:
            raise InvalidRequest(
                f"Invalid 'metadata.{k}': values must be strings of at most 512 characters"
                " and keys at most 64.",
                param=f"{key}.{k}",
            )
    return value
