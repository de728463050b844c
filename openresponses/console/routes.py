"""``/console``: the console's page and static modules, and its one API of its own.

The page is plain HTML that loads ES modules from ``/console/static/``; everything else it
shows comes from the gateway's public API (``/v1/models``, ``/v1/responses``…,
``/v1/admin/keys``) with the bearer key the user typed, kept in the browser's session storage.
``GET /console/api/traffic`` summarizes the metrics registry for the Traffic view
(``console/traffic.py``); when an admin key is configured it needs that key, as the other
admin views do; without one it is as open as ``/metrics``.

Every console response carries a strict Content-Security-Policy: scripts, styles and fetches
from this origin only, no inline script or style, no framing. Together with the console's rule
of building the DOM from text nodes (model output is untrusted), an injected tag stays text.
"""

from __future__ import annotations

from pathlib import Path

from quart import Blueprint, Response, request
from werkzeug.exceptions import NotFound

from openresponses.console.assets import Asset, load_assets
from openresponses.console.traffic import traffic_snapshot
from openresponses.gateway.run import Gateway
from openresponses.render import json_response
from openresponses.routes.admin import require_admin

STATIC = Path(__file__).parent / "static"
CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
))
SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
}


def console_blueprint(gateway: Gateway) -> Blueprint:
    """The console's routes for a started ``Gateway``."""
    bp = Blueprint("console", __name__)
    config = gateway.config
    assets = load_assets(STATIC)

    @bp.after_request
    async def secure(response: Response) -> Response:
        response.headers.update(SECURITY_HEADERS)
        response.headers.setdefault("cache-control", "no-cache")
        return response

    @bp.get("/console")
    async def page() -> Response:
        return _serve(assets["index.html"])

    @bp.get("/console/static/<path:name>")
    async def static_file(name: str) -> Response:
        asset = assets.get(name)
        if asset is None:
            raise NotFound()
        return _serve(asset)

    @bp.get("/console/")
    async def page_slash() -> Response:
        # One URL for the page (its module paths are absolute anyway).
        return Response("", status=308, headers={"location": "/console"})

    @bp.get("/console/api/traffic")
    async def traffic() -> Response:
        if config.admin_key is not None:
            require_admin(config)
        return json_response(traffic_snapshot(gateway.ops.metrics.registry))

    return bp


def _serve(asset: Asset) -> Response:
    """The asset, or a 304 when the browser already holds this version."""
    if asset.matches(request.headers.get("if-none-match")):
        return Response(b"", status=304, headers={"etag": asset.etag})
    return Response(asset.body, content_type=asset.content_type, headers={"etag": asset.etag})
