"""Request settings a provider family cannot honour: a 400 naming the parameter, never a
setting dropped in silence (the Responses API side; Chat Completions has ``chat.to_items``).

Hints that change no output (``prompt_cache_key``, ``safety_identifier``, ``service_tier``,
``text.verbosity``) are relayed to Responses upstreams only and left out elsewhere, as the
README's provider table says.
"""

from __future__ import annotations

from typing import Any

from openresponses.errors import InvalidRequest
from openresponses.schema.model_call import ModelCall


def refuse_logprobs(call: ModelCall, family: str) -> None:
    """``top_logprobs`` above 0: the gateway does not translate log probabilities back."""
    if call.top_logprobs:
        raise InvalidRequest(
            f"'top_logprobs' is not available for {family} models on this gateway: their log "
            "probabilities are not translated.", param="top_logprobs",
            code="unsupported_parameter")


def refuse_hot_temperature(call: ModelCall, family: str, highest: float) -> None:
    """A temperature above what ``family`` takes (OpenAI's scale goes to 2)."""
    if call.temperature is not None and call.temperature > highest:
        raise InvalidRequest(f"'temperature' above {highest:g} is not supported for {family} "
                             f"models (they take 0 to {highest:g}).", param="temperature",
                             code="unsupported_value")


def refuse_penalties(call: ModelCall, family: str) -> None:
    """A presence or frequency penalty other than 0, which ``family`` has no setting for."""
    for name, value in (call.penalties or {}).items():
        if value:
            raise InvalidRequest(f"'{name}' is not supported for {family} models.",
                                 param=name, code="unsupported_parameter")


def refuse_openai_prompt(extra: dict[str, Any], api: str) -> None:
    """A reusable prompt (``prompt``: a template stored at OpenAI) for a provider that cannot
    read one: its turn would go upstream without it (no input at all if it was the input)."""
    if api != "responses" and extra.get("prompt") is not None:
        raise InvalidRequest("Reusable prompts ('prompt') are stored at OpenAI: they are only "
                             "available for models of a Responses provider (openai@).",
                             param="prompt", code="unsupported_parameter")
