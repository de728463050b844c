"""Writes ``openapi.json``: the gateway's OpenAPI 3.1 document, derived from OpenAI's spec.

Run it after the vendored spec changes (needs PyYAML, a dev dependency)::

    python -m openresponses.openapi.generate [../shared/spec/openai-openapi.yaml]

It takes the operations the gateway serves from OpenAI's ``openapi.yaml`` (paths under
``/v1``), keeps only the component schemas they reach, and drops the prose (descriptions,
titles, examples, ``x-*`` extensions) so the shipped file stays small and loads fast; then adds
the gateway's own routes (``gateway_paths``), the ``x-request-id`` header every route accepts,
and the error envelope every route may answer with. The gateway serves the result at
``GET /openapi.json`` and never reads the vendored spec at run time. A test regenerates the
document and compares it with the committed one.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from openresponses.openapi.gateway_paths import (
    ERROR_RESPONSE,
    GATEWAY_PATHS,
    GATEWAY_SCHEMAS,
    REQUEST_ID,
)

REPO = Path(__file__).resolve().parents[2]
DEFAULT_SPEC = REPO.parent / "shared" / "spec" / "openai-openapi.yaml"
OUTPUT = Path(__file__).with_name("openapi.json")

# OpenAI path → the methods of it the gateway serves (``/v1`` is prefixed).
SERVED: dict[str, tuple[str, ...]] = {
    "/responses": ("post",),
    "/responses/{response_id}": ("get", "delete"),
    "/responses/{response_id}/cancel": ("post",),
    "/responses/{response_id}/input_items": ("get",),
    "/responses/compact": ("post",),
    "/responses/input_tokens": ("post",),
    "/chat/completions": ("get", "post"),
    "/chat/completions/{completion_id}": ("get", "post", "delete"),
    "/chat/completions/{completion_id}/messages": ("get",),
    "/models": ("get",),
    "/models/{model}": ("get",),
    "/conversations": ("post",),
    "/conversations/{conversation_id}": ("get", "post", "delete"),
    "/conversations/{conversation_id}/items": ("get", "post"),
    "/conversations/{conversation_id}/items/{item_id}": ("get", "delete"),
}
_OPERATION_KEYS = ("operationId", "tags", "summary", "parameters", "requestBody", "responses")
_PROSE = frozenset({"description", "title", "example", "examples", "externalDocs",
                    "deprecated", "summary"})
# Maps whose keys are names chosen by the spec's authors, not keywords: never pruned.
_NAMED = frozenset({"properties", "patternProperties", "$defs", "mapping", "content",
                    "responses", "headers"})


def build(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The gateway's document from OpenAI's parsed spec."""
    paths: dict[str, Any] = {}
    for path, methods in SERVED.items():
        item = spec["paths"][path]
        paths[f"/v1{path}"] = {method: _operation(item[method]) for method in methods}
    for path, item in GATEWAY_PATHS.items():
        paths[path] = {**paths.get(path, {}), **item}
    components = _reachable(spec, [paths, GATEWAY_SCHEMAS, ERROR_RESPONSE])
    components["schemas"].update(GATEWAY_SCHEMAS)
    components["parameters"] = {"RequestId": REQUEST_ID}
    components["responses"] = {**components.get("responses", {}), "Error": ERROR_RESPONSE}
    components["securitySchemes"] = spec["components"]["securitySchemes"]
    return {
        "openapi": "3.1.0",
        "info": {"title": "OpenResponses", "version": spec["info"]["version"],
                 "description": "An OpenAI-compatible gateway for every provider. Schemas from "
                                "OpenAI's OpenAPI document (MIT, openai/openai-openapi), "
                                "trimmed to the operations served here.",
                 "license": {"name": "Apache-2.0"}},
        "servers": [{"url": "/"}],
        "security": [{"ApiKeyAuth": []}],
        "paths": paths,
        "components": _sorted(components),
    }


def _operation(operation: Mapping[str, Any]) -> dict[str, Any]:
    """One OpenAI operation, without prose, with the gateway's header and error answers."""
    kept = {k: operation[k] for k in _OPERATION_KEYS if k in operation}
    op: dict[str, Any] = _pruned(kept)
    op["summary"] = _first_line(operation.get("summary", ""))
    op["parameters"] = [*op.get("parameters", []), {"$ref": "#/components/parameters/RequestId"}]
    op["responses"] = {**op["responses"], "default": {"$ref": "#/components/responses/Error"}}
    for response in op["responses"].values():
        if "$ref" not in response:
            response.setdefault("description", "")
    return op


def _first_line(text: str) -> str:
    return text.strip().split("\n")[0].rstrip(".,") if text else ""


def _pruned(node: Any, named: bool = False) -> Any:
    """``node`` without prose keywords or ``x-`` extensions (names in ``_NAMED`` maps stay)."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if not named and (key in _PROSE or key.startswith("x-")):
                continue
            out[key] = _pruned(value, named=not named and key in _NAMED)
        return out
    if isinstance(node, list):
        return [_pruned(value) for value in node]
    return node


def _refs(node: Any) -> Iterable[str]:
    """Every ``$ref`` under ``node``, and the targets of discriminator mappings."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            yield ref
        mapping = node.get("mapping")
        if isinstance(mapping, dict):
            yield from (target for target in mapping.values() if isinstance(target, str))
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _reachable(spec: Mapping[str, Any], roots: list[Any]) -> dict[str, dict[str, Any]]:
    """The components ``roots`` reach through ``$ref`` (transitively), pruned."""
    components: dict[str, dict[str, Any]] = {"schemas": {}}
    pending = [ref for root in roots for ref in _refs(root)]
    seen: set[str] = set()
    while pending:
        ref = pending.pop()
        if ref in seen or not ref.startswith("#/components/"):
            continue
        seen.add(ref)
        _, _, kind, name = ref.split("/", 3)
        if kind not in spec["components"] or name not in spec["components"][kind]:
            continue  # one of ours (added by ``build``)
        target = _portable(_pruned(spec["components"][kind][name]), ref)
        if kind == "responses":
            target.setdefault("description", "")  # required in a Response Object
        components.setdefault(kind, {})[name] = target
        pending += _refs(target)
    return components


def _portable(node: Any, ref: str) -> Any:
    """``node`` (the schema at ``ref``) in the JSON Schema 2020-12 dialect OpenAPI 3.1 uses:
    draft 2019-09's ``$recursiveRef: "#"`` becomes a ``$ref`` to ``ref`` itself."""
    if isinstance(node, dict):
        return {("$ref" if key == "$recursiveRef" else key):
                (ref if key == "$recursiveRef" and value == "#" else _portable(value, ref))
                for key, value in node.items() if key != "$recursiveAnchor"}
    if isinstance(node, list):
        return [_portable(value, ref) for value in node]
    return node


def _sorted(components: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {kind: dict(sorted(entries.items())) for kind, entries in sorted(components.items())}


def render(document: dict[str, Any]) -> str:
    """The file's text (the stdlib encoder: the spec has integers past 64 bits)."""
    return json.dumps(document, indent=1, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> None:
    import yaml  # only the generator needs it

    source = Path(argv[0]) if argv else DEFAULT_SPEC
    spec = yaml.load(source.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    OUTPUT.write_text(render(build(spec)), encoding="utf-8")
    print(f"wrote {OUTPUT} ({OUTPUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main(sys.argv[1:])
