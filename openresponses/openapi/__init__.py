"""The gateway's OpenAPI document (``GET /openapi.json``), shipped as package data.

``openapi.json`` is generated from OpenAI's spec by ``python -m openresponses.openapi.generate``
(see that module); ``document_bytes`` reads the committed file once, so serving it costs a
response and no parsing.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files


@cache
def document_bytes() -> bytes:
    """The JSON document, as shipped in the package."""
    return files(__package__).joinpath("openapi.json").read_bytes()


__all__ = ["document_bytes"]
