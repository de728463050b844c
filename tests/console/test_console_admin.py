"""The admin views in a real browser: create a key (shown once, copied), see it listed with its
limits and models, change its limits and models and see them enforced, revoke it; watch the
traffic charts move as requests and rate-limit refusals happen."""

from __future__ import annotations

import re
from functools import partial

import trio
from playwright.sync_api import Dialog, Page, expect

from tests.console.browser import in_browser, require_chromium, screenshot, sign_in
from tests.e2e.keys_helpers import ADMIN_KEY, call, create_key

SLOW_MS = 12_000  # the Traffic view polls every 1.5 s


def status_with(page: Page, key: str) -> int:
    """The gateway's status for a response created with ``key`` (from the browser's side)."""
    answer = page.request.post("/v1/responses", headers={"authorization": f"Bearer {key}"},
                               data={"model": "groq@fake-model-a", "input": "hi"})
    return answer.status


def manage_keys(page: Page, api_key: str) -> tuple[str, list[int]]:
    sign_in(page, api_key, ADMIN_KEY)
    page.get_by_role("link", name="Keys").click()
    page.get_by_label("Name").fill("ci-pipeline")
    page.get_by_label("Allowed models").fill("groq@*, claude@*")
    page.get_by_label("Requests / day").fill("500")
    page.get_by_label("Tokens / minute").fill("20000")
    page.get_by_role("button", name="Create key").click()
    shown = page.get_by_label("New key")
    expect(shown).to_have_value(re.compile(r"^or-"))
    key = shown.input_value()
    page.get_by_role("button", name="Copy").click()
    expect(page.locator(".toast")).to_contain_text("Key copied.")
    assert page.evaluate("navigator.clipboard.readText()") == key
    row = page.locator("tr", has_text="ci-pipeline")
    expect(row).to_contain_text("groq@*, claude@*")
    expect(row).to_contain_text("500 requests / day, 20000 tokens / minute")
    expect(row).to_contain_text("active")
    screenshot(page, "keys")
    statuses = [status_with(page, key)]
    page.once("dialog", accept)
    row.get_by_role("button", name="Revoke ci-pipeline").click()
    expect(row).to_contain_text("revoked")
    expect(row.get_by_role("button", name="Revoke ci-pipeline")).to_be_disabled()
    statuses.append(status_with(page, key))
    page.reload()  # the key itself is never shown again
    expect(page.locator("tr", has_text="ci-pipeline")).to_be_visible()
    assert key not in page.content()
    return key, statuses


def accept(dialog: Dialog) -> None:
    assert "ci-pipeline" in dialog.message
    dialog.accept()


async def test_a_key_is_created_shown_once_listed_and_revoked(
    gateway_url: str, base_url: str, api_key: str
) -> None:
    require_chromium()
    key, statuses = await trio.to_thread.run_sync(partial(
        in_browser, base_url, partial(manage_keys, api_key=api_key),
        permissions=["clipboard-read", "clipboard-write"]))
    assert statuses == [200, 401]
    listed = (await call("GET", f"{gateway_url}/admin/keys", ADMIN_KEY)).json()["data"]
    [record] = [k for k in listed if k["name"] == "ci-pipeline"]
    assert record["allowed"] == ["groq@*", "claude@*"]
    assert record["limits"]["requests_per_day"] == 500
    assert record["revoked"] is True
    assert key.startswith(record["prefix"])


def edit_limits(page: Page, api_key: str, key: str) -> list[int]:
    sign_in(page, api_key, ADMIN_KEY)
    page.get_by_role("link", name="Keys").click()
    row = page.locator("tr", has_text="nightly")
    expect(row).to_contain_text("50 requests / day")
    statuses = [status_with(page, key)]
    row.get_by_role("button", name="Edit nightly").click()
    form = page.get_by_role("form", name="Edit nightly")
    expect(form.get_by_label("Name")).to_be_focused()
    expect(form.get_by_label("Requests / day")).to_have_value("50")  # filled from the record
    expect(form.get_by_label("Allowed models")).to_have_value("")
    form.get_by_label("Allowed models").fill("groq@*")
    form.get_by_label("Requests / minute").fill("1")
    form.get_by_label("Requests / day").fill("")  # back to the gateway's default
    screenshot(page, "keys-edit")
    form.get_by_role("button", name="Save changes").click()
    expect(page.locator(".toast")).to_contain_text("Saved nightly")
    expect(row).to_contain_text("1 requests / minute")
    expect(row).not_to_contain_text("requests / day")
    expect(row).to_contain_text("groq@*")
    expect(page.get_by_role("form", name="Edit nightly")).to_have_count(0)
    statuses += [status_with(page, key), status_with(page, key)]
    row.get_by_role("button", name="Edit nightly").click()
    page.get_by_role("form", name="Edit nightly").get_by_label("Name").fill(" ")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator(".toast .note.error")).to_contain_text("Name the key.")
    page.get_by_role("button", name="Cancel").click()
    expect(page.get_by_role("form", name="Edit nightly")).to_have_count(0)
    expect(row.get_by_role("button", name="Edit nightly")).to_be_focused()
    return statuses


async def test_a_keys_limits_and_models_are_edited_and_enforced_at_once(
    gateway_url: str, base_url: str, api_key: str
) -> None:
    require_chromium()
    key = (await create_key(gateway_url, name="nightly",
                            limits={"requests_per_day": 50}))["key"]
    statuses = await trio.to_thread.run_sync(in_browser, base_url, partial(
        edit_limits, api_key=api_key, key=key))
    assert statuses == [200, 200, 429]  # one request a minute, from the very next request
    listed = (await call("GET", f"{gateway_url}/admin/keys", ADMIN_KEY)).json()["data"]
    [record] = [k for k in listed if k["name"] == "nightly"]
    assert record["allowed"] == ["groq@*"]
    assert record["limits"] == {"requests_per_minute": 1, "requests_per_day": None,
                                "tokens_per_minute": None}


def no_admin_key(page: Page, api_key: str) -> str:
    sign_in(page, api_key)
    page.get_by_role("link", name="Keys").click()
    return page.locator("main").inner_text()


async def test_without_the_admin_key_the_keys_view_asks_for_it(
    base_url: str, api_key: str
) -> None:
    require_chromium()
    text = await trio.to_thread.run_sync(in_browser, base_url,
                                         partial(no_admin_key, api_key=api_key))
    assert "needs the gateway's admin key" in text


def tile(page: Page, name: str) -> float:
    text = page.locator(f"[data-tile={name}] .tile-value").inner_text()
    return float(text.split(" ")[0].replace(",", ""))


def watch_traffic(page: Page, api_key: str, limited_key: str) -> dict[str, float]:
    sign_in(page, api_key, ADMIN_KEY)
    page.get_by_role("link", name="Traffic").click()
    expect(page.locator("[data-tile=requests]")).to_be_visible(timeout=SLOW_MS)
    before = {name: tile(page, name) for name in ("requests", "rate_limited")}
    for round_ in range(12):  # several polls' worth of traffic, so the lines have a shape
        for _ in range(1 + round_ % 4):
            assert status_with(page, api_key) == 200
        page.wait_for_timeout(500)
    refused = [status_with(page, limited_key) for _ in range(3)]
    assert refused.count(429) == 2, refused
    groq = page.locator("[data-chart=providers] li[data-name=groq] .latest")
    expect(groq).not_to_have_text(re.compile(r"^(0|—)$"), timeout=SLOW_MS)
    expect(page.locator("[data-chart=latency] li[data-name=p50] .latest")).not_to_have_text(
        "—", timeout=SLOW_MS)
    expect(page.locator("[data-tile=rate_limited] .tile-value")).not_to_have_text(
        f"{before['rate_limited']:.0f}", timeout=SLOW_MS)
    page.wait_for_timeout(1600)  # one more point: the refusals show on the errors chart
    screenshot(page, "traffic")
    return {"requests": tile(page, "requests") - before["requests"],
            "rate_limited": tile(page, "rate_limited") - before["rate_limited"]}


async def test_the_traffic_charts_move_with_the_gateways_metrics(
    gateway_url: str, base_url: str, api_key: str
) -> None:
    require_chromium()
    limited = (await create_key(gateway_url, name="limited",
                                limits={"requests_per_minute": 1}))["key"]
    moved = await trio.to_thread.run_sync(in_browser, base_url, partial(
        watch_traffic, api_key=api_key, limited_key=limited))
    assert moved["requests"] >= 30
    assert moved["rate_limited"] == 2
