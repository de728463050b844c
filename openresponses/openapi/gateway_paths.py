"""The parts of the OpenAPI document that are the gateway's own, not OpenAI's.

Operations for the routes OpenAI's API has no equivalent of (``/health``, ``/ready``,
``/metrics``, ``/openapi.json``, ``GET /v1/responses``, ``/v1/admin/keys``), the
``x-request-id`` header parameter every operation accepts (echoed back; a fresh ``req_…`` when
absent or not plain), and the error envelope every operation may answer with. ``generate``
merges them into the document.
"""

from __future__ import annotations

from typing import Any

REQUEST_ID: dict[str, Any] = {
    "in": "header", "name": "x-request-id", "required": False,
    "description": "Echoed back in the x-request-id response header when it is 1-128 "
                   "characters of [A-Za-z0-9._:-]; otherwise the gateway mints one.",
    "schema": {"type": "string"},
}
ERROR_RESPONSE: dict[str, Any] = {
    "description": "An error: {\"error\": {\"message\", \"type\", \"param\", \"code\"}}.",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}},
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


_LIMIT = _nullable({"type": "integer", "minimum": 0})
_KEY_NAME = {"type": "string", "minLength": 1, "maxLength": 256}
_GLOBS = {"type": "array", "items": {"type": "string", "minLength": 1}}
# An update must change something (else 400 "Nothing to update"): a name, a list of globs
# (null leaves them as they are) or at least one limit ({} and null change nothing).
_CHANGES_SOMETHING = [
    {"required": ["name"]},
    {"required": ["allowed"], "properties": {"allowed": {"type": "array"}}},
    {"required": ["limits"], "properties": {"limits": {"type": "object",
                                                       "minProperties": 1}}},
]
# The admin API refuses (400 naming it) a field or limit these schemas do not list, hence
# ``additionalProperties: false`` throughout.
GATEWAY_SCHEMAS: dict[str, Any] = {
    "GatewayKeyLimits": {
        "type": "object", "additionalProperties": False,
        "properties": {name: _LIMIT for name in
                       ("requests_per_minute", "requests_per_day", "tokens_per_minute")},
    },
    "CreateGatewayKeyRequest": {
        "type": "object", "required": ["name"], "additionalProperties": False,
        "properties": {
            "name": _KEY_NAME,
            "allowed": _nullable(_GLOBS),
            "limits": _nullable(_ref("GatewayKeyLimits")),
            "expires_at": _nullable({"type": "integer", "minimum": 0}),
            "expires_in": _nullable({"type": "integer", "minimum": 1}),
        },
    },
    "UpdateGatewayKeyRequest": {
        "type": "object", "additionalProperties": False, "anyOf": _CHANGES_SOMETHING,
        "properties": {
            "name": _KEY_NAME,
            "allowed": _nullable(_GLOBS),
            "limits": _nullable(_ref("GatewayKeyLimits")),
        },
    },
    "GatewayKey": {
        "type": "object",
        "required": ["object", "id", "name", "prefix", "created_at", "expires_at", "revoked",
                     "allowed", "limits"],
        "properties": {
            "object": {"type": "string", "enum": ["gateway.key"]},
            "id": {"type": "string"}, "name": {"type": "string"},
            "prefix": {"type": "string"}, "created_at": {"type": "integer"},
            "expires_at": _nullable({"type": "integer"}), "revoked": {"type": "boolean"},
            "allowed": {"type": "array", "items": {"type": "string"}},
            "limits": _ref("GatewayKeyLimits"),
            "key": {"type": "string", "description": "The key itself: in the create answer "
                                                    "only, never again."},
        },
    },
    "GatewayKeyList": {
        "type": "object", "required": ["object", "data"],
        "properties": {"object": {"type": "string", "enum": ["list"]},
                       "data": {"type": "array", "items": _ref("GatewayKey")}},
    },
    "ResponseList": {
        "type": "object", "required": ["object", "data", "first_id", "last_id", "has_more"],
        "properties": {"object": {"type": "string", "enum": ["list"]},
                       "data": {"type": "array", "items": _ref("Response")},
                       "first_id": _nullable({"type": "string"}),
                       "last_id": _nullable({"type": "string"}),
                       "has_more": {"type": "boolean"}},
    },
    "Health": {"type": "object", "required": ["status"],
               "properties": {"status": {"type": "string", "enum": ["ok"]}}},
    "Readiness": {
        "type": "object", "required": ["status", "checks"],
        "properties": {"status": {"type": "string", "enum": ["ready", "unavailable"]},
                       "checks": {"type": "object"},
                       # readiness is per process: with --workers, which worker answered
                       "pid": {"type": "integer"}},
    },
}


def _op(operation_id: str, summary: str, responses: dict[str, Any], *, tag: str,
        security: list[dict[str, list[str]]] | None = None, **more: Any) -> dict[str, Any]:
    op: dict[str, Any] = {
        "operationId": operation_id, "tags": [tag], "summary": summary,
        "parameters": [*more.pop("parameters", []),
                       {"$ref": "#/components/parameters/RequestId"}],
        **more,
        "responses": {**responses, "default": {"$ref": "#/components/responses/Error"}},
    }
    if security is not None:
        op["security"] = security
    return op


def _json(status_description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": status_description,
            "content": {"application/json": {"schema": schema}}}


_FILTER = {"type": "string", "minLength": 1, "maxLength": 512}
_LIST_RESPONSES = [
    {"in": "query", "name": "limit", "schema": {"type": "integer", "minimum": 1,
                                                "maximum": 100, "default": 20}},
    {"in": "query", "name": "order", "schema": {"type": "string", "enum": ["asc", "desc"],
                                                "default": "desc"}},
    {"in": "query", "name": "after", "schema": _FILTER},
    {"in": "query", "name": "model", "schema": _FILTER},
    {"in": "query", "name": "status", "schema": {"type": "string", "enum": [
        "completed", "failed", "in_progress", "cancelled", "queued", "incomplete"]}},
    {"in": "query", "name": "metadata", "style": "deepObject", "explode": True,
     "schema": {"type": "object", "maxProperties": 16,
                "additionalProperties": {"type": "string", "maxLength": 512}}},
]
_ADMIN: list[dict[str, list[str]]] = [{"AdminApiKeyAuth": []}]
_KEY_ID = {"in": "path", "name": "key_id", "required": True, "schema": {"type": "string"}}
GATEWAY_PATHS: dict[str, Any] = {
    "/health": {"get": _op("health", "Liveness: the process answers", {
        "200": _json("Alive", _ref("Health"))}, tag="Operations", security=[])},
    "/ready": {"get": _op("ready", "Readiness: actors up, store reachable, not draining", {
        "200": _json("Ready", _ref("Readiness")),
        "503": _json("Not ready", _ref("Readiness"))}, tag="Operations", security=[])},
    "/metrics": {"get": _op("metrics", "Prometheus metrics", {
        "200": {"description": "Prometheus text exposition",
                "content": {"text/plain": {"schema": {"type": "string"}}}}},
        tag="Operations", security=[])},
    "/openapi.json": {"get": _op("openapi", "This document", {
        "200": _json("The OpenAPI document", {"type": "object"})},
        tag="Operations", security=[])},
    "/v1/responses": {"get": _op(
        "listResponses", "A page of the caller's stored responses, newest first", {
            "200": _json("The page", _ref("ResponseList"))}, tag="Responses",
        parameters=_LIST_RESPONSES)},
    "/v1/admin/keys": {
        "post": _op("createGatewayKey", "Create a gateway key (shown once)", {
            "201": _json("Created", _ref("GatewayKey"))}, tag="Admin", security=_ADMIN,
            requestBody={"required": True, "content": {"application/json": {
                "schema": _ref("CreateGatewayKeyRequest")}}}),
        "get": _op("listGatewayKeys", "List gateway keys (never the keys themselves)", {
            "200": _json("The keys", _ref("GatewayKeyList"))}, tag="Admin", security=_ADMIN),
    },
    "/v1/admin/keys/{key_id}": {
        "post": _op("updateGatewayKey", "Change a key's name, allowed models or limits", {
            "200": _json("Updated", _ref("GatewayKey"))}, tag="Admin", security=_ADMIN,
            parameters=[_KEY_ID], requestBody={"required": True, "content": {
                "application/json": {"schema": _ref("UpdateGatewayKeyRequest")}}}),
    },
    "/v1/admin/keys/{key_id}/revoke": {
        "post": _op("revokeGatewayKey", "Revoke a gateway key, at once", {
            "200": _json("Revoked", _ref("GatewayKey"))}, tag="Admin", security=_ADMIN,
            parameters=[_KEY_ID]),
    },
}
