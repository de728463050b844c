"""The shipped OpenAPI document: regenerating it from the vendored spec changes nothing, it
documents every route the app serves (and nothing it does not), and it is valid OpenAPI 3.1
as far as a JSON Schema validator of its schemas can tell."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from openresponses.app import create_app
from openresponses.config import load_config
from openresponses.openapi import document_bytes
from openresponses.openapi.generate import DEFAULT_SPEC, build, render
from openresponses.server import running_gateway

DOCUMENT: dict[str, Any] = json.loads(document_bytes())
# Served, but not API: the web console's pages and files.
NOT_API = re.compile(r"^/console(/|$)|/static/")


def test_the_committed_document_is_what_the_generator_writes() -> None:
    if not DEFAULT_SPEC.exists():
        pytest.skip(f"the vendored spec is not at {DEFAULT_SPEC}")
    spec = yaml.load(DEFAULT_SPEC.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    assert render(build(spec)) == document_bytes().decode(), (
        "openapi.json is stale: run python -m openresponses.openapi.generate")


def test_the_document_is_small_and_self_contained() -> None:
    assert len(document_bytes()) < 400_000
    refs = set(re.findall(r'"(#/components/[^"]+)"', document_bytes().decode()))
    for ref in refs:
        _, _, kind, name = ref.split("/", 3)
        assert name in DOCUMENT["components"][kind], ref
    assert DOCUMENT["openapi"] == "3.1.0"


def test_every_schema_is_a_valid_json_schema() -> None:
    for schema in DOCUMENT["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)  # raises SchemaError naming the keyword


def _documented() -> set[tuple[str, str]]:
    """(method, path) of every operation, parameters written ``{}`` (names may differ)."""
    return {(method.upper(), re.sub(r"\{[^}]+\}", "{}", path))
            for path, item in DOCUMENT["paths"].items() for method in item}


def _served(rules: Any) -> set[tuple[str, str]]:
    """(method, path) of every HTTP route, parameters written ``{}``."""
    served = set()
    for rule in rules:
        path = re.sub(r"<[^>]+>", "{}", rule.rule)
        if rule.websocket or NOT_API.search(path):
            continue
        served |= {(m, path) for m in rule.methods - {"HEAD", "OPTIONS"}}
    return served


async def test_every_route_the_app_serves_is_documented(tmp_path: Path) -> None:
    config = load_config(env={"OPENRESPONSES_STORE": f"sqlite:///{tmp_path}/doc.db"},
                         path=None)
    async with running_gateway(config) as gateway:
        app = create_app(gateway)
        served = _served(app.url_map.iter_rules())
    documented = _documented()
    assert served - documented == set(), "routes missing from openapi.json"
    assert documented - served == set(), "documented operations the app does not serve"
