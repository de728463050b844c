"""The tool runner's HTTP client is shared by every user's tool calls: it keeps no cookies."""

from __future__ import annotations

import httpx2

from actors.testing import started
from openresponses.gateway.tool_runner import RunTool, ToolRunner
from openresponses.tools.base import ServerToolSpec, ToolCallRequest
from openresponses.tools.settings import ToolSettings

SEARCH = ServerToolSpec(kind="brave_search", function={"type": "function", "name": "web_search"},
                        item_type="web_search_call")


async def test_a_search_answers_cookie_is_not_sent_with_the_next_users_search() -> None:
    cookies: list[str | None] = []

    def brave(request: httpx2.Request) -> httpx2.Response:
        cookies.append(request.headers.get("cookie"))
        body = {"web": {"results": [{"title": "T", "url": "https://e.test/", "description": "d"}]}}
        return httpx2.Response(200, json=body, headers={"set-cookie": "session=user-a; Path=/"})

    settings = ToolSettings(brave_api_key="k", brave_base_url="https://brave.test")
    async with started(lambda: ToolRunner(settings, httpx2.MockTransport(brave))) as runner:
        for n in range(2):
            call = ToolCallRequest(call_id=f"c{n}", name="web_search", arguments='{"query": "q"}')
            outcome = await runner.ask(RunTool(SEARCH, call))
            assert not outcome.failed
            assert "https://e.test/" in outcome.output_for_model
    assert cookies == [None, None]
