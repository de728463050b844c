"""Driving Debian's headless Chromium with Playwright's sync API, from a worker thread.

Playwright's sync API runs an asyncio loop of its own, so a test (on trio) hands a whole
scenario to ``in_browser`` through ``trio.to_thread.run_sync``: the gateway keeps serving on
the trio loop while the browser talks to it. Each scenario gets a fresh browser and fails if
the page threw, logged a console error, or was refused anything by its Content-Security-Policy.

Without ``/usr/bin/chromium`` the tests are skipped with the reason, unless
``OPENRESPONSES_REQUIRE_SERVICES=1`` (CI), which makes that a failure.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import pytest
from playwright.sync_api import ConsoleMessage, Page, ViewportSize, sync_playwright

from tests.services import services_required

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORT = ViewportSize(width=1440, height=900)  # a laptop screen
DOCS = Path(__file__).resolve().parents[2] / "docs"
TIMEOUT_MS = 15_000
T = TypeVar("T")


def require_chromium() -> None:
    """Skip (fail under OPENRESPONSES_REQUIRE_SERVICES=1) when Chromium is not installed."""
    if Path(CHROMIUM).exists():
        return
    message = f"{CHROMIUM} is missing (apt-get install chromium)"
    if services_required():
        pytest.fail(f"{message}; OPENRESPONSES_REQUIRE_SERVICES=1 forbids skipping")
    pytest.skip(message)


def screenshot(page: Page, name: str) -> None:
    """Save ``docs/console-<name>.png`` when ``OPENRESPONSES_SCREENSHOTS=1`` (so a normal test
    run never changes the tree)."""
    if os.environ.get("OPENRESPONSES_SCREENSHOTS", "") not in ("", "0"):
        page.screenshot(path=str(DOCS / f"console-{name}.png"))


def in_browser(base_url: str, scenario: Callable[[Page], T], *,
               permissions: Sequence[str] = ()) -> T:
    """Run ``scenario`` on a fresh page of ``base_url`` in headless Chromium; blocking (call
    it through ``trio.to_thread.run_sync``). Fails on any page error or console error."""
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.append(f"console: {message.text}")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            context = browser.new_context(viewport=VIEWPORT, base_url=base_url,
                                          permissions=list(permissions))
            context.set_default_timeout(TIMEOUT_MS)
            page = context.new_page()
            page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
            page.on("console", on_console)
            result = scenario(page)
        finally:
            browser.close()
    assert not problems, problems
    return result


def sign_in(page: Page, api_key: str, admin_key: str = "") -> None:
    """Open the console and connect with the keys, through its form."""
    page.goto("/console")
    page.get_by_label("API key", exact=True).fill(api_key)
    if admin_key:
        page.get_by_label("Admin key (optional)").fill(admin_key)
    page.get_by_role("button", name="Connect").click()
    page.get_by_role("button", name="Sign out").wait_for()
