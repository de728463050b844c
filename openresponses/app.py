"""The Quart-Trio application: one blueprint per concern, one error renderer."""

from __future__ import annotations

from quart import Response
from quart_trio import QuartTrio

from openresponses.gateway.run import Gateway
from openresponses.render import json_response
from openresponses.routes.errors import register_error_handlers
from openresponses.routes.responses import responses_blueprint


def create_app(gateway: Gateway) -> QuartTrio:
    """The ASGI app, bound to a started ``Gateway``."""
    app = QuartTrio("openresponses")
    app.config["MAX_CONTENT_LENGTH"] = gateway.config.max_body_bytes
    app.config["RESPONSE_TIMEOUT"] = None
    app.config["BODY_TIMEOUT"] = 600

    @app.get("/health")
    async def health() -> Response:
        return json_response({"status": "ok"})

    app.register_blueprint(responses_blueprint(gateway))
    register_error_handlers(app)
    return app
