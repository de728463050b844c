"""``GET /openapi.json``: the OpenAPI 3.1 document of every route the gateway serves.

The document is package data (``openresponses.openapi``), generated from OpenAI's spec; it
needs no key, like ``/health``, so clients and fuzzers can discover the API.
"""

from __future__ import annotations

from quart import Blueprint, Response

from openresponses.openapi import document_bytes


def openapi_blueprint() -> Blueprint:
    """The route serving the shipped document (read once, at start-up)."""
    bp = Blueprint("openapi", __name__)
    body = document_bytes()

    @bp.get("/openapi.json")
    async def openapi_document() -> Response:
        return Response(body, status=200, content_type="application/json",
                        headers={"cache-control": "public, max-age=3600"})

    return bp
