"""The scenarios: what each target is sent for the same piece of work.

OpenResponses and LiteLLM get the client's request (``/v1/responses`` or ``/v1/chat/completions``
with a ``provider@model`` name); the upstream itself (``direct``) and the bare proxy (``floor``)
get what a gateway sends upstream for it (a Chat Completions or Anthropic Messages request).
"""

from __future__ import annotations

from typing import Any

import attrs

PROMPT = "Write one sentence about the sea."
GATEWAYS = ("ours", "litellm", "ours-w2")


@attrs.frozen
class Request:
    path: str
    body: dict[str, Any]


@attrs.frozen
class Scenario:
    key: str  # responses-chat | responses-anthropic | chat
    stream: bool
    model: str = "fake-c20"  # upstream model name (knobs: bench.payloads)
    store: bool = True  # the gateways' ``store`` (False: diagnosis of what storing costs)

    @property
    def name(self) -> str:
        return f"{self.key} {'stream' if self.stream else 'non-stream'}"

    def request(self, target: str) -> Request:
        """The request ``target`` is sent for this scenario."""
        gateway = target in GATEWAYS
        messages = [{"role": "user", "content": PROMPT}]
        if self.key == "responses-anthropic":
            if gateway:
                return Request("/v1/responses", self._responses_body("claude@"))
            return Request("/v1/messages", {"model": self.model, "max_tokens": 1024,
                                            "messages": messages, "stream": self.stream})
        if self.key == "responses-chat" and gateway:
            return Request("/v1/responses", self._responses_body("groq@"))
        body: dict[str, Any] = {
            "model": f"groq@{self.model}" if gateway else self.model,
            "messages": messages, "stream": self.stream,
        }
        if self.stream and not gateway:
            body["stream_options"] = {"include_usage": True}
        return Request("/v1/chat/completions", body)

    def _responses_body(self, prefix: str) -> dict[str, Any]:
        return {"model": prefix + self.model, "input": PROMPT, "store": self.store,
                "stream": self.stream}


SCENARIOS = tuple(
    Scenario(key, stream)
    for key in ("responses-chat", "responses-anthropic", "chat")
    for stream in (False, True)
)
CONCURRENCY = (1, 32, 128)


def gateway_models(scenarios: tuple[Scenario, ...]) -> set[str]:
    """Every ``provider@model`` name the gateways are asked for (LiteLLM lists them)."""
    names = set()
    for scenario in scenarios:
        for target in GATEWAYS:
            names.add(str(scenario.request(target).body["model"]))
    return names
