"""Validation of what the gateway emits against OpenAI's and Open Responses' OpenAPI specs.

Both documents live in ../shared/spec (override with OPENRESPONSES_SHARED_DIR). Each schema is
checked with jsonschema (Draft 2020-12, which OpenAPI 3.1 uses), ``$ref``s resolved inside the
document. Stream events are checked against the union member their ``type`` names in each spec.
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012


def shared_dir() -> Path:
    env = os.environ.get("OPENRESPONSES_SHARED_DIR")
    return Path(env) if env else Path(__file__).resolve().parents[1].parent / "shared"


@functools.cache
def _openai() -> dict[str, Any]:
    with open(shared_dir() / "spec" / "openai-openapi.yaml") as f:
        loaded: dict[str, Any] = yaml.load(f, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    converted: dict[str, Any] = _with_nullable(loaded)
    return converted


def _with_nullable(node: Any) -> Any:
    """OpenAI's 3.1 document still marks some schemas (chat stream chunks: ``finish_reason``,
    ``usage``, ``logprobs``) with OpenAPI 3.0's ``nullable: true``, which JSON Schema ignores;
    read it as meant: the schema or null. No Responses schema uses it."""
    if isinstance(node, list):
        return [_with_nullable(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: _with_nullable(value) for key, value in node.items()}
    if converted.get("nullable") is True:
        del converted["nullable"]
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


@functools.cache
def _open_responses() -> dict[str, Any]:
    with open(shared_dir() / "spec" / "openresponses-openapi.json") as f:
        loaded: dict[str, Any] = json.load(f)
    return loaded


URIS = {"openai": "urn:openai", "openresponses": "urn:openresponses"}


@functools.cache
def _registry() -> Registry[Any]:
    resources = [
        (URIS["openai"], Resource.from_contents(_openai(), default_specification=DRAFT202012)),
        (URIS["openresponses"],
         Resource.from_contents(_open_responses(), default_specification=DRAFT202012)),
    ]
    return Registry().with_resources(resources)


@functools.cache
def validator(spec: str, schema: str) -> Draft202012Validator:
    ref = {"$ref": f"{URIS[spec]}#/components/schemas/{schema}"}
    return Draft202012Validator(ref, registry=_registry())


def check(spec: str, schema: str, instance: Any) -> None:
    """Raise AssertionError listing every violation of ``schema`` in ``spec``."""
    errors = sorted(validator(spec, schema).iter_errors(instance), key=lambda e: list(e.path))
    if errors:
        lines = [f"{list(e.absolute_path)}: {e.message[:300]}" for e in errors[:10]]
        raise AssertionError(f"{spec}:{schema} violations:\n" + "\n".join(lines))


# OpenAI's spec types these Response keys as non-nullable, yet OpenAI itself sends them as null
# (see transcript B02: "usage":null,"user":null in response.created). Open Responses requires
# them present. So null is allowed for exactly these keys when checking against OpenAI's spec.
_OPENAI_NULLABLE_IN_PRACTICE = ("usage", "user")


def _as_openai_sends(response: dict[str, Any]) -> dict[str, Any]:
    return {k: val for k, val in response.items()
            if not (k in _OPENAI_NULLABLE_IN_PRACTICE and val is None)}


# Items relayed verbatim from an upstream (hosted-tool items such as ``web_search_call``) are
# outside Open Responses' item union (message, function_call, function_call_output, reasoning,
# compaction), and real OpenAI output uses values its own spec lacks (source type "api", see
# transcript B12). Such relayed items are checked for a type and an id only; everything the
# gateway itself builds is checked in full.
CORE_ITEM_TYPES = frozenset({"message", "function_call", "function_call_output", "reasoning"})


def _core_only(response: dict[str, Any]) -> dict[str, Any]:
    tools = response.get("tools")
    if isinstance(tools, list):
        # Likewise the echoed request tools: Open Responses' Tool union is function tools only,
        # OpenAI's lacks this gateway's own (think, brave_web_search): hosted and custom tools
        # are checked for a type only.
        assert all(isinstance(t.get("type"), str) for t in tools), tools
        response = {**response, "tools": [t for t in tools if t.get("type") == "function"]}
    output = response.get("output")
    if not isinstance(output, list):
        return response
    for item in output:
        if item.get("type") not in CORE_ITEM_TYPES:
            assert isinstance(item.get("type"), str), item
            assert isinstance(item.get("id"), str), item
    return {**response, "output": [i for i in output if i.get("type") in CORE_ITEM_TYPES]}


def check_response(response: dict[str, Any]) -> None:
    """A Response body valid for both OpenAI (``Response``) and Open Responses
    (``ResponseResource``, every key present)."""
    response = _core_only(response)
    check("openai", "Response", _as_openai_sends(response))
    check("openresponses", "ResponseResource", response)


@functools.cache
def _event_schemas(spec: str) -> dict[str, str]:
    """event type → schema name, from each spec's stream event union."""
    doc = _openai() if spec == "openai" else _open_responses()
    schemas = doc["components"]["schemas"]
    found: dict[str, str] = {}
    for name, schema in schemas.items():
        props = schema.get("properties", {})
        type_prop = props.get("type", {})
        values = type_prop.get("enum") or ([type_prop["const"]] if "const" in type_prop else [])
        if len(values) == 1 and isinstance(values[0], str) and (
            name.endswith("Event") and ("Stream" in name or name.startswith("Response")
                                        or name.startswith("Error"))
        ):
            found.setdefault(values[0], name)
    return found


def check_event(event: dict[str, Any]) -> int:
    """Validate one stream event against every spec that defines its type.

    Returns how many specs checked it; an event neither spec knows fails.
    """
    item = event.get("item")
    if isinstance(item, dict) and item.get("type") not in CORE_ITEM_TYPES:
        assert isinstance(item.get("type"), str), item
        assert isinstance(item.get("id"), str), item
        return 1  # a relayed item: see CORE_ITEM_TYPES
    if isinstance(event.get("response"), dict):
        event = {**event, "response": _core_only(event["response"])}
    checked = 0
    for spec in ("openai", "openresponses"):
        schema = _event_schemas(spec).get(event["type"])
        if schema is not None:
            instance = event
            if spec == "openai" and isinstance(event.get("response"), dict):
                instance = {**event, "response": _as_openai_sends(event["response"])}
            check(spec, schema, instance)
            checked += 1
    assert checked, f"no spec defines the event type {event['type']!r}"
    return checked


def check_stream(events: list[dict[str, Any]]) -> None:
    """Every event valid, sequence numbers 0..n-1, one terminal event at the end."""
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    for event in events:
        check_event(event)
    assert events[0]["type"] == "response.created"
    terminal = {"response.completed", "response.incomplete", "response.failed"}
    assert events[-1]["type"] in terminal
    assert sum(e["type"] in terminal for e in events) == 1
