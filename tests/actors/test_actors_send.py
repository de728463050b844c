"""Plain messages, bounded mailboxes, backpressure and statistics."""

from __future__ import annotations

import attrs
import pytest
import trio
import trio.testing

from actors import Actor, ActorRef, ActorStatistics, Ask, MailboxFull, StreamAsk, open_supervisor
from actors.testing import started


@attrs.frozen
class Note:
    text: str


@attrs.frozen
class Hold:
    """Blocks the (sequential) actor until `gate` is set."""

    gate: trio.Event


@attrs.frozen
class Notes(Ask[list[str]]):
    pass


@attrs.frozen
class Count(StreamAsk[int]):
    pass


class Notebook(Actor[Note | Hold | Notes | Count]):
    def __init__(self) -> None:
        self.notes: list[str] = []

    async def receive(self, message: Note | Hold | Notes | Count) -> object:
        match message:
            case Note(text):
                self.notes.append(text)
            case Hold(gate):
                await gate.wait()
            case Notes():
                return list(self.notes)
        return None


async def test_plain_messages_are_handled_in_mailbox_order() -> None:
    async with started(Notebook) as ref:
        for text in "abc":
            await ref.send(Note(text))
        ref.send_nowait(Note("d"))
        assert await ref.ask(Notes()) == ["a", "b", "c", "d"]


async def test_send_waits_while_the_mailbox_is_full() -> None:
    gate = trio.Event()
    done: list[str] = []

    async def send_late(ref: ActorRef[Note | Hold | Notes | Count]) -> None:
        await ref.send(Note("late"))
        done.append("late")

    async with started(Notebook, mailbox_size=2) as book, trio.open_nursery() as nursery:
        await book.send(Hold(gate))
        await trio.testing.wait_all_tasks_blocked()  # the actor took Hold
        await book.send(Note("a"))
        await book.send(Note("b"))
        nursery.start_soon(send_late, book)
        await trio.testing.wait_all_tasks_blocked()
        assert done == []
        assert book.statistics().depth == 2
        gate.set()
        assert await book.ask(Notes()) == ["a", "b", "late"]
        assert done == ["late"]


async def test_nowait_calls_raise_mailbox_full_at_once() -> None:
    gate = trio.Event()
    async with started(Notebook, name="tiny", mailbox_size=1) as ref:
        await ref.send(Hold(gate))
        await trio.testing.wait_all_tasks_blocked()
        ref.send_nowait(Note("fills the mailbox"))
        with pytest.raises(MailboxFull, match=r"'tiny'.*capacity 1"):
            ref.send_nowait(Note("one too many"))
        with pytest.raises(MailboxFull, match="'tiny'"):
            await ref.ask_nowait(Notes())
        with pytest.raises(MailboxFull, match="capacity 1"):
            async with ref.stream(Count(), nowait=True):
                pass
        gate.set()
        assert await ref.ask(Notes()) == ["fills the mailbox"]


async def test_statistics_report_depth_capacity_processed_and_in_flight() -> None:
    gate = trio.Event()
    async with open_supervisor() as supervisor:
        ref = await supervisor.start(Notebook, name="stats", mailbox_size=8)
        await ref.send(Note("a"))
        await ref.send(Hold(gate))
        await trio.testing.wait_all_tasks_blocked()
        await ref.send(Note("b"))
        expected = ActorStatistics(
            name="stats", depth=1, capacity=8, processed=1, restarts=0, in_flight=1
        )
        assert ref.statistics() == expected
        assert supervisor.statistics() == [expected]
        gate.set()
        await ref.ask(Notes())
        assert ref.statistics().processed == 4
        assert ref.statistics().in_flight == 0


async def test_mailbox_size_must_be_at_least_one() -> None:
    async with open_supervisor() as supervisor:
        with pytest.raises(ValueError, match="mailbox_size"):
            await supervisor.start(Notebook, name="none", mailbox_size=0)
