"""ChatProtocol.build_request: Responses items, tools and options → a chat request body."""

from __future__ import annotations

from typing import Any

import pytest

from openresponses.errors import InvalidRequest
from openresponses.providers.chat import ChatProtocol
from openresponses.schema.model_call import ModelCall

FN_TOOL = {
    "type": "function",
    "name": "multiply",
    "description": "Multiply two numbers.",
    "parameters": {"type": "object", "properties": {"a": {"type": "integer"}}},
    "strict": True,
}
CHAT_TOOL = {
    "type": "function",
    "function": {
        "name": "multiply",
        "description": "Multiply two numbers.",
        "parameters": {"type": "object", "properties": {"a": {"type": "integer"}}},
        "strict": True,
    },
}


def user(text: str) -> dict[str, Any]:
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}


def call_item(call_id: str, name: str = "multiply", args: str = '{"a":1}') -> dict[str, Any]:
    return {"type": "function_call", "call_id": call_id, "name": name, "arguments": args}


def build(protocol: ChatProtocol | None = None, **fields: Any) -> dict[str, Any]:
    fields.setdefault("input", [user("hi")])
    call = ModelCall(provider="groq", model="m", **fields)
    request = (protocol or ChatProtocol()).build_request(call)
    assert request.path == "/chat/completions"
    return request.body


def test_minimal_request() -> None:
    assert build(stream=False) == {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


def test_stream_asks_for_usage() -> None:
    body = build(stream=True)
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}


def test_instructions_come_first_as_system() -> None:
    body = build(instructions="Be brief.", input=[user("hi")])
    assert body["messages"][0] == {"role": "system", "content": "Be brief."}


@pytest.mark.parametrize(("developer_role", "role"), [(False, "system"), (True, "developer")])
def test_developer_role_follows_the_provider_flag(developer_role: bool, role: str) -> None:
    item = {"type": "message", "role": "developer", "content": "rules"}
    body = build(ChatProtocol(developer_role=developer_role), input=[item])
    assert body["messages"] == [{"role": role, "content": "rules"}]


def test_easy_message_without_type_and_string_content() -> None:
    body = build(input=[{"role": "user", "content": "plain"}])
    assert body["messages"] == [{"role": "user", "content": "plain"}]


@pytest.mark.parametrize(("role", "kind", "sent_role"), [
    ("user", "input_text", "user"), ("system", "input_text", "system"),
    ("developer", "input_text", "system"), ("assistant", "output_text", "assistant"),
])
def test_a_single_text_part_becomes_a_plain_string_for_every_role(
    role: str, kind: str, sent_role: str
) -> None:
    item = {"type": "message", "role": role, "content": [{"type": kind, "text": "one part"}]}
    assert build(input=[item])["messages"] == [{"role": sent_role, "content": "one part"}]


def test_assistant_output_text_becomes_a_plain_string_and_refusal_a_field() -> None:
    items = [
        {
            "type": "message",
            "role": "assistant",
            "content": [
                {"type": "output_text", "text": "Hello ", "annotations": []},
                {"type": "output_text", "text": "there"},
            ],
        },
        {
            "type": "message",
            "role": "assistant",
            "content": [
                {"type": "refusal", "refusal": "No."},
            ],
        },
    ]
    assert build(input=items)["messages"] == [
        {"role": "assistant", "content": "Hello there"},
        {"role": "assistant", "content": None, "refusal": "No."},
    ]


def test_images_and_files_become_chat_parts() -> None:
    item = {
        "type": "message",
        "role": "user",
        "content": [
            {"type": "input_text", "text": "what is this?"},
            {"type": "input_image", "image_url": "https://x/cat.png", "detail": "low"},
            {"type": "input_image", "image_url": {"url": "data:image/png;base64,AAA"}},
            {
                "type": "input_file",
                "filename": "a.pdf",
                "file_data": "data:application/pdf;base64,JVB",
            },
            {"type": "input_file", "file_id": "file-123"},
        ],
    }
    assert build(input=[item])["messages"][0]["content"] == [
        {"type": "text", "text": "what is this?"},
        {"type": "image_url", "image_url": {"url": "https://x/cat.png", "detail": "low"}},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAA"}},
        {
            "type": "file",
            "file": {"file_data": "data:application/pdf;base64,JVB", "filename": "a.pdf"},
        },
        {"type": "file", "file": {"file_id": "file-123"}},
    ]


@pytest.mark.parametrize(
    "part",
    [
        {"type": "input_image", "file_id": "file-1"},
        {"type": "input_file", "file_url": "https://x/a.pdf"},
    ],
)
def test_parts_a_chat_provider_cannot_take_are_invalid_requests(part: dict[str, Any]) -> None:
    item = {"type": "message", "role": "user", "content": [part]}
    with pytest.raises(InvalidRequest) as info:
        build(input=[item])
    assert info.value.param == "input"


def test_consecutive_function_calls_merge_with_the_assistant_message_before_them() -> None:
    items = [
        user("two calls please"),
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": ""}]},
        {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "blob"},
        call_item("call_a", args='{"a":1}'),
        call_item("call_b", args='{"a":2}'),
        {"type": "function_call_output", "call_id": "call_a", "output": "1"},
        {
            "type": "function_call_output",
            "call_id": "call_b",
            "output": [
                {"type": "input_text", "text": "2"},
                {"type": "input_text", "text": "!"},
            ],
        },
        call_item("call_c"),
    ]
    assert build(input=items)["messages"] == [
        {"role": "user", "content": "two calls please"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_a",
                    "type": "function",
                    "function": {"name": "multiply", "arguments": '{"a":1}'},
                },
                {
                    "id": "call_b",
                    "type": "function",
                    "function": {"name": "multiply", "arguments": '{"a":2}'},
                },
            ],
        },
        {"role": "tool", "tool_call_id": "call_a", "content": "1"},
        {"role": "tool", "tool_call_id": "call_b", "content": "2!"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_c",
                    "type": "function",
                    "function": {"name": "multiply", "arguments": '{"a":1}'},
                },
            ],
        },
    ]


def test_assistant_text_before_a_call_is_kept_in_the_merged_message() -> None:
    items = [
        {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "Let me check."}],
        },
        call_item("call_a"),
    ]
    message = build(input=items)["messages"][0]
    assert message["content"] == "Let me check."
    assert [c["id"] for c in message["tool_calls"]] == ["call_a"]


def test_reasoning_item_reference_and_unknown_items_are_skipped() -> None:
    items = [
        {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "x"}]},
        {"type": "item_reference", "id": "msg_1"},
        {"type": "web_search_call", "id": "ws_1", "status": "completed"},
        user("hi"),
    ]
    assert build(input=items)["messages"] == [{"role": "user", "content": "hi"}]


def test_function_tools_are_nested_and_hosted_tools_dropped() -> None:
    body = build(
        tools=[FN_TOOL, {"type": "web_search"}], tool_choice="auto", parallel_tool_calls=False
    )
    assert body["tools"] == [CHAT_TOOL]
    assert body["tool_choice"] == "auto"
    assert body["parallel_tool_calls"] is False


def test_no_function_tools_means_no_tool_fields() -> None:
    body = build(tools=[{"type": "web_search"}], tool_choice="required", parallel_tool_calls=True)
    assert not {"tools", "tool_choice", "parallel_tool_calls"} & set(body)


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("none", "none"),
        ("required", "required"),
        (
            {"type": "function", "name": "multiply"},
            {"type": "function", "function": {"name": "multiply"}},
        ),
        ({"type": "web_search_preview"}, None),
    ],
)
def test_tool_choice_forms(choice: Any, expected: Any) -> None:
    body = build(tools=[FN_TOOL], tool_choice=choice)
    assert body.get("tool_choice") == expected


def test_allowed_tools_filters_the_tools_and_uses_its_mode() -> None:
    other = {**FN_TOOL, "name": "divide"}
    choice = {
        "type": "allowed_tools",
        "mode": "required",
        "tools": [{"type": "function", "name": "divide"}],
    }
    body = build(tools=[FN_TOOL, other], tool_choice=choice)
    assert [t["function"]["name"] for t in body["tools"]] == ["divide"]
    assert body["tool_choice"] == "required"


@pytest.mark.parametrize(
    ("text_format", "expected"),
    [
        (
            {"type": "json_schema", "name": "answer", "schema": {"type": "object"}, "strict": True},
            {
                "type": "json_schema",
                "json_schema": {"name": "answer", "schema": {"type": "object"}, "strict": True},
            },
        ),
        ({"type": "json_object"}, {"type": "json_object"}),
        ({"type": "text"}, None),
    ],
)
def test_text_format_becomes_response_format(text_format: dict[str, Any], expected: Any) -> None:
    assert build(text_format=text_format).get("response_format") == expected


@pytest.mark.parametrize(
    ("flag", "field"), [(False, "max_tokens"), (True, "max_completion_tokens")]
)
def test_max_output_tokens_field_follows_the_provider_flag(flag: bool, field: str) -> None:
    body = build(ChatProtocol(max_completion_tokens=flag), max_output_tokens=50)
    assert body[field] == 50
    assert not {"max_tokens", "max_completion_tokens"} - {field} & set(body)


def test_sampling_user_and_reasoning_effort_pass_and_metadata_does_not() -> None:
    body = build(
        temperature=0.2,
        top_p=0.9,
        user="u-1",
        reasoning={"effort": "low", "summary": "auto"},
        metadata={"k": "v"},
        extra={"service_tier": "flex"},
    )
    assert (body["temperature"], body["top_p"], body["user"]) == (0.2, 0.9, "u-1")
    assert body["reasoning_effort"] == "low"
    assert not {"metadata", "service_tier", "reasoning"} & set(body)


def test_auth_header_is_bearer_and_absent_for_keyless_servers() -> None:
    assert ChatProtocol().auth_headers("k") == {"Authorization": "Bearer k"}
    assert ChatProtocol().auth_headers("") == {}
