"""PrefixCache: a chain's next turn reuses the messages of the items it shares with the last
one, and the messages are exactly those of a translation from scratch."""

from __future__ import annotations

import copy
from typing import Any

import orjson

from openresponses.providers.chat_prefix import MIN_ITEMS, PrefixCache
from openresponses.providers.chat_request import chat_messages, encoded_chat_messages
from openresponses.schema.model_call import ModelCall

Item = dict[str, Any]


def user(text: str) -> Item:
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}


def assistant(text: str) -> Item:
    return {"type": "message", "role": "assistant",
            "content": [{"type": "output_text", "text": text, "annotations": []}]}


def fn_call(call_id: str) -> Item:
    return {"type": "function_call", "call_id": call_id, "name": "f", "arguments": "{}"}


def fn_output(call_id: str) -> Item:
    return {"type": "function_call_output", "call_id": call_id, "output": "42"}


def chain(turns: int) -> list[Item]:
    items: list[Item] = []
    for n in range(turns):
        items += [user(f"q{n}"), assistant(f"a{n}")]
    return items


def translate(items: list[Item], prefixes: PrefixCache | None,
              instructions: str | None = None) -> list[dict[str, Any]]:
    call = ModelCall(provider="p", model="m", input=items, instructions=instructions)
    return chat_messages(call, developer_role=False, prefixes=prefixes)


def test_next_turn_reuses_the_shared_items_and_matches_a_fresh_translation() -> None:
    prefixes = PrefixCache()
    history = chain(MIN_ITEMS)
    first = translate([*history, user("next")], prefixes)
    assert len(prefixes) == 1
    # the next turn: the same history objects, the last turn's input and output read again
    second_items = [*history, user("next"), assistant("answer"), user("again")]
    second = translate(second_items, prefixes)
    assert second == translate(copy.deepcopy(second_items), None)
    assert second[: len(history)] == first[: len(history)]
    assert all(a is b for a, b in zip(second[: len(history)], first, strict=False))


def test_instructions_stay_first_and_are_not_remembered_as_items() -> None:
    prefixes = PrefixCache()
    history = chain(MIN_ITEMS)
    translate(history, prefixes, instructions="Be brief.")
    again = translate([*history, user("more")], prefixes, instructions="Other rules.")
    assert again == translate([*history, user("more")], None, instructions="Other rules.")


def test_a_function_call_merged_into_the_prefix_is_not_reused_as_merged() -> None:
    prefixes = PrefixCache()
    history = chain(MIN_ITEMS)
    merged = [*history, fn_call("c1"), fn_output("c1")]
    first = translate(merged, prefixes)
    assert first[len(history) - 1]["tool_calls"][0]["id"] == "c1"
    # a branch that continues after the assistant message without the call
    branch = [*history, user("instead")]
    assert translate(branch, prefixes) == translate(copy.deepcopy(branch), None)
    assert "tool_calls" not in translate(branch, prefixes)[len(history) - 1]


def test_merging_a_call_never_changes_a_remembered_message() -> None:
    prefixes = PrefixCache()
    history = chain(MIN_ITEMS)
    plain = translate(history, prefixes)
    snapshot = copy.deepcopy(plain)
    translate([*history, fn_call("c1")], prefixes)
    assert plain == snapshot
    assert translate(history, prefixes) == snapshot


def test_a_different_chain_or_role_flag_translates_from_scratch() -> None:
    prefixes = PrefixCache()
    history = chain(MIN_ITEMS)
    translate(history, prefixes)
    other = chain(MIN_ITEMS)  # equal content, other objects
    assert prefixes.find(other, False).count == 0
    assert prefixes.find(history, True).count == 0
    assert prefixes.find(history, False).count == len(history)


def test_short_lists_are_not_remembered() -> None:
    prefixes = PrefixCache()
    translate(chain(1), prefixes)
    assert len(prefixes) == 0


def test_bounded_by_entries_and_items() -> None:
    prefixes = PrefixCache(max_entries=2, max_items=10 * MIN_ITEMS)
    lists = [chain(MIN_ITEMS) for _ in range(3)]
    for items in lists:
        translate(items, prefixes)
    assert len(prefixes) == 2
    assert prefixes.find(lists[0], False).count == 0  # least recently used went first
    small = PrefixCache(max_items=3 * MIN_ITEMS)
    translate(chain(MIN_ITEMS), small)
    translate(chain(MIN_ITEMS), small)
    assert len(small) == 1  # 2 x 2 x MIN_ITEMS items is over the bound
    too_big = PrefixCache(max_items=MIN_ITEMS)
    translate(chain(MIN_ITEMS), too_big)
    assert len(too_big) == 0


def body_of(items: list[Item], prefixes: PrefixCache, instructions: str | None = None) -> bytes:
    """The request body's messages as sent (each remembered message as its encoded JSON)."""
    call = ModelCall(provider="p", model="m", input=items, instructions=instructions)
    return orjson.dumps(encoded_chat_messages(call, developer_role=False, prefixes=prefixes))


def fresh(items: list[Item], instructions: str | None = None) -> bytes:
    return orjson.dumps(translate(copy.deepcopy(items), None, instructions))


def test_the_encoded_messages_are_the_bytes_of_a_fresh_translation() -> None:
    prefixes = PrefixCache()
    history = chain(MIN_ITEMS)
    assert body_of(history, prefixes, "Be brief.") == fresh(history, "Be brief.")
    turns = [*history, user("next"), assistant("answer"), user("again")]
    assert body_of(turns, prefixes, "Be brief.") == fresh(turns, "Be brief.")
    short = chain(1)  # not remembered: plain messages
    call = ModelCall(provider="p", model="m", input=short)
    assert encoded_chat_messages(call, developer_role=False, prefixes=prefixes) == translate(
        short, None)


def test_a_chain_is_encoded_from_its_second_turn_and_reuses_the_encodings() -> None:
    prefixes = PrefixCache()
    items = chain(MIN_ITEMS)
    turns = []
    for n in range(3):
        call = ModelCall(provider="p", model="m", input=items)
        turns.append(encoded_chat_messages(call, developer_role=False, prefixes=prefixes))
        items = [*items, user(f"more {n}")]
    first, second, third = turns
    assert all(type(m) is dict for m in first)  # a first turn is not encoded ahead
    assert all(type(m) is orjson.Fragment for m in second)
    assert all(a is b for a, b in zip(second, third[: len(second)], strict=True))


def test_a_call_merged_into_the_prefix_is_encoded_merged() -> None:
    prefixes = PrefixCache()
    history = chain(MIN_ITEMS)  # ends with an assistant message
    body_of(history, prefixes)
    merged = [*history, fn_call("c1"), fn_output("c1")]
    assert body_of(merged, prefixes) == fresh(merged)
    assert body_of(history, prefixes) == fresh(history)  # the unmerged one is still right
