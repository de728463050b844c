"""``/v1/admin/keys``: create, list, update and revoke gateway keys.

Authenticated by ``Authorization: Bearer $OPENRESPONSES_ADMIN_KEY`` (compared in constant
time); with no admin key configured the API is disabled (403). A created key is in the answer
once and never again: only its hash is stored.

``POST /v1/admin/keys/{key_id}`` (OpenAI's verb for modifying an object) changes a key's
``name``, ``allowed`` globs or some of its ``limits``: what the body leaves out stays as it
is, a limit set to null goes back to the default. Both bodies refuse a field or limit they do
not know (400 naming it): silently ignoring a misspelt limit would leave the key unlimited
while looking limited. This process's key cache forgets the key at
once, so its next request is judged (models, rate limits) by the new record; other gateway
processes see the change within their cache's few seconds.
"""

from __future__ import annotations

import hmac
import time
from typing import Any

from quart import Blueprint, Response

from openresponses.auth import bearer_token
from openresponses.config import Config
from openresponses.errors import AuthenticationFailed, InvalidRequest, NotFound, PermissionDenied
from openresponses.gateway.run import Gateway
from openresponses.gateway.storage import ListKeys, RevokeKey, SaveKey, UpdateKey
from openresponses.keys import KeyChange, KeyDirectory, KeyLimits, new_key
from openresponses.render import json_response
from openresponses.routes.common import discard_body, json_body
from openresponses.schema import validate as v

_MAX_NAME = 256
_MAX_GLOBS = 100  # a key's allowed models: checked on every request
_MAX_LIMIT = 10**12
_LIMITS = ("requests_per_minute", "requests_per_day", "tokens_per_minute")
_CREATE_FIELDS = ("name", "allowed", "limits", "expires_at", "expires_in")
_UPDATABLE = ("name", "allowed", "limits")


def require_admin(config: Config) -> None:
    """401 unless the bearer is the admin key; 403 when no admin key is configured."""
    if config.admin_key is None:
        raise PermissionDenied("The admin API is disabled: set OPENRESPONSES_ADMIN_KEY.")
    token = bearer_token()
    if token is None or not hmac.compare_digest(token.encode(), config.admin_key.encode()):
        raise AuthenticationFailed("Incorrect admin key provided.", code="invalid_admin_key")


def _object(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise InvalidRequest("The request body must be a JSON object.")
    return data


def _name(data: dict[str, Any]) -> str:
    name = v.req_str(data, "name").strip()
    if not name or len(name) > _MAX_NAME:
        raise InvalidRequest(f"'name' must have 1 to {_MAX_NAME} characters.", param="name")
    if not name.isprintable():  # shown in logs, the console and the CLI: no control characters
        raise InvalidRequest("'name' may not contain control characters.", param="name")
    return name


def _allowed(data: dict[str, Any]) -> tuple[str, ...]:
    allowed = v.opt_list(data, "allowed") or []
    if len(allowed) > _MAX_GLOBS or not all(
            isinstance(glob, str) and 0 < len(glob) <= _MAX_NAME and glob.isprintable()
            for glob in allowed):
        raise InvalidRequest(
            f"'allowed' must be a list of at most {_MAX_GLOBS} model globs, each 1 to "
            f"{_MAX_NAME} printable characters.", param="allowed")
    return tuple(allowed)


def _limit(raw_limits: dict[str, Any], field: str) -> int | None:
    return v.opt_int(raw_limits, field, low=0, high=_MAX_LIMIT, param=f"limits.{field}")


def _known_fields(data: dict[str, Any], known: tuple[str, ...], hint: str) -> None:
    """400 naming the first field of ``data`` that is not one of ``known``."""
    for field in data:
        if field not in known:
            raise InvalidRequest(f"Unknown parameter: '{field}'. {hint}", param=field,
                                 code="unknown_parameter")


def _raw_limits(data: dict[str, Any]) -> dict[str, Any]:
    """The body's ``limits`` object ({} if absent or null); 400 naming an unknown limit."""
    raw_limits = v.opt_dict(data, "limits") or {}
    for field in raw_limits:
        if field not in _LIMITS:
            raise InvalidRequest(f"Unknown limit '{field}': expected one of "
                                 f"{', '.join(_LIMITS)}.", param=f"limits.{field}",
                                 code="unknown_parameter")
    return raw_limits


def parse_key_request(data: Any, now: int) -> dict[str, Any]:
    """The arguments of ``new_key`` from a create body; 400 naming the ``param`` (an unknown
    field or limit too)."""
    data = _object(data)
    _known_fields(data, _CREATE_FIELDS, "A key is created from name, allowed, limits, "
                                        "expires_at and expires_in.")
    raw_limits = _raw_limits(data)
    limits = KeyLimits(**{field: _limit(raw_limits, field) for field in _LIMITS})
    expires_at = v.opt_int(data, "expires_at", low=0, high=2**62)
    expires_in = v.opt_int(data, "expires_in", low=1, high=2**40)
    if expires_in is not None:
        expires_at = now + expires_in
    return {"name": _name(data), "allowed": _allowed(data), "limits": limits,
            "expires_at": expires_at}


def parse_key_update(data: Any) -> KeyChange:
    """The change an update body asks for; 400 naming the ``param`` for anything else (an
    unknown field too: a silently ignored ``expires_at`` would look applied; a null ``name``
    too: a key always has one). ``allowed`` null is left as it is."""
    data = _object(data)
    _known_fields(data, _UPDATABLE, "A key's name, allowed and limits can be changed.")
    raw_limits = _raw_limits(data)
    if "name" in data and data["name"] is None:
        raise InvalidRequest("Invalid type for 'name': expected a string, but got null (a key "
                             "always has a name).", param="name", code="invalid_type")
    change = KeyChange(
        name=_name(data) if "name" in data else None,
        allowed=_allowed(data) if data.get("allowed") is not None else None,
        limits={field: _limit(raw_limits, field) for field in raw_limits},
    )
    if change.is_empty():
        raise InvalidRequest("Nothing to update: give 'name', 'allowed' or 'limits'.")
    return change


def admin_blueprint(gateway: Gateway, keys: KeyDirectory) -> Blueprint:
    """The key management routes; ``keys`` is told of changes and revocations at once."""
    bp = Blueprint("admin", __name__)
    config, storage = gateway.config, gateway.storage

    @bp.post("/v1/admin/keys")
    async def create_key() -> Response:
        require_admin(config)
        now = int(time.time())
        arguments = parse_key_request(await json_body(config.max_body_bytes), now)
        key, record = new_key(created_at=now, **arguments)
        await storage.ask(SaveKey(record))
        keys.forget(record.hash)
        return json_response({**record.public(), "key": key}, status=201)

    @bp.get("/v1/admin/keys")
    async def list_keys() -> Response:
        require_admin(config)
        records = await storage.ask(ListKeys())
        return json_response({"object": "list", "data": [r.public() for r in records]})

    @bp.post("/v1/admin/keys/<key_id>")
    async def update_key(key_id: str) -> Response:
        require_admin(config)
        change = parse_key_update(await json_body(config.max_body_bytes))
        record = await storage.ask(UpdateKey(key_id, change))
        if record is None:
            raise NotFound(f"Key with id '{key_id}' not found.")
        keys.forget(record.hash)
        return json_response(record.public())

    @bp.post("/v1/admin/keys/<key_id>/revoke")
    async def revoke_key(key_id: str) -> Response:
        require_admin(config)
        await discard_body(config.max_body_bytes)
        record = await storage.ask(RevokeKey(key_id))
        if record is None:
            raise NotFound(f"Key with id '{key_id}' not found.")
        keys.forget(record.hash)
        return json_response(record.public())

    return bp
