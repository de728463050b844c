"""Serving the console: the page and modules with a strict Content-Security-Policy and no
inline script, the traffic summary (admin key when one is configured), and the static files
all declared as package data, so a non-editable install ships them."""

from __future__ import annotations

import fnmatch
import re
import tomllib
from pathlib import Path

import pytest

from openresponses.console.assets import load_assets
from openresponses.console.routes import STATIC
from openresponses.console.traffic import traffic_snapshot
from openresponses.observability.metrics import Metrics
from tests.e2e.keys_helpers import ADMIN_KEY, call, create_response

ROOT = Path(__file__).resolve().parents[2]


async def test_the_page_and_its_modules_carry_a_strict_csp(base_url: str) -> None:
    page = await call("GET", f"{base_url}/console", None)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "default-src 'none'" in csp
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    assert not re.search(r"<script(?![^>]*\bsrc=)", page.text)  # no inline script
    assert " style=" not in page.text
    assert "<style" not in page.text
    for path in re.findall(r'(?:src|href)="(/console/static/[^"]+)"', page.text):
        asset = await call("GET", f"{base_url}{path}", None)
        assert asset.status_code == 200, path
        assert asset.headers["content-security-policy"] == csp
    module = await call("GET", f"{base_url}/console/static/js/main.js", None)
    assert "javascript" in module.headers["content-type"]
    slash = await call("GET", f"{base_url}/console/", None)
    assert (slash.status_code, slash.headers["location"]) == (308, "/console")
    assert (await call("GET", f"{base_url}/console/static/nope.js", None)).status_code == 404


async def test_static_files_come_from_memory_with_an_etag_and_nothing_outside(
    base_url: str,
) -> None:
    module = await call("GET", f"{base_url}/console/static/js/main.js", None)
    assert module.content == (STATIC / "js" / "main.js").read_bytes()
    etag = module.headers["etag"]
    again = await call("GET", f"{base_url}/console/static/js/main.js", None,
                       headers={"if-none-match": etag})
    assert (again.status_code, again.content, again.headers["etag"]) == (304, b"", etag)
    stale = await call("GET", f"{base_url}/console/static/js/main.js", None,
                       headers={"if-none-match": '"other"'})
    assert stale.status_code == 200
    page = await call("GET", f"{base_url}/console", None, headers={"if-none-match": "*"})
    assert page.status_code == 304
    for name in ("../routes.py", "js/../../routes.py", "..%2Froutes.py", "..%2F..%2Fapp.py", "js"):
        answer = await call("GET", f"{base_url}/console/static/{name}", None)
        assert answer.status_code == 404, name


def test_only_files_of_a_shipped_kind_are_served(tmp_path: Path) -> None:
    (tmp_path / "js").mkdir()
    (tmp_path / "page.html").write_text("<p>hi</p>")
    (tmp_path / "js" / "a.js").write_text("export {}")
    (tmp_path / "notes.txt").write_text("?")
    (tmp_path / ".page.html.swp").write_text("?")
    assets = load_assets(tmp_path)
    assert sorted(assets) == ["js/a.js", "page.html"]
    assert assets["page.html"].content_type == "text/html; charset=utf-8"
    assert assets["page.html"].matches(f"W/{assets['page.html'].etag}, \"x\"")
    assert not assets["page.html"].matches(None)
    assert not assets["page.html"].matches(assets["js/a.js"].etag)


def test_no_module_builds_markup_from_strings() -> None:
    for path in STATIC.rglob("*.js"):
        source = path.read_text()
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
            assert sink not in source, f"{path.name} uses {sink}"


async def test_traffic_needs_the_admin_key_when_one_is_configured(
    base_url: str, gateway_url: str, api_key: str
) -> None:
    url = f"{base_url}/console/api/traffic"
    assert (await call("GET", url, None)).status_code == 401
    assert (await call("GET", url, api_key)).status_code == 401
    assert (await create_response(gateway_url, api_key)).status_code == 200
    answer = await call("GET", url, ADMIN_KEY)
    assert answer.status_code == 200
    body = answer.json()
    assert body["requests_by_provider"]["groq"] >= 1
    assert body["tokens"] == {"input": 11, "output": 7}
    assert body["latency_buckets"]["request"][-1] == [None, 1]


@pytest.mark.parametrize("console_env", [{}])
async def test_without_an_admin_key_traffic_is_as_open_as_metrics(base_url: str) -> None:
    assert (await call("GET", f"{base_url}/console/api/traffic", None)).status_code == 200


def test_the_snapshot_sums_the_registry() -> None:
    metrics = Metrics()
    metrics.requests.labels("/v1/responses", "POST", "groq", "200").inc(3)
    metrics.requests.labels("/v1/responses", "POST", "openai", "502").inc()
    metrics.requests.labels("/v1/responses", "POST", "", "429").inc(2)
    metrics.requests.labels("/v1/responses", "POST", "groq", "499").inc()
    metrics.requests.labels("/console/api/traffic", "GET", "", "200").inc(9)
    metrics.rate_limited.labels(scope="key").inc(2)
    metrics.tokens.labels("groq", "m", "input").inc(10)
    metrics.tokens.labels("openai", "m", "input").inc(5)
    metrics.tokens.labels("groq", "m", "output").inc(4)
    metrics.active_streams.labels("groq").inc()
    metrics.request_seconds.labels("/v1/responses").observe(0.2)
    metrics.request_seconds.labels("/v1/models").observe(9.0)  # not a model request
    metrics.ttft_seconds.labels("groq", "m").observe(0.04)
    snapshot = traffic_snapshot(metrics.registry)
    assert snapshot["requests_by_provider"] == {"groq": 4, "openai": 1}
    assert (snapshot["requests"], snapshot["errors"], snapshot["rate_limited"]) == (7, 1, 2)
    assert snapshot["tokens"] == {"input": 15, "output": 4}
    assert (snapshot["active_streams"], snapshot["active_streams_by_provider"]) == (1, {"groq": 1})
    request = dict((le, n) for le, n in snapshot["latency_buckets"]["request"])
    assert (request[0.1], request[0.25], request[None]) == (0, 1, 1)
    ttft = dict((le, n) for le, n in snapshot["latency_buckets"]["ttft"])
    assert (ttft[0.025], ttft[0.05]) == (0, 1)


def test_every_static_file_is_package_data() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["openresponses.console"]
    package = STATIC.parent
    files = [p.relative_to(package).as_posix() for p in STATIC.rglob("*") if p.is_file()]
    assert "static/index.html" in files
    for name in files:
        assert any(fnmatch.fnmatch(name, pattern) for pattern in patterns), name
    # ...and every one is of a kind the console serves.
    assert sorted("static/" + name for name in load_assets(STATIC)) == sorted(files)
