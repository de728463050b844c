"""The Responses view in a real browser: the stored responses listed newest first and
filtered, one opened as its chain (every turn's input and output, the raw JSON a click away),
and deleted from there."""

from __future__ import annotations

from functools import partial
from typing import Any

import trio
from playwright.sync_api import Dialog, Page, expect

from tests.console.browser import in_browser, require_chromium, screenshot, sign_in
from tests.e2e.keys_helpers import create_response
from tests.fakes.script import Script
from tests.fakes.upstream import FakeUpstream

QUESTION = 'Is <b>this</b> & "that" escaped?'


async def stored(gateway_url: str, key: str, **body: Any) -> str:
    response = await create_response(gateway_url, key, **body)
    assert response.status_code == 200, response.text
    response_id: str = response.json()["id"]
    return response_id


def browse(page: Page, api_key: str, first: str, second: str, other: str) -> list[str]:
    sign_in(page, api_key)
    page.get_by_role("link", name="Responses").click()
    rows = page.locator("table.list tbody tr")
    expect(rows).to_have_count(3)
    expect(page.locator("table.list")).to_contain_text("groq@llama")
    page.get_by_label("Metadata").fill("topic=geo")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(2)
    expect(page.locator("table.list")).not_to_contain_text(other)
    screenshot(page, "responses")
    page.get_by_role("link", name=second).click()
    turns = page.locator("article.turn")
    expect(turns).to_have_count(2)
    expect(turns.nth(0)).to_contain_text(QUESTION)  # input, as text
    expect(turns.nth(0)).to_contain_text("Paris.")  # output
    expect(turns.nth(0)).to_contain_text("Answer briefly.")  # instructions (collapsed)
    expect(turns.nth(1)).to_contain_text("And the population?")
    expect(turns.nth(1)).to_contain_text("About two million.")
    expect(turns.nth(1).locator(".stats")).to_contain_text("in 11 · out 7 tokens")
    turns.nth(1).locator("details.raw summary").click()
    raw = turns.nth(1).locator("details.raw pre")
    expect(raw).to_contain_text(f'"previous_response_id": "{first}"')
    screenshot(page, "chain")
    assert page.locator("main b").count() == 0  # the <b> of the question stayed text
    page.once("dialog", lambda dialog: accept(dialog, second))
    turns.nth(1).get_by_role("button", name="Delete").click()
    expect(page.get_by_role("heading", name="Stored responses")).to_be_visible()
    expect(rows).to_have_count(1)  # the filter is kept: the first turn is left
    expect(rows).to_contain_text(first)
    return [row.inner_text() for row in rows.all()]


def accept(dialog: Dialog, response_id: str) -> None:
    assert response_id in dialog.message
    dialog.accept()


async def test_stored_chains_are_listed_opened_and_deleted(
    gateway_url: str, base_url: str, api_key: str, upstream: FakeUpstream
) -> None:
    require_chromium()
    upstream.queue(Script(text="Paris."), Script(text="About two million."),
                   Script(text="Unrelated."))
    first = await stored(gateway_url, api_key, input=QUESTION, instructions="Answer briefly.",
                         metadata={"topic": "geo"})
    second = await stored(gateway_url, api_key, input="And the population?",
                          previous_response_id=first, metadata={"topic": "geo"})
    other = await stored(gateway_url, api_key, input="Something else")
    rows = await trio.to_thread.run_sync(
        in_browser, base_url, partial(browse, api_key=api_key, first=first, second=second,
                                      other=other))
    assert not any(second in row for row in rows)
    assert len(rows) == 1
    assert (await create_response(gateway_url, api_key, previous_response_id=second)
            ).status_code == 400  # deleted for real
