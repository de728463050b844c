"""Ask/reply: replies, exceptions back to the asker, start-up."""

from __future__ import annotations

import attrs
import pytest
import trio

from actors import Actor, ActorContext, Ask, open_supervisor
from actors.testing import started


@attrs.frozen
class Get(Ask[int]):
    pass


@attrs.frozen
class Add(Ask[int]):
    n: int


@attrs.frozen
class Fail(Ask[int]):
    error: Exception


class Counter(Actor[Get | Add | Fail]):
    def __init__(self) -> None:
        self.value = 0

    async def receive(self, message: Get | Add | Fail) -> object:
        match message:
            case Get():
                return self.value
            case Add(n):
                self.value += n
                return self.value
            case Fail(error):
                raise error


async def test_ask_returns_the_reply() -> None:
    async with started(Counter) as ref:
        assert await ref.ask(Add(2)) == 2
        assert await ref.ask(Add(3)) == 5
        assert await ref.ask_nowait(Get()) == 5


async def test_exception_while_answering_reaches_the_asker_as_is() -> None:
    error = KeyError("missing")
    async with started(Counter) as ref:
        await ref.ask(Add(1))
        with pytest.raises(KeyError) as excinfo:
            await ref.ask(Fail(error))
        assert excinfo.value is error


async def test_actor_lives_on_after_an_exception_while_answering() -> None:
    async with started(Counter) as ref:
        await ref.ask(Add(7))
        with pytest.raises(ValueError, match="bad"):
            await ref.ask_nowait(Fail(ValueError("bad")))
        assert await ref.ask(Get()) == 7
        assert ref.statistics().restarts == 0


async def test_ask_messages_can_be_slotted_frozen_attrs_classes() -> None:
    message = Add(1)
    assert not hasattr(message, "__dict__")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        message.n = 2  # type: ignore[misc]


class SlowStart(Actor[Get]):
    def __init__(self) -> None:
        self.ready = False
        self.seen: ActorContext | None = None

    async def on_start(self) -> None:
        self.seen = self.context
        await trio.sleep(5)
        self.ready = True

    async def receive(self, message: Get) -> int:
        return 1


async def test_start_returns_only_after_on_start_finished(
    autojump_clock: trio.testing.MockClock,
) -> None:
    instance = SlowStart()
    async with open_supervisor() as supervisor:
        await supervisor.start(lambda: instance, name="slow")
        assert instance.ready
        assert trio.current_time() >= 5


async def test_context_is_set_before_on_start(autojump_clock: trio.testing.MockClock) -> None:
    instance = SlowStart()
    async with started(lambda: instance, name="ctx") as ref:
        assert instance.seen is not None
        assert instance.seen.name == "ctx"
        assert instance.seen.ref is ref
        assert ref.name == "ctx"


class BrokenStart(Actor[Get]):
    async def on_start(self) -> None:
        raise RuntimeError("no database")


async def test_on_start_failure_at_first_start_propagates_from_start() -> None:
    async with open_supervisor() as supervisor:
        with pytest.raises(RuntimeError, match="no database"):
            await supervisor.start(BrokenStart, name="broken")
        assert supervisor.statistics() == []
        ref = await supervisor.start(Counter, name="fine")
        assert await ref.ask(Add(1)) == 1
