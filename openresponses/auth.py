"""Who is calling: the bearer token resolved to a ``Caller`` (owner id, rights, forwardable key).

Two modes (``OPENRESPONSES_AUTH``):

- ``passthrough`` (default): any bearer is accepted; its hash owns what it stores, and it is
  forwarded upstream to providers for which the server has no key of its own.
- ``keys``: the bearer must be a gateway key (``openresponses.keys``): unknown, revoked or
  expired → 401; a model outside the key's ``allowed`` globs → 403. Nothing is forwarded:
  provider credentials come from the server only.

The admission hook (``routes.admission``) authenticates each ``/v1`` request once and keeps the
``Caller`` on ``quart.g``; routes read it with ``caller_from_headers``.
"""

from __future__ import annotations

import time

import attrs
from quart import g, request

from openresponses.config import Config
from openresponses.errors import AuthenticationFailed, PermissionDenied
from openresponses.keys import KeyDirectory, KeyLimits, hash_key, model_allowed


@attrs.frozen
class Caller:
    """``owner`` scopes stored data (the key's hash); ``bearer`` may be forwarded upstream
    (empty in keys mode); the rest comes from the gateway key, if any."""

    owner: str
    bearer: str = attrs.field(repr=False)
    key_id: str | None = None
    key_name: str | None = None
    allowed: tuple[str, ...] = ()  # globs; () = every model
    limits: KeyLimits | None = None


def bearer_token(authorization: str | None = None) -> str | None:
    """The token of ``Authorization: Bearer …`` (this request's header, unless the header's
    value is given), or None."""
    if authorization is None:
        authorization = request.headers.get("authorization", "")
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def _passthrough(token: str) -> Caller:
    """The caller a bearer names in passthrough terms: its hash owns what it stores, and it
    is the provider's key, sent upstream as it came, so it must be printable ASCII (no
    provider key is otherwise; anything else could not go on in a header)."""
    if not (token.isascii() and token.isprintable()):
        raise _incorrect()
    return Caller(owner=hash_key(token), bearer=token)


def _incorrect() -> AuthenticationFailed:
    return AuthenticationFailed("Incorrect API key provided.", code="invalid_api_key")


def _missing() -> AuthenticationFailed:
    return AuthenticationFailed(
        "You didn't provide an API key. Provide it in the Authorization header "
        "(Authorization: Bearer YOUR_KEY).",
        code="missing_api_key",
    )


def caller_from_headers() -> Caller:
    """The caller of this request: the one the admission hook authenticated, else (outside
    ``/v1``) the bearer in passthrough terms. 401 when there is none."""
    caller: Caller | None = g.get("caller")
    if caller is not None:
        return caller
    token = bearer_token()
    if token is None:
        raise _missing()
    return _passthrough(token)


async def authenticate(config: Config, keys: KeyDirectory, token: str | None) -> Caller:
    """The ``Caller`` a bearer token names in the configured mode; 401 if it names none.

    Never puts the token in an error. Cancellation: nothing to undo.
    """
    if token is None:
        raise _missing()
    if config.auth == "passthrough":
        return _passthrough(token)
    owner = hash_key(token)
    record = await keys.find(owner)
    if record is None:
        raise _incorrect()
    refusal = record.refusal(time.time())
    if refusal is not None:
        said = "been revoked" if refusal == "revoked" else refusal
        raise AuthenticationFailed(f"This API key has {said}.", code=f"{refusal}_api_key")
    return Caller(owner=owner, bearer="", key_id=record.id, key_name=record.name,
                  allowed=record.allowed, limits=record.limits)


def authorize_model(config: Config, caller: Caller, model: str) -> None:
    """403 ``permission_error`` if the caller's key may not use ``model``.

    A ``provider@model`` must match one of the key's globs (a glob without ``@`` names a
    provider); an alias must match by name, or else every one of its targets must.
    """
    if not caller.allowed:
        return
    targets = config.models.get(model)
    if _allows(config, caller.allowed, model) or (
        targets and all(_allows(config, caller.allowed, target) for target in targets)
    ):
        return
    raise PermissionDenied(
        f"This API key is not allowed to use the model '{model}'.", param="model",
        code="model_not_allowed",
    )


def _allows(config: Config, allowed: tuple[str, ...], model: str) -> bool:
    """A provider named by an alias (``claude`` for ``anthropic``) is the same provider, in
    the model and in a glob: ``claude@*`` allows ``anthropic@x`` and the reverse."""
    prefix, sep, rest = model.partition("@")
    provider = config.provider(prefix) if sep else None
    if provider is None:
        return model_allowed(allowed, model)
    globs = (*allowed, *(_canonical(config, glob) for glob in allowed))
    return (model_allowed(globs, model, provider.name)
            or model_allowed(globs, f"{provider.name}@{rest}", provider.name))


def _canonical(config: Config, glob: str) -> str:
    """``glob`` with its provider alias replaced by the provider's name."""
    prefix, sep, rest = glob.partition("@")
    provider = config.provider(prefix) if sep else None
    return f"{provider.name}@{rest}" if provider is not None else glob
