"""``/v1/chat/completions`` errors: 400s naming the param, upstream errors mapped through each
protocol (never raw), in-band stream errors, and a client disconnect closing the upstream."""

from __future__ import annotations

from contextlib import aclosing
from typing import Any

import openai
import pytest
import trio

from tests.e2e.chat_client import AUTH, loopback_client, parse_chat_sse, post_chat
from tests.fakes.script import Script
from tests.fakes.upstream import ErrorReply, FakeUpstream, RawReply
from tests.transcripts import load

MODELS = ["openai@gpt-4o", "groq@llama", "claude@claude-sonnet-4-5"]
HI = [{"role": "user", "content": "hi"}]


def assert_envelope(status: int, body: Any, expected: int, type_: str,
                    param: str | None = None) -> dict[str, Any]:
    assert status == expected, body
    assert set(body) == {"error"}
    error: dict[str, Any] = body["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert (error["type"], error["param"]) == (type_, param)
    return error


@pytest.mark.parametrize(("body", "param"), [
    ({"model": "groq@m"}, "messages"),
    ({"model": "unknown@m", "messages": HI}, "model"),
    ({"model": "claude@c", "messages": HI, "n": 2}, "n"),
])
async def test_bad_requests_are_400_naming_the_param(
    gateway_url: str, upstream: FakeUpstream, body: dict[str, Any], param: str
) -> None:
    """Every case is in tests/openresponses/chat/test_chat_validation.py; these show the
    envelope over HTTP, before anything reaches the upstream."""
    status, answer = await post_chat(gateway_url, body)
    assert_envelope(status, answer, 400, "invalid_request_error", param)
    assert upstream.received == []


async def test_missing_bearer_is_401(gateway_url: str) -> None:
    status, body = await post_chat(gateway_url, {"model": "groq@m", "messages": HI},
                                   headers={})
    assert_envelope(status, body, 401, "authentication_error")


@pytest.mark.parametrize(("model", "stream", "status", "expected", "type_"), [
    ("openai@gpt-4o", False, 401, 401, "authentication_error"),
    ("openai@gpt-4o", True, 500, 502, "server_error"),
    ("groq@llama", False, 500, 502, "server_error"),
    ("groq@llama", True, 429, 429, "rate_limit_exceeded"),
    ("claude@claude-sonnet-4-5", False, 429, 429, "rate_limit_exceeded"),
    ("claude@claude-sonnet-4-5", True, 401, 401, "authentication_error"),
])
async def test_upstream_errors_are_mapped(
    gateway_url: str, upstream: FakeUpstream, model: str, stream: bool, status: int,
    expected: int, type_: str,
) -> None:
    secret = "sk-live-abcdefghijklmnop0123"
    if model.startswith("claude"):
        kind = {401: "authentication_error", 429: "rate_limit_error"}.get(status, "api_error")
        upstream.queue(ErrorReply(status, {"type": "error", "error": {
            "type": kind, "message": f"nope {secret}"}}))
    else:
        upstream.queue(ErrorReply(status, {"error": {"message": f"nope {secret}",
                                                     "type": "x", "code": "c"}}))
    code, body = await post_chat(gateway_url, {"model": model, "messages": HI,
                                               "stream": stream})
    error = assert_envelope(code, body, expected, type_)
    assert secret not in error["message"]


async def test_anthropic_error_envelope_is_mapped(gateway_url: str,
                                                  upstream: FakeUpstream) -> None:
    recorded = load("E12")  # 404 not_found_error for an unknown model
    upstream.queue(ErrorReply(recorded.status, recorded.json()))
    status, body = await post_chat(gateway_url, {"model": "claude@nope", "messages": HI})
    assert status == 404
    assert "model" in body["error"]["message"]


async def test_sdk_raises_the_mapped_error(client: openai.OpenAI,
                                           upstream: FakeUpstream) -> None:
    upstream.queue(ErrorReply(404, load("E15").json()))  # Groq: model not found
    with pytest.raises(openai.NotFoundError):
        await trio.to_thread.run_sync(lambda: client.chat.completions.create(
            model="groq@nope", messages=[{"role": "user", "content": "hi"}]))


async def test_inband_error_after_output_ends_the_stream_with_an_error_frame(
    gateway_url: str, upstream: FakeUpstream
) -> None:
    recorded = load("E16")  # Groq: 200 stream of reasoning, then event: error
    upstream.queue(RawReply(recorded.body, "text/event-stream"))
    async with loopback_client() as http:
        response = await http.post(f"{gateway_url}/chat/completions", headers=AUTH, json={
            "model": "groq@openai/gpt-oss-120b", "messages": HI, "stream": True})
    assert response.status_code == 200
    raw = response.content.split(b"\n\n")
    chunks, done = parse_chat_sse(b"\n\n".join(raw[:-2]) + b"\n\n")
    assert chunks
    assert not done
    error = parse_chat_sse(raw[-2] + b"\n\n")[0][0]["error"]
    assert (error["type"], error["code"]) == ("invalid_request_error", "tool_use_failed")
    assert b"[DONE]" not in response.content


async def test_inband_error_before_output_is_a_plain_http_error(
    gateway_url: str, upstream: FakeUpstream
) -> None:
    error = b'event: error\ndata: {"error":{"message":"bad tool","code":"tool_use_failed",' \
            b'"type":"invalid_request_error","status_code":400}}\n\n'
    upstream.queue(RawReply(error, "text/event-stream"))
    status, body = await post_chat(gateway_url, {"model": "groq@m", "messages": HI,
                                                 "stream": True})
    assert_envelope(status, body, 400, "invalid_request_error")


async def test_truncated_passthrough_stream_ends_with_an_error(
    gateway_url: str, upstream: FakeUpstream
) -> None:
    cut = load("A06").body.split(b"\n\n")[:3]
    upstream.queue(RawReply(b"\n\n".join(cut) + b"\n\n", "text/event-stream"))
    async with loopback_client() as http:
        response = await http.post(f"{gateway_url}/chat/completions", headers=AUTH, json={
            "model": "groq@m", "messages": HI, "stream": True})
    chunks, done = parse_chat_sse(response.content)
    assert not done
    assert chunks[-1]["error"]["type"] == "server_error"


@pytest.mark.parametrize("model", MODELS)
async def test_disconnect_mid_stream_closes_the_upstream_request(
    gateway_url: str, upstream: FakeUpstream, model: str
) -> None:
    upstream.hold = trio.Event()  # the fake model stalls after its first chunk
    upstream.queue(Script(text="a long answer that never finishes", chunks=8))
    body = {"model": model, "messages": HI, "stream": True, "store": True}
    async with loopback_client(5) as http:
        async with http.stream("POST", f"{gateway_url}/chat/completions", json=body,
                               headers=AUTH) as response:
            assert response.status_code == 200
            async with aclosing(response.aiter_bytes()) as pieces:
                async for _ in pieces:
                    break
        with trio.fail_after(2):
            await upstream.disconnected.wait()
        listed = await http.get(f"{gateway_url}/chat/completions", headers=AUTH)
    assert listed.json()["data"] == []  # nothing half-written was stored
