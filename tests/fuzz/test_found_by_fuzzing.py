"""Requests the fuzzers once answered with a 5xx, kept as plain regression tests."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from tests.fakes.keys import FUZZ_CLIENT_KEY

AUTH = {"authorization": f"Bearer {FUZZ_CLIENT_KEY}"}


@pytest.mark.parametrize(("path", "body", "param"), [
    # A non-string item id reached the store's id column (sqlite: "type 'list' is not
    # supported"): a 500.
    ("/v1/conversations", {"items": [{"id": [None, None], "type": "program_output",
                                      "call_id": "0", "result": ""}]}, "items[0].id"),
    ("/v1/responses", {"model": "groq@m", "input": [{"role": "user", "content": "hi",
                                                     "id": 7}]}, "input[0].id"),
])
def test_a_bad_item_id_is_a_400_naming_it(
    http: httpx2.Client, path: str, body: dict[str, Any], param: str
) -> None:
    response = http.post(path, json=body, headers=AUTH)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == param


LONG_LABEL = "a" * 64  # a DNS label is at most 63 characters


FIRST_ROUND = [
    # Two input items with one id: the run's save refused the record after the model call (a
    # 500; a stream cut off before its terminal event).
    ("/v1/responses", {"model": "groq@m", "input": [
        {"role": "user", "content": "a", "id": "m1"}, {"role": "user", "content": "b",
                                                       "id": "m1"}]}, "input[1].id"),
    ("/v1/responses", {"model": "groq@m", "stream": True, "input": [
        {"type": "item_reference", "id": "x"}, {"type": "item_reference", "id": "x"}]},
     "input[1].id"),
    # Custom tool calls without their name or call_id: KeyError in adapt_input.
    ("/v1/responses", {"model": "groq@m", "input": [
        {"type": "custom_tool_call", "call_id": "c", "input": "x"}]}, "input[0].name"),
    ("/v1/responses", {"model": "claude@c", "input": [
        {"type": "custom_tool_call_output", "output": "x"}]}, "input[0].call_id"),
    ("/v1/responses/input_tokens", {"model": "groq@m", "input": [
        {"type": "custom_tool_call", "name": "n", "input": "x"}]}, "input[0].call_id"),
    ("/v1/conversations", {"items": [
        {"type": "custom_tool_call", "call_id": "c", "input": "x"}]}, "items[0].name"),
    # A namespace tool whose tools are not an array: TypeError in the toolset.
    ("/v1/responses", {"model": "groq@m", "input": "x", "tools": [
        {"type": "namespace", "name": "ns", "tools": 5}]}, "tools[0].tools"),
    ("/v1/responses", {"model": "groq@m", "input": "x", "tools": [
        {"type": "namespace", "name": "ns", "tools": [{"type": "function", "name": 3}]}]},
     "tools[0].tools[0].name"),
    # Malformed allowed_tools / function names: a 502 or 500 from the provider translators.
    ("/v1/responses", {"model": "groq@m", "input": "hi", "tools": [
        {"type": "function", "name": "f"}], "tool_choice": {
        "type": "allowed_tools", "mode": "auto", "tools": 5}}, "tool_choice.tools"),
    ("/v1/responses", {"model": "claude@c", "input": "hi", "tools": [
        {"type": "function", "name": "f"}], "tool_choice": {
        "type": "allowed_tools", "mode": "auto", "tools": [{"type": "function",
                                                            "name": ["f"]}]}},
     "tool_choice.tools[0].name"),
    ("/v1/responses", {"model": "groq@m", "input": "hi", "tools": [
        {"type": "function", "name": "f"}], "tool_choice": {
        "type": "allowed_tools", "mode": "sometimes", "tools": []}}, "tool_choice.mode"),
    ("/v1/responses", {"model": "groq@m", "input": "hi", "tool_choice": {
        "type": "function", "name": None}}, "tool_choice.name"),
    ("/v1/chat/completions", {"model": "claude@c", "messages": [
        {"role": "user", "content": "x"}], "tools": [{"type": "function", "function": {
            "name": "f"}}], "tool_choice": {"type": "allowed_tools", "allowed_tools": {
                "tools": [{"type": "function", "function": "f"}]}}},
     "tool_choice.allowed_tools.tools[0]"),
]


@pytest.mark.parametrize("path", ["/v1/responses", "/v1/responses/compact",
                                  "/v1/responses/input_tokens"])
def test_a_compaction_item_with_a_non_ascii_mac_is_refused_as_forged(
    http: httpx2.Client, path: str
) -> None:  # hmac.compare_digest raised TypeError on it: a 500
    body = {"model": "groq@m", "input": [{"type": "compaction",
                                          "encrypted_content": "orc1.x.\u00e9"}]}
    response = http.post(path, json=body, headers=AUTH)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "invalid_encrypted_content"


@pytest.mark.parametrize("host", ["a..b", ".x", f"{LONG_LABEL}.com", "\ufffd.com"])
def test_an_mcp_server_url_that_is_no_host_name_is_a_400(http: httpx2.Client, host: str) -> None:
    body = {"model": "groq@m", "input": "x", "tools": [
        {"type": "mcp", "server_label": "lab", "server_url": f"https://{host}/"}]}
    response = http.post("/v1/responses", json=body, headers=AUTH)  # getaddrinfo's UnicodeError
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == "tools[0].server_url"


@pytest.mark.parametrize(("kind", "quoted"), [
    ("a\nb", "'a?b'"),  # a line break in a header value: werkzeug refused it, a 500
    ("y" * 5_000, "'" + "y" * 64 + "...'"),  # 20 KB in one header: clients refused the answer
])
def test_an_unsupported_tool_type_is_quoted_safely_in_the_warning_header(
    http: httpx2.Client, kind: str, quoted: str
) -> None:
    body = {"model": "groq@m", "input": "hi", "tools": [{"type": kind}] + [{"type": "zz"}] * 40}
    response = http.post("/v1/responses", json=body, headers=AUTH)
    assert response.status_code == 200, response.text
    warning = response.headers["x-openresponses-warning"]
    assert warning.startswith(f"The hosted tool {quoted} (tools[0])")
    assert len(warning) <= 1024
    assert warning.endswith("...")


SECOND_ROUND = [
    # Second round. A web search tool's count that is no integer: int() raised, a 500.
    ("/v1/responses", {"model": "groq@m", "input": "hi", "tools": [
        {"type": "web_search", "count": "x"}]}, "tools[0].count"),
    ("/v1/responses", {"model": "groq@m", "input": "hi", "tools": [
        {"type": "brave_web_search", "count": [1]}]}, "tools[0].count"),
    # MCP items the tool loop reads: a KeyError (500) or a TypeError shown as an upstream fault.
    ("/v1/responses", {"model": "groq@m", "input": [
        {"role": "user", "content": "x"}, {"type": "mcp_approval_request", "id": "mcpr_a1"}]},
     "input[1].server_label"),
    ("/v1/responses", {"model": "groq@m", "input": [
        {"type": "mcp_approval_request", "id": "mcpr_a2", "server_label": "calc",
         "name": "add", "arguments": {"a": 1}}]}, "input[0].arguments"),
    ("/v1/responses", {"model": "groq@m", "input": [
        {"type": "mcp_approval_response", "approval_request_id": "mcpr_a1",
         "approve": "false"}]}, "input[0].approve"),  # "false" was truthy: the call ran
    ("/v1/conversations", {"items": [
        {"type": "mcp_list_tools", "server_label": "calc", "tools": [5]}]},
     "items[0].tools[0]"),
    ("/v1/conversations", {"items": [{"type": "mcp_list_tools", "tools": []}]},
     "items[0].server_label"),
    # Reasoning parts that are no arrays: 502 on Anthropic, 500 on token counting.
    ("/v1/responses", {"model": "claude@c", "input": [
        {"role": "user", "content": "x"}, {"type": "reasoning", "summary": [], "content": 5,
                                           "encrypted_content": "anthropic:thinking:sig"}]},
     "input[1].content"),
    ("/v1/responses/input_tokens", {"model": "groq@m", "input": [
        {"role": "user", "content": "x"}, {"type": "reasoning", "summary": 5}]},
     "input[1].summary"),
    ("/v1/responses/compact", {"model": "groq@m", "input": [
        {"role": "user", "content": "x"}, {"type": "reasoning", "summary": [{"text": 1}]}]},
     "input[1].summary[0]"),
]


THIRD_ROUND = [
    # A tool output part whose type is no string: "unhashable type", shown as an upstream fault.
    ("/v1/responses", {"model": "groq@m", "input": [
        {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1",
         "output": [{"type": {"a": 1}, "text": "x"}]}]}, "input[1].output[0]"),
    ("/v1/responses", {"model": "claude@c", "input": [
        {"type": "custom_tool_call", "call_id": "c1", "name": "f", "input": "x"},
        {"type": "custom_tool_call_output", "call_id": "c1",
         "output": [{"type": "input_text", "text": 3}]}]}, "input[1].output[0].text"),
]


@pytest.mark.parametrize(("path", "body", "param"), [*FIRST_ROUND, *SECOND_ROUND, *THIRD_ROUND])
def test_a_malformed_item_or_tool_is_a_400_naming_it(
    http: httpx2.Client, path: str, body: dict[str, Any], param: str
) -> None:
    response = http.post(path, json=body, headers=AUTH)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert (error["type"], error["param"]) == ("invalid_request_error", param)


@pytest.mark.parametrize("name", ["Content-Length", "host", "Transfer-Encoding"])
def test_an_mcp_tool_may_not_set_the_headers_that_frame_its_request(
    http: httpx2.Client, name: str
) -> None:  # content-length: 5 cut off the body the MCP server received
    body = {"model": "groq@m", "input": "x", "tools": [
        {"type": "mcp", "server_label": "lab", "server_url": "https://example.com/mcp",
         "headers": {name: "5"}}]}
    response = http.post("/v1/responses", json=body, headers=AUTH)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == "tools[0].headers"


def test_a_tool_choice_anthropic_cannot_express_is_named_without_python_repr(
    http: httpx2.Client,
) -> None:
    body = {"model": "claude@c", "input": "x", "tools": [{"type": "function", "name": "f"}],
            "tool_choice": {"type": "mcp", "server_label": "calc"}}
    response = http.post("/v1/responses", json=body, headers=AUTH)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert (error["param"], error["code"]) == ("tool_choice", "unsupported_parameter")
    assert error["message"] == "tool_choice 'mcp' is not supported for Anthropic models."


@pytest.mark.parametrize(("method", "path", "body"), [
    ("POST", "/v1/responses", {"model": "groq@m", "input": "hi"}),
    ("POST", "/v1/chat/completions", {"model": "groq@m",
                                      "messages": [{"role": "user", "content": "hi"}]}),
    ("GET", "/v1/models", None),
])
@pytest.mark.parametrize("token", ["\u00e9\u00e9", "sk-valid-looking\u00e9", "sk-\u0007bell"])
def test_a_bearer_that_cannot_be_sent_on_is_a_401(
    http: httpx2.Client, method: str, path: str, body: dict[str, Any] | None, token: str
) -> None:  # passthrough forwards the bearer upstream: httpx raised UnicodeEncodeError, a 5xx
    headers = {b"authorization": f"Bearer {token}".encode()}
    response = http.request(method, path, json=body, headers=headers)
    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] == "invalid_api_key"
