"""The JSON files under ``.dfl-audio/``: caches that make a run faster and never stop one.

Each holds ``{"format", "version", "entries"}``. An entry counts only for the same cache format
and the same dfl-audio version; a file that is missing, corrupt, of another format, or cannot
be written (a read-only checkout, a file where the folder should be) only makes the run slower.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from dfl_audio import __version__
from dfl_audio.errors import FileAccessError
from dfl_audio.fsutil import atomic_write_bytes

log = logging.getLogger(__name__)

CACHE_DIR = ".dfl-audio"  # in the repository, git-ignored


def load_entries(path: Path, fmt: int) -> dict[str, Any]:
    """The cache's entries, or none when it cannot be trusted."""
    try:
        document = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return {}
    if not isinstance(document, dict):
        return {}
    if document.get("format") != fmt or document.get("version") != __version__:
        return {}
    entries = document.get("entries")
    return entries if isinstance(entries, dict) else {}


def save_entries(path: Path, fmt: int, entries: dict[str, Any]) -> None:
    """Write the cache atomically; best effort."""
    document = {"format": fmt, "version": __version__, "entries": entries}
    try:
        atomic_write_bytes(path, json.dumps(document, separators=(",", ":")).encode())
    except (OSError, FileAccessError) as exc:
        log.debug("cannot write %s: %s", path, exc)


@functools.cache
def package_digest() -> str:
    """dfl-audio's own code, templates and assets: a cache of anything rendered from them is
    stale after any change, even one that kept the version number (a checkout, an edit)."""
    digest = hashlib.sha256(__version__.encode())
    for path in _package_files(resources.files("dfl_audio")):
        digest.update(b"\0" + path.encode() + b"\0")
        digest.update(resources.files("dfl_audio").joinpath(path).read_bytes())
    return digest.hexdigest()


def _package_files(folder: Traversable, prefix: str = "") -> list[str]:
    """Every file of the package but compiled bytecode, by path, sorted."""
    found: list[str] = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.is_dir():
            if entry.name != "__pycache__":
                found += _package_files(entry, f"{prefix}{entry.name}/")
        elif not entry.name.endswith((".pyc", ".pyo")):
            found.append(prefix + entry.name)
    return found
