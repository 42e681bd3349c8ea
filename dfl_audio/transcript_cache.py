"""What each transcript's published forms hash to, remembered between runs
(``.dfl-audio/transcripts.json``, git-ignored, like the parsed episode files).

Every ``feed`` and ``publish`` works out the keys of every episode's four transcript forms,
which means reading each transcript and writing it four ways: on a long show, most of a run
that changes nothing. The forms are a pure function of the file and a few settings, so their
SHA-256, size and MD5 (what the storage check compares) are kept here under the file's stamp
(size, mtime, inode) and those settings, with this dfl-audio's version; the bytes are made
again only when one must be stored. Losing or corrupting the file costs one slower run.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

from dfl_audio.cache_file import load_entries, save_entries

log = logging.getLogger(__name__)

FORMAT = 1  # bump when the forms written from the same file and settings change
Digests = dict[str, tuple[str, int, str]]  # suffix → SHA-256, size, MD5


def digests_of(forms: dict[str, bytes]) -> Digests:
    return {
        suffix: (hashlib.sha256(data).hexdigest(), len(data), hashlib.md5(data).hexdigest())
        for suffix, data in forms.items()
    }


class FormsCache:
    """(file, stamp, settings) → the digests of its published forms; best effort."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.entries: dict[str, Any] = load_entries(path, FORMAT)
        self.dirty = False
        self.used: set[str] = set()  # the keys this run looked up

    @staticmethod
    def key(rel: str, stamp: tuple[int, int, int], settings: tuple[object, ...]) -> str:
        return json.dumps([rel, list(stamp), [str(value) for value in settings]])

    def get(self, key: str) -> Digests | None:
        entry = self.entries.get(key)
        if not isinstance(entry, dict):
            return None
        try:
            return {suffix: (str(s), int(n), str(m)) for suffix, (s, n, m) in entry.items()}
        except (TypeError, ValueError):
            return None

    def put(self, key: str, digests: Digests) -> None:
        if self.entries.get(key) != {s: list(d) for s, d in digests.items()}:
            self.entries[key] = {suffix: list(digest) for suffix, digest in digests.items()}
            self.dirty = True

    def keep_only(self, used: set[str]) -> None:
        """Forget files no longer published this way, so the cache does not grow forever."""
        stale = set(self.entries) - used
        for key in stale:
            del self.entries[key]
        self.dirty = self.dirty or bool(stale)

    def save(self) -> None:
        if self.dirty:
            save_entries(self.path, FORMAT, self.entries)
            self.dirty = False
