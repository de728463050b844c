"""The web console served at ``/console``: plain ES modules and CSS shipped as package data
(``static/``), no build step and nothing fetched from elsewhere, so it works offline."""

from openresponses.console.routes import console_blueprint as console_blueprint

__all__ = ["console_blueprint"]
