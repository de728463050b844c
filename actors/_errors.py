"""Exceptions raised by the actor runtime.

Every error the runtime raises on its own account derives from `ActorError`::

    Exception
    └── ActorError
        ├── MailboxFull            a *_nowait call found the bounded mailbox full
        ├── ActorStopped           the actor was stopped (or torn down) before it
        │                          took or answered the message
        ├── ActorCrashed           the instance handling the message crashed
        │                          (``__cause__`` is the exception that crashed it)
        └── RestartBudgetExceeded  an actor crashed more often than its
                                   `RestartPolicy` allows; escalated out of the
                                   supervisor (``__cause__`` is the last crash)

Exceptions raised by an actor while answering an ask or producing a stream are
not wrapped: they reach the asker as they are.
"""

from __future__ import annotations

from typing import NoReturn


class ActorError(Exception):
    """Base class of the errors raised by the actor runtime itself."""


class MailboxFull(ActorError):
    """The mailbox had no room and the caller asked not to wait."""

    def __init__(self, name: str, capacity: int) -> None:
        super().__init__(f"mailbox of actor {name!r} is full (capacity {capacity})")
        self.name = name
        self.capacity = capacity


class ActorStopped(ActorError):
    """The actor is stopped: it takes no new messages and will answer no more."""

    def __init__(self, name: str) -> None:
        super().__init__(f"actor {name!r} is stopped")
        self.name = name


class ActorCrashed(ActorError):
    """The instance handling the message crashed before it replied.

    ``__cause__`` holds the exception that crashed the instance.
    """

    def __init__(self, name: str) -> None:
        super().__init__(f"actor {name!r} crashed before replying")
        self.name = name


class RestartBudgetExceeded(ActorError):
    """An actor crashed more than its restart policy allows.

    ``__cause__`` holds the last crash.
    """

    def __init__(self, name: str, max_restarts: int, within: float) -> None:
        super().__init__(f"actor {name!r} crashed more than {max_restarts} times within {within}s")
        self.name = name
        self.max_restarts = max_restarts
        self.within = within


def unwrap_group(exc: BaseException) -> BaseException:
    """Return the only leaf of nested single-exception groups, else `exc` itself."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc


def reraise(exc: BaseException) -> NoReturn:
    """Raise `exc` as it is, keeping its ``__context__`` untouched.

    A plain ``raise`` from inside an ``except`` block would overwrite the
    context of an exception that was captured in another task.
    """
    __tracebackhide__ = True
    context = exc.__context__
    try:
        raise exc
    finally:
        exc.__context__ = context
        del exc, context
