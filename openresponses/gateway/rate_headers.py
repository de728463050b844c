"""The ``x-ratelimit-*`` headers of a rate-limit ``Decision``, as OpenAI writes them."""

from __future__ import annotations

import math

from openresponses.gateway.rate_limiter import Decision


def format_reset(seconds: float) -> str:
    """A duration as OpenAI writes it in ``x-ratelimit-reset-*``: ``120ms``, ``1.5s``,
    ``6m0s``, ``2h3m4s``."""
    if seconds < 1:
        return f"{max(0, math.ceil(seconds * 1000))}ms"
    tenths = math.ceil(seconds * 10) / 10
    if tenths < 60:
        return f"{tenths:g}s"
    whole = math.ceil(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes}m{secs}s" if hours else f"{minutes}m{secs}s"


def rate_headers(decision: Decision) -> dict[str, str]:
    """The ``x-ratelimit-{limit,remaining,reset}-requests`` (or ``-tokens``) headers."""
    unit = decision.unit
    return {
        f"x-ratelimit-limit-{unit}": str(decision.limit),
        f"x-ratelimit-remaining-{unit}": str(decision.remaining),
        f"x-ratelimit-reset-{unit}": format_reset(decision.reset),
    }
