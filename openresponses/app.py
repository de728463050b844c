"""The Quart-Trio application: one blueprint per concern, one error renderer."""

from __future__ import annotations

from quart_trio import QuartTrio

from openresponses.console import console_blueprint
from openresponses.gateway.run import Gateway
from openresponses.gateway.storage import FindKey
from openresponses.keys import KeyDirectory
from openresponses.observability.http import instrument
from openresponses.routes.admin import admin_blueprint
from openresponses.routes.admission import install_admission
from openresponses.routes.background import background_blueprint
from openresponses.routes.chat import chat_blueprint
from openresponses.routes.compact import compact_blueprint
from openresponses.routes.conversations import conversations_blueprint
from openresponses.routes.errors import register_error_handlers
from openresponses.routes.listing import listing_blueprint
from openresponses.routes.models import models_blueprint
from openresponses.routes.openapi import openapi_blueprint
from openresponses.routes.ops import ops_blueprint
from openresponses.routes.responses import responses_blueprint
from openresponses.routes.websocket import websocket_blueprint


def create_app(gateway: Gateway) -> QuartTrio:
    """The ASGI app, bound to a started ``Gateway``."""
    app = QuartTrio("openresponses")
    app.config["MAX_CONTENT_LENGTH"] = gateway.config.max_body_bytes
    app.config["RESPONSE_TIMEOUT"] = None
    app.config["BODY_TIMEOUT"] = 600

    instrument(app, gateway.ops)
    app.register_blueprint(ops_blueprint(gateway))
    app.register_blueprint(openapi_blueprint())  # GET /openapi.json
    app.register_blueprint(responses_blueprint(gateway))
    app.register_blueprint(chat_blueprint(gateway))
    app.register_blueprint(models_blueprint(gateway))
    keys = KeyDirectory(lambda key_hash: gateway.storage.ask(FindKey(key_hash)))
    install_admission(app, gateway, keys)  # rate limits + auth on every /v1 route
    app.register_blueprint(compact_blueprint(gateway))  # /v1/responses/compact, input_tokens
    app.register_blueprint(background_blueprint(gateway))
    app.register_blueprint(conversations_blueprint(gateway))
    app.register_blueprint(websocket_blueprint(gateway, keys))  # WebSocket /v1/responses
    app.register_blueprint(admin_blueprint(gateway, keys))
    app.register_blueprint(listing_blueprint(gateway))  # GET /v1/responses (the console's list)
    app.register_blueprint(console_blueprint(gateway))  # /console (openresponses/console/)
    register_error_handlers(app)
    return app
