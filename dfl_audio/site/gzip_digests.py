"""What the gzip body of each page is known by, remembered between runs.

An S3 listing gives each object's size and ETag (the MD5 of its bytes); to tell whether the
stored gzip body of a page is the one this run makes, the page must be compressed, ~7 ms for
an hour-long page: seconds for a long show, on every run. The body is a function of the
page's content (:func:`dfl_audio.compression.gzip_bytes` is deterministic), so its size and
digests are remembered by the content's SHA-256 (``.dfl-audio/site-gzip.json``, not in git)
and a page is compressed again only to be stored.
"""

from __future__ import annotations

import hashlib
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dfl_audio.cache_file import load_entries, save_entries
from dfl_audio.compression import LEVEL, gzip_bytes
from dfl_audio.fsutil import sha256_bytes

FORMAT = 1
# Another zlib may compress to other bytes: its entries are not this one's.
SETTINGS = f"gzip-{LEVEL}-zlib-{zlib.ZLIB_RUNTIME_VERSION}"


@dataclass(frozen=True)
class Packed:
    """A gzip body as a listing shows it, and its SHA-256 (the storage's metadata)."""

    size: int
    md5: str
    sha256: str


class GzipDigests:
    """Content SHA-256 → the :class:`Packed` of its gzip body; ``path`` None keeps nothing."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        loaded = load_entries(path, FORMAT) if path is not None else {}
        fresh: dict[str, Any] = {"settings": SETTINGS}
        self.entries = loaded if loaded.get("settings") == SETTINGS else fresh
        self.used: set[str] = set()
        self.changed = False

    def packed(self, data: bytes, sha256: str) -> Packed:
        entry = self.entries.get(sha256)
        self.used.add(sha256)
        if isinstance(entry, list) and len(entry) == 3:
            size, md5, packed_sha256 = entry
            return Packed(int(size), str(md5), str(packed_sha256))
        body = gzip_bytes(data)
        found = Packed(len(body), hashlib.md5(body).hexdigest(), sha256_bytes(body))
        self.entries[sha256] = [found.size, found.md5, found.sha256]
        self.changed = True
        return found

    def save(self) -> None:
        """Keep the entries this run used (a page that changed leaves its old one behind)."""
        if self.path is None:
            return
        kept = {key: value for key, value in self.entries.items() if key in self.used}
        if not self.changed and len(kept) == len(self.entries) - 1:
            return
        self.entries = {"settings": SETTINGS, **kept}
        save_entries(self.path, FORMAT, self.entries)
        self.changed = False
