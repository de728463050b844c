"""The console's static files, read into memory once and served from there.

They are ~110 KB in all. Holding them means a request never opens a file: Quart's file bodies
open one in a worker thread, and a browser that drops the request meanwhile leaves that file
to the garbage collector. Every answer carries a strong ``ETag`` of the file's bytes, so a
browser revalidates (``cache-control: no-cache``, set by the blueprint) with a 304 and no body.
A name is looked up in the table, never joined to a path, so nothing outside ``static/`` can
be asked for.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import attrs

# By suffix; the console ships nothing else (pyproject's package-data lists the same kinds).
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
}


@attrs.frozen
class Asset:
    body: bytes
    content_type: str
    etag: str  # quoted, as it goes on the wire

    def matches(self, if_none_match: str | None) -> bool:
        """Whether a request's ``If-None-Match`` names this version (or ``*``)."""
        if not if_none_match:
            return False
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in tags or self.etag in tags


def load_assets(root: Path) -> dict[str, Asset]:
    """Every file under ``root`` of a known kind, by its path relative to ``root``
    (``js/main.js``). Other files (an editor's swap file in a checkout) are not served, as an
    installed package would not ship them (``tests/console`` checks the two lists agree)."""
    assets: dict[str, Asset] = {}
    for path in sorted(root.rglob("*")):
        content_type = CONTENT_TYPES.get(path.suffix)
        if content_type is None or not path.is_file() or path.name.startswith("."):
            continue
        body = path.read_bytes()
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        assets[path.relative_to(root).as_posix()] = Asset(body, content_type, etag)
    return assets
