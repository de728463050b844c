"""Error handlers: every error, ours or the framework's, rendered as the OpenAI envelope."""

from __future__ import annotations

import logging

from quart import Response
from quart_trio import QuartTrio
from werkzeug.exceptions import HTTPException

from openresponses.errors import GatewayError, RequestTooLarge, internal_error
from openresponses.render import error_response

logger = logging.getLogger("openresponses.app")


def register_error_handlers(app: QuartTrio) -> None:
    @app.errorhandler(GatewayError)
    async def gateway_error(error: GatewayError) -> Response:
        return error_response(error)

    @app.errorhandler(HTTPException)
    async def http_error(error: HTTPException) -> Response:
        status = error.code or 500
        if status == 413:
            return error_response(RequestTooLarge("The request body is too large."))
        kind = "invalid_request_error" if status < 500 else "server_error"
        message = {404: "Unknown route.", 405: "Method not allowed for this route."}.get(
            status, error.description or "HTTP error"
        )
        return error_response(GatewayError(message, status=status, type=kind))

    @app.errorhandler(Exception)
    async def unexpected(error: Exception) -> Response:
        logger.exception("unhandled error", exc_info=error)
        return error_response(internal_error())
