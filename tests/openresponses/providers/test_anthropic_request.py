"""ModelCall → Anthropic Messages request: system, turns, thinking replay, media."""

from __future__ import annotations

from typing import Any

import pytest

from openresponses.errors import InvalidRequest
from openresponses.providers.anthropic import REDACTED_PREFIX, THINKING_PREFIX
from openresponses.schema.model_call import Item
from tests.openresponses.providers.anthropic_items import (
    PROTOCOL,
    assistant,
    body,
    call,
    fc,
    fco,
    user,
)
from tests.transcripts import load, replay, summarize


def test_request_targets_messages_with_model_default_max_tokens_and_stream() -> None:
    request = PROTOCOL.build_request(call([user("hi")], stream=True, user="u-1"))
    assert request.path == "/v1/messages"
    assert request.body == {
        "model": "claude-sonnet-4-5",
        "max_tokens": 8192,
        "stream": True,
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
        "metadata": {"user_id": "u-1"},
    }


def test_auth_headers_carry_key_and_version() -> None:
    assert PROTOCOL.auth_headers("k") == {
        "x-api-key": "k",
        "anthropic-version": "2023-06-01",
        "content-type": "application/json",
    }


def test_instructions_and_system_and_developer_messages_join_the_system_prompt() -> None:
    items: list[Item] = [
        {"type": "message", "role": "system", "content": "Be brief."},
        user("hi"),
        {
            "type": "message",
            "role": "developer",
            "content": [{"type": "input_text", "text": "Answer in French."}],
        },
    ]
    got = body(items, instructions="You are a pelican.")
    assert got["system"] == "You are a pelican.\n\nBe brief.\n\nAnswer in French."
    assert got["messages"] == [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]


def test_tool_calls_group_into_one_assistant_turn_and_results_into_one_user_turn() -> None:
    items = [
        user("weather?"),
        assistant("Let me look."),
        fc("call_1"),
        fc("call_2", ""),
        fco("call_1"),
        fco("call_2", "rainy"),
        user("thanks"),
    ]
    assert body(items)["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "weather?"}]},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Let me look."},
                {"type": "tool_use", "id": "call_1", "name": "weather", "input": {"city": "Paris"}},
                {"type": "tool_use", "id": "call_2", "name": "weather", "input": {}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "call_1", "content": "sunny"},
                {"type": "tool_result", "tool_use_id": "call_2", "content": "rainy"},
                {"type": "text", "text": "thanks"},
            ],
        },
    ]


def test_consecutive_same_role_messages_merge_and_tool_results_come_first() -> None:
    items = [user("a"), user("b"), assistant("c"), fc("call_1"), user("d"), fco("call_1")]
    messages = body(items)["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert [b["type"] for b in messages[0]["content"]] == ["text", "text"]
    assert [b["type"] for b in messages[2]["content"]] == ["tool_result", "text"]


def test_invalid_function_arguments_are_rejected_naming_input() -> None:
    with pytest.raises(InvalidRequest) as caught:
        body([user("x"), fc("call_1", "{not json"), fco("call_1")])
    assert caught.value.param == "input"
    with pytest.raises(InvalidRequest):
        body([user("x"), fc("call_1", "[1, 2]"), fco("call_1")])


def test_call_ids_from_other_providers_are_made_acceptable_on_both_sides() -> None:
    messages = body([user("x"), fc("call:1/a"), fco("call:1/a")])["messages"]
    assert messages[1]["content"][0]["id"] == "call_1_a"
    assert messages[2]["content"][0]["tool_use_id"] == "call_1_a"


def test_structured_tool_output_becomes_result_blocks() -> None:
    output = [
        {"type": "input_text", "text": "see"},
        {"type": "input_image", "image_url": "https://x.test/a.png"},
    ]
    block = body([user("x"), fc("c1"), fco("c1", output)])["messages"][2]["content"][0]
    assert block["content"] == [
        {"type": "text", "text": "see"},
        {"type": "image", "source": {"type": "url", "url": "https://x.test/a.png"}},
    ]


def _second_turn_items_from_c02() -> list[Item]:
    """C02's tool calls as our translator reports them, plus C03's recorded tool outputs."""
    calls = summarize(replay(PROTOCOL.stream_translator(), load("C02").body)).calls.values()
    recorded = load("C03").request_json()["messages"][2]["content"]
    outputs = {r["tool_use_id"]: r["content"] for r in recorded}
    items: list[Item] = [
        {
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": "Two names for a pet pelican"}],
        }
    ]
    items += [fc(call_id, args, name) for call_id, name, args in calls]
    items += [fco(call_id, outputs[call_id]) for call_id, _, _ in calls]
    return items


def test_second_turn_of_c02_matches_the_recorded_c03_request() -> None:
    recorded = load("C03").request_json()
    tool = {
        "type": "function",
        "name": "pelican_name_generator",
        "description": "",
        "parameters": {"properties": {}, "type": "object"},
    }
    got = body(
        _second_turn_items_from_c02(),
        tools=[tool],
        temperature=1.0,
        max_output_tokens=8192,
        stream=True,
        model="claude-haiku-4-5-20251001",
    )
    # llm-anthropic sent a " " text block before the tool calls; our C02 output had no text.
    recorded["messages"][1]["content"] = recorded["messages"][1]["content"][1:]
    assert got == recorded


def _reasoning_from(name: str) -> list[Item]:
    """The reasoning items our translator makes of a recorded thinking answer."""
    got = summarize(replay(PROTOCOL.stream_translator(), load(name).body))
    return [
        {
            "type": "reasoning",
            "id": f"rs_{key}",
            "summary": [],
            "content": [{"type": "reasoning_text", "text": got.reasoning[key]}]
            if key in got.reasoning
            else [],
            "encrypted_content": blob,
        }
        for key, blob in got.encrypted.items()
    ]


def test_thinking_is_replayed_before_tool_use_exactly_as_received() -> None:
    t = load("C04")
    recorded = t.body.decode()
    items = [user("Two names"), *_reasoning_from("C04"), fc("call_1"), fco("call_1")]
    turn = body(items, reasoning={"effort": "low"})["messages"][1]
    thinking, tool_use = turn["content"]
    assert thinking["type"] == "thinking"
    assert f'"signature":"{thinking["signature"]}"' in recorded  # byte-identical
    assert thinking["thinking"].startswith("The user wants two names for a pet pelican")
    assert thinking["thinking"].endswith("Let me give two brief, catchy names:")
    assert tool_use["type"] == "tool_use"


def test_redacted_thinking_is_replayed_byte_identical() -> None:
    items = [user("x"), *_reasoning_from("C11"), assistant("I notice")]
    content = body(items)["messages"][1]["content"]
    assert [b["type"] for b in content] == ["redacted_thinking", "redacted_thinking", "text"]
    assert f'"data":"{content[0]["data"]}"' in load("C11").body.decode()
    assert REDACTED_PREFIX + content[1]["data"] == _reasoning_from("C11")[1]["encrypted_content"]


def test_reasoning_from_other_providers_is_dropped() -> None:
    items = [
        user("x"),
        {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "gAAAAB"},
        {"type": "reasoning", "id": "rs_2", "summary": [{"type": "summary_text", "text": "t"}]},
        assistant("answer"),
    ]
    assert body(items)["messages"][1]["content"] == [{"type": "text", "text": "answer"}]


def test_reasoning_without_content_falls_back_to_its_summary() -> None:
    item = {
        "type": "reasoning",
        "id": "rs",
        "encrypted_content": THINKING_PREFIX + "sig",
        "summary": [{"type": "summary_text", "text": "thought"}],
    }
    content = body([user("x"), item, assistant("y")])["messages"][1]["content"]
    assert content[0] == {"type": "thinking", "thinking": "thought", "signature": "sig"}


@pytest.mark.parametrize(
    ("part", "block"),
    [
        (
            {"type": "input_image", "image_url": "https://x.test/p.png", "detail": "auto"},
            {"type": "image", "source": {"type": "url", "url": "https://x.test/p.png"}},
        ),
        (
            {"type": "input_image", "image_url": "data:image/png;base64,iVBORw0K", "detail": "low"},
            {
                "type": "image",
                "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0K"},
            },
        ),
        (
            {
                "type": "input_file",
                "file_data": "data:application/pdf;base64,JVBERi0x",
                "filename": "a.pdf",
            },
            {
                "type": "document",
                "title": "a.pdf",
                "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0x"},
            },
        ),
        (
            {"type": "input_file", "file_data": "JVBERi0x"},
            {
                "type": "document",
                "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0x"},
            },
        ),
        (
            {"type": "input_file", "file_url": "https://x.test/a.pdf"},
            {"type": "document", "source": {"type": "url", "url": "https://x.test/a.pdf"}},
        ),
    ],
)
def test_images_and_pdfs_become_anthropic_blocks(part: dict[str, Any], block: Any) -> None:
    item = {
        "type": "message",
        "role": "user",
        "content": [{"type": "input_text", "text": "look"}, part],
    }
    assert body([item])["messages"][0]["content"] == [{"type": "text", "text": "look"}, block]


@pytest.mark.parametrize(
    "part",
    [
        {"type": "input_image", "file_id": "file_1"},
        {"type": "input_file", "file_data": "data:text/csv;base64,YQ=="},
        {"type": "input_audio", "input_audio": {}},
    ],
)
def test_content_anthropic_cannot_take_is_rejected(part: dict[str, Any]) -> None:
    with pytest.raises(InvalidRequest) as caught:
        body([{"type": "message", "role": "user", "content": [part]}])
    assert caught.value.param == "input"


def test_hosted_tool_items_from_earlier_turns_are_left_out() -> None:
    search = {
        "type": "web_search_call",
        "id": "ws_1",
        "status": "completed",
        "action": {"type": "search", "query": "q"},
    }
    assert body([user("x"), search, assistant("y")])["messages"][1] == {
        "role": "assistant",
        "content": [{"type": "text", "text": "y"}],
    }


def test_thinking_is_skipped_inside_a_tool_loop_that_has_no_thinking_to_replay() -> None:
    foreign = {"type": "reasoning", "id": "rs", "summary": [], "encrypted_content": "gAAAAB"}
    items = [user("x"), foreign, fc("call_1"), fco("call_1")]
    got = body(items, reasoning={"effort": "low"}, temperature=0.2)
    assert "thinking" not in got
    assert got["max_tokens"] == 8192
    assert got["temperature"] == 0.2
    finished = [user("x"), fc("call_1"), fco("call_1"), assistant("done"), user("again")]
    assert "thinking" in body(finished, reasoning={"effort": "low"})
