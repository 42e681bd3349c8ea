"""The local storage's sidecar hashes, remembered in one file between runs.

Every run lists the storage folder and needs each stored file's SHA-256 (the storage check).
The hashes live in per-file sidecars; reading thousands of them costs more than the rest of
a feed run's listing. This cache (in the repository's git-ignored ``.dfl-audio/``, never in
the storage folder, so a run that is refused leaves the storage untouched) keeps each file's
stamp (size, mtime, inode) with the hash its sidecar vouched for. An entry counts only while
the file's stamp is unchanged, exactly the rule the sidecar itself follows, so the cache can
make a hash known sooner but never wrong. Losing or corrupting it costs one slower run.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

from dfl_audio.cache_file import load_entries, save_entries

log = logging.getLogger(__name__)

Stamp = tuple[int, int, int]  # size, mtime_ns, inode
FORMAT = 1


def stamp_of(stat: os.stat_result) -> Stamp:
    return (stat.st_size, stat.st_mtime_ns, stat.st_ino)


class StampCache:
    """Key → (stamp, SHA-256) for one storage folder; best effort in both directions."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._loaded: dict[str, tuple[Stamp, str]] | None = None

    @classmethod
    def for_folder(cls, cache_dir: Path, folder: Path) -> StampCache:
        """One cache file per storage folder (its absolute path named by a hash)."""
        name = hashlib.sha256(str(folder.absolute()).encode()).hexdigest()[:16]
        return cls(cache_dir / f"storage-{name}.json")

    def entries(self) -> dict[str, tuple[Stamp, str]]:
        if self._loaded is None:
            self._loaded = self._read()
        return self._loaded

    def sha256(self, key: str, stamp: Stamp) -> str | None:
        """The hash recorded for ``key`` if the file still has ``stamp``."""
        entry = self.entries().get(key)
        return entry[1] if entry is not None and entry[0] == stamp else None

    def replace(self, fresh: dict[str, tuple[Stamp, str]]) -> None:
        """Remember exactly ``fresh`` (a whole listing), writing only when it differs."""
        if fresh == self.entries():
            return
        self._loaded = fresh
        entries = {key: [*stamp, sha256] for key, (stamp, sha256) in fresh.items()}
        save_entries(self.path, FORMAT, entries)  # unwritten: the next run reads the sidecars

    def _read(self) -> dict[str, tuple[Stamp, str]]:
        found: dict[str, tuple[Stamp, str]] = {}
        for key, entry in load_entries(self.path, FORMAT).items():
            if (
                isinstance(entry, list)
                and len(entry) == 4
                and all(isinstance(n, int) and not isinstance(n, bool) for n in entry[:3])
                and isinstance(entry[3], str)
            ):
                found[key] = ((entry[0], entry[1], entry[2]), entry[3])
        return found
