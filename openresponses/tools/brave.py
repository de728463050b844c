"""Web search through the Brave Search API (``GET /res/v1/web/search``).

The results go back to the model as compact text (title, URL, snippet) and to the client as a
``web_search_call`` item whose ``action.sources`` lists the URLs.
"""

from __future__ import annotations

import html
import re
from typing import Any

import attrs
import httpx2

from openresponses.errors import GatewayError, UpstreamUnavailable

_TAGS = re.compile(r"<[^>]+>")


@attrs.frozen
class SearchResult:
    title: str
    url: str
    snippet: str


def _clean(text: str) -> str:
    return html.unescape(_TAGS.sub("", text)).strip()


def parse_results(body: dict[str, Any], limit: int = 5) -> list[SearchResult]:
    """The web results of a Brave response (HTML highlighting stripped); parts of another
    shape count as no results."""
    web = body.get("web")
    found = web.get("results") if isinstance(web, dict) else None
    results = []
    for entry in (found if isinstance(found, list) else [])[:limit]:
        if isinstance(entry, dict) and isinstance(entry.get("url"), str):
            results.append(SearchResult(_clean(str(entry.get("title", ""))), entry["url"],
                                        _clean(str(entry.get("description", "")))))
    return results


def results_text(query: str, results: list[SearchResult]) -> str:
    """What the model reads: one block per result."""
    if not results:
        return f"No web results for {query!r}."
    lines = [f"Web results for {query!r}:"]
    for n, r in enumerate(results, 1):
        lines.append(f"[{n}] {r.title}\nURL: {r.url}\n{r.snippet}")
    return "\n\n".join(lines)


async def brave_search(
    client: httpx2.AsyncClient, *, base_url: str, api_key: str, query: str, count: int = 5
) -> list[SearchResult]:
    """Search; raises ``GatewayError`` (status mapped) on failure. Cancellation closes the
    request."""
    try:
        response = await client.get(
            f"{base_url}/res/v1/web/search",
            params={"q": query, "count": str(count)},
            headers={"X-Subscription-Token": api_key, "Accept": "application/json"},
        )
    except (httpx2.HTTPError, httpx2.InvalidURL) as exc:  # InvalidURL: e.g. a query too long
        raise UpstreamUnavailable(f"web search failed: {type(exc).__name__}") from None
    if response.status_code >= 400:
        raise GatewayError(f"web search failed with HTTP {response.status_code}",
                           status=502, type="server_error")
    try:
        body = response.json()
    except ValueError:
        raise UpstreamUnavailable("web search failed: its answer is not JSON") from None
    return parse_results(body if isinstance(body, dict) else {}, count)
