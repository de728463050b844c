"""``/v1/admin/keys``: create, list and revoke gateway keys.

Authenticated by ``Authorization: Bearer $OPENRESPONSES_ADMIN_KEY`` (compared in constant
time); with no admin key configured the API is disabled (403). A created key is in the answer
once and never again: only its hash is stored.
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
from openresponses.gateway.storage import ListKeys, RevokeKey, SaveKey
from openresponses.keys import KeyDirectory, KeyLimits, new_key
from openresponses.render import json_response
from openresponses.routes.common import json_body
from openresponses.schema import validate as v

_MAX_NAME = 256
_MAX_LIMIT = 10**12


def require_admin(config: Config) -> None:
    """401 unless the bearer is the admin key; 403 when no admin key is configured."""
    if config.admin_key is None:
        raise PermissionDenied("The admin API is disabled: set OPENRESPONSES_ADMIN_KEY.")
    token = bearer_token()
    if token is None or not hmac.compare_digest(token.encode(), config.admin_key.encode()):
        raise AuthenticationFailed("Incorrect admin key provided.", code="invalid_admin_key")


def parse_key_request(data: Any, now: int) -> dict[str, Any]:
    """The arguments of ``new_key`` from a create body; 400 naming the ``param``."""
    if not isinstance(data, dict):
        raise InvalidRequest("The request body must be a JSON object.")
    name = v.req_str(data, "name").strip()
    if not name or len(name) > _MAX_NAME:
        raise InvalidRequest(f"'name' must have 1 to {_MAX_NAME} characters.", param="name")
    allowed = v.opt_list(data, "allowed") or []
    if not all(isinstance(glob, str) and glob for glob in allowed):
        raise InvalidRequest("'allowed' must be a list of model globs.", param="allowed")
    raw_limits = v.opt_dict(data, "limits") or {}
    limits = KeyLimits(**{
        field: v.opt_int(raw_limits, field, low=0, high=_MAX_LIMIT, param=f"limits.{field}")
        for field in ("requests_per_minute", "requests_per_day", "tokens_per_minute")
    })
    expires_at = v.opt_int(data, "expires_at", low=0, high=2**62)
    expires_in = v.opt_int(data, "expires_in", low=1, high=2**40)
    if expires_in is not None:
        expires_at = now + expires_in
    return {"name": name, "allowed": tuple(allowed), "limits": limits, "expires_at": expires_at}


def admin_blueprint(gateway: Gateway, keys: KeyDirectory) -> Blueprint:
    """The key management routes; ``keys`` is told of revocations at once."""
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

    @bp.post("/v1/admin/keys/<key_id>/revoke")
    async def revoke_key(key_id: str) -> Response:
        require_admin(config)
        record = await storage.ask(RevokeKey(key_id))
        if record is None:
            raise NotFound(f"Key with id '{key_id}' not found.")
        keys.forget(record.hash)
        return json_response(record.public())

    return bp
