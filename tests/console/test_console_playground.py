"""The Playground in a real browser against a real gateway and a fake upstream: a streamed
answer arrives piece by piece, tool calls show as collapsible items, usage and timings appear,
the conversation continues with previous_response_id, and model output stays text."""

from __future__ import annotations

import re
from functools import partial

import trio
from playwright.sync_api import Page, Route, expect

from tests.console.browser import in_browser, require_chromium, screenshot, sign_in
from tests.fakes.script import Script, ToolCall
from tests.fakes.upstream import FakeUpstream

ANSWER = "The capital of France is Paris, a city on the Seine."
TOOLS = ('[{"name": "lookup_population", "parameters": {"type": "object", '
         '"properties": {"city": {"type": "string"}}}}]')
HOSTILE = '<img src=x onerror="window.__pwned = 1"><script>window.__pwned = 2</script>'


def send(page: Page, text: str) -> None:
    page.get_by_label("Message").fill(text)
    page.get_by_role("button", name="Send").click()


def chat_and_continue(page: Page, api_key: str) -> str:
    sign_in(page, api_key)
    model = page.get_by_label("Model")
    expect(model).to_have_value(re.compile(r".+@.+"))  # filled from /v1/models
    model.fill("groq@fake-model-a")
    page.get_by_label("Instructions").fill("Answer in one sentence.")
    send(page, "What is the capital of France?")
    streaming = page.wait_for_function(  # part of the answer, shown before the rest came
        """n => { const t = document.querySelector('.msg.assistant.streaming .text');
                  return t && t.textContent.length > 0 && t.textContent.length < n
                      && t.textContent; }""", arg=len(ANSWER))
    partial_text = str(streaming.json_value())
    answer = page.locator(".turn").nth(0).locator(".msg.assistant .text")
    expect(answer).to_have_text(ANSWER)
    stats = page.locator(".turn").nth(0).locator(".stats")
    expect(stats).to_contain_text("in 11 · out 7 tokens")
    expect(stats).to_contain_text("first token")
    expect(page.locator("#continuation")).to_contain_text("Continuing resp_")
    page.get_by_label("Function tools (JSON)").fill(TOOLS)
    send(page, "And its population?")
    second = page.locator(".turn").nth(1)
    expect(second.locator("[data-item-type=function_call]")).to_contain_text("lookup_population")
    second.locator("[data-item-type=function_call] summary").click()
    expect(second.locator("[data-item-type=function_call] pre")).to_contain_text('"city": "Paris"')
    second.get_by_label("Output of lookup_population (call_1)").fill('{"population": 2102650}')
    second.locator(".stats").scroll_into_view_if_needed()  # the opened call pushed it down
    screenshot(page, "playground")
    return partial_text


async def test_a_streamed_answer_arrives_and_the_conversation_continues(
    base_url: str, api_key: str, upstream: FakeUpstream
) -> None:
    require_chromium()
    upstream.queue(
        Script(text=ANSWER, chunks=12, delay=0.15),
        Script(text="", tool_calls=(ToolCall("call_1", "lookup_population",
                                             '{"city": "Paris"}'),)),
    )
    shown_early = await trio.to_thread.run_sync(in_browser, base_url,
                                                partial(chat_and_continue, api_key=api_key))
    assert ANSWER.startswith(shown_early)
    first, second = upstream.received[-2:]
    assert first.body["stream"] is True
    assert first.body["messages"][0] == {"role": "system", "content": "Answer in one sentence."}
    contents = [m.get("content") for m in second.body["messages"]]
    assert "What is the capital of France?" in contents  # the chain was replayed
    assert ANSWER in contents
    assert [t["function"]["name"] for t in second.body["tools"]] == ["lookup_population"]


def models_arrive_while_typing(page: Page, api_key: str) -> str:
    held: list[Route] = []

    def hold(route: Route) -> None:  # the model list waits until released
        held.append(route)

    page.route("**/v1/models", hold)
    sign_in(page, api_key)
    model = page.get_by_label("Model")
    model.focus()  # the user is about to type a model
    while not held:
        page.wait_for_timeout(20)
    held[0].continue_()
    expect(page.locator("#model-list option").first).to_be_attached()
    return model.input_value()


async def test_the_model_list_does_not_write_into_the_field_being_typed_in(
    base_url: str, api_key: str, upstream: FakeUpstream
) -> None:
    require_chromium()
    value = await trio.to_thread.run_sync(in_browser, base_url, partial(
        models_arrive_while_typing, api_key=api_key))
    assert value == ""  # not "anthropic@…" under the user's cursor


def hostile_reply(page: Page, api_key: str) -> tuple[int, object]:
    sign_in(page, api_key)
    page.get_by_label("Model").fill("groq@fake-model-a")
    send(page, HOSTILE)
    answer = page.locator(".msg.assistant .text")
    expect(answer).to_have_text(HOSTILE)
    expect(page.locator(".msg.user .text")).to_have_text(HOSTILE)
    expect(page.locator(".stats")).to_be_visible()
    images = page.locator("main img").count() + page.locator("main script").count()
    return images, page.evaluate("window.__pwned")


async def test_model_output_with_markup_is_shown_as_text(
    base_url: str, api_key: str, upstream: FakeUpstream
) -> None:
    require_chromium()
    upstream.queue(Script(text=HOSTILE, chunks=5))
    elements, pwned = await trio.to_thread.run_sync(
        in_browser, base_url, partial(hostile_reply, api_key=api_key))
    assert elements == 0
    assert pwned is None


def bad_tools(page: Page, api_key: str) -> str:
    sign_in(page, api_key)
    page.get_by_label("Model").fill("groq@fake-model-a")
    page.get_by_label("Function tools (JSON)").fill("[{not json")
    send(page, "hi")
    note = page.locator(".toast .note.error")
    expect(note).to_contain_text("Function tools: not valid JSON")
    return str(page.locator(".turn").count())


async def test_invalid_function_tools_are_refused_before_sending(
    base_url: str, api_key: str, upstream: FakeUpstream
) -> None:
    require_chromium()
    turns = await trio.to_thread.run_sync(in_browser, base_url,
                                          partial(bad_tools, api_key=api_key))
    assert turns == "0"
    assert not [r for r in upstream.received if r.path.endswith("completions")]


WEATHER_TOOLS = ('[{"name": "get_weather", "parameters": {"type": "object", '
                 '"properties": {"city": {"type": "string"}}}}]')
CALLS = (ToolCall("call_w1", "get_weather", '{"city": "Oslo"}'),
         ToolCall("call_w2", "get_weather", '{"city": "Rome"}'))


def answer_tool_calls(page: Page, api_key: str) -> tuple[str, str]:
    sign_in(page, api_key)
    page.get_by_label("Model").fill("groq@fake-model-a")
    page.get_by_label("Function tools (JSON)").fill(WEATHER_TOOLS)
    send(page, "Weather in Oslo and Rome?")
    first = page.locator(".turn").nth(0)
    oslo = first.get_by_label("Output of get_weather (call_w1)")
    expect(oslo).to_be_focused()  # the model waits: the first box is where to type
    expect(first.locator("[data-item-type=function_call]")).to_have_count(2)
    response_id = page.locator("#continuation code").inner_text()
    oslo.fill('{"temp_c": 4}')
    first.get_by_role("button", name="Send outputs").click()
    expect(page.locator(".toast .note.error")).to_contain_text(
        "Write an output for get_weather (call_w2).")
    assert page.locator(".turn").count() == 1  # nothing was sent
    first.get_by_label("Output of get_weather (call_w2)").fill("sunny, 19 C")
    first.get_by_role("button", name="Send outputs").click()
    second = page.locator(".turn").nth(1)
    expect(second.locator(".msg.assistant .text")).to_have_text("Cold in Oslo, warm in Rome.")
    expect(second.locator("[data-item-type=function_call_output]")).to_have_count(2)
    expect(first.get_by_role("form", name="Function call outputs")).to_have_count(0)
    expect(page.locator("#continuation code")).not_to_have_text(response_id)
    return response_id, page.locator("#continuation code").inner_text()


async def test_function_calls_are_answered_with_their_outputs(
    base_url: str, api_key: str, upstream: FakeUpstream
) -> None:
    require_chromium()
    upstream.queue(Script(text="", tool_calls=CALLS),
                   Script(text="Cold in Oslo, warm in Rome."))
    first_id, second_id = await trio.to_thread.run_sync(in_browser, base_url, partial(
        answer_tool_calls, api_key=api_key))
    assert first_id.startswith("resp_")
    assert second_id.startswith("resp_")
    replayed = upstream.received[-1].body["messages"]
    tool_messages = [m for m in replayed if m["role"] == "tool"]
    assert tool_messages == [
        {"role": "tool", "tool_call_id": "call_w1", "content": '{"temp_c": 4}'},
        {"role": "tool", "tool_call_id": "call_w2", "content": "sunny, 19 C"},
    ]
    assert "Weather in Oslo and Rome?" in [m.get("content") for m in replayed]  # the chain
    assert [t["function"]["name"] for t in upstream.received[-1].body["tools"]] == [
        "get_weather"]
