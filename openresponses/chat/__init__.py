"""Chat Completions on every provider, through the same actors as ``/v1/responses``.

- ``request``: ``POST /v1/chat/completions`` bodies validated into a ``ChatRequest``.
- ``passthrough``: OpenAI-compatible providers get the request as sent (prefix stripped); their
  answers are relayed with our ids and the client's model name.
- ``to_items``: for Anthropic and the Responses API, chat messages become Responses items and a
  ``ModelCall``, translated by the provider modules like any other turn.
- ``chunks``: normalized ``ModelEvent``s → ``chat.completion.chunk``s and the final
  ``chat.completion``; ``accumulate`` folds relayed chunks into a completion (for storage).
- ``run``: one completion, from validated request to (optionally stored) result.
- ``stored``: the shapes of stored completions and their messages.
- ``models_catalog``: ``/v1/models``, from each provider's own list, cached, never blocking.
"""
