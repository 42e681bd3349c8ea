"""Episode pages remembered between runs, so regenerating the feed of a long show does not
re-parse every transcript and re-render every page (``.dfl-audio/site.json``, not in git).

The review copy in ``feeds/site/`` holds the bytes of every page last written; this index
records, per page, a digest of everything the page was made from (the feed item, the
transcript file's size and mtime, the show, the assets, dfl-audio's site code and templates)
and the copy's size and mtime. A page whose inputs digest the same and whose copy is untouched
is read back from the copy instead of rendered; anything else is rendered afresh.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from importlib import resources
from pathlib import Path
from typing import Any

from dfl_audio.cache_file import load_entries, save_entries
from dfl_audio.episodes import Project
from dfl_audio.site.gzip_digests import GzipDigests

log = logging.getLogger(__name__)

FORMAT = 2  # 2: the common cache document (dfl_audio.cache_file)


@functools.cache
def code_digest() -> str:
    """The site's code and templates: a change to either renders every page afresh."""
    digest = hashlib.sha256()
    package = resources.files("dfl_audio.site")
    for folder in (package, package.joinpath("templates")):
        for entry in sorted(folder.iterdir(), key=lambda e: e.name):
            if entry.is_file() and entry.name.endswith((".py", ".html", ".xml")):
                digest.update(entry.name.encode() + b"\0" + entry.read_bytes())
    return digest.hexdigest()


def inputs_digest(*parts: str) -> str:
    digest = hashlib.sha256(code_digest().encode())
    for part in parts:
        digest.update(b"\0" + part.encode())
    return digest.hexdigest()


def page_cache(project: Project) -> PageCache:
    """The cache of this repository's episode pages."""
    return PageCache(project.cache_dir / "site.json", project.site_dir)


class PageCache:
    """Page key → the bytes made from these inputs last time, when still in the review copy."""

    def __init__(self, index: Path, copies: Path) -> None:
        self.index = index
        self.copies = copies
        self.entries: dict[str, Any] = load_entries(index, FORMAT)
        self.fresh: dict[tuple[str, str], bytes] = {}  # rendered by this run
        self.read_back: set[str] = set()  # pages whose review copy is already these bytes
        self.gzip = GzipDigests(index.with_name("site-gzip.json"))  # where S3 stores them so

    def keep(self, key: str, digest: str, data: bytes) -> None:
        """A page this run rendered: a second build in the same run (after encoding) reuses it."""
        self.fresh[key, digest] = data

    def get(self, key: str, digest: str) -> bytes | None:
        if (key, digest) in self.fresh:
            return self.fresh[key, digest]
        entry = self.entries.get(key)
        if not isinstance(entry, dict) or entry.get("inputs") != digest:
            return None
        path = self.copies / key
        try:
            stat = path.stat()
            if [stat.st_size, stat.st_mtime_ns] != entry.get("stamp"):
                return None
            data = path.read_bytes()
        except OSError:
            return None
        self.read_back.add(key)
        return data

    def remember(self, files: dict[str, str]) -> None:
        """After the review copy was written: ``files`` maps each page key to its inputs."""
        entries = {}
        for key, digest in files.items():
            try:
                stat = (self.copies / key).stat()
            except OSError:
                continue
            entries[key] = {"inputs": digest, "stamp": [stat.st_size, stat.st_mtime_ns]}
        if entries == self.entries:
            return
        self.entries = entries
        save_entries(self.index, FORMAT, entries)
