"""Parsed episode files, remembered between runs (``.dfl-audio/episodes.json``, not in git).

A show with years of episodes should not re-parse YAML and re-render Markdown for a thousand
unchanged files every time one is edited. An entry is used only while the file's size,
modification time and inode are the ones it was parsed from, and only by the same version
of dfl-audio; files with problems are never cached, so every problem is always reported.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from dfl_audio.cache_file import load_entries, save_entries
from dfl_audio.episodes import Parsed, Project, read_episode
from dfl_audio.models.episode import Episode
from dfl_audio.stamp_cache import Stamp, stamp_of
from dfl_audio.yamlfile import LineMap

log = logging.getLogger(__name__)

FORMAT = 2  # 2: plain-text notes leave raw HTML out, so earlier parses are stale
Fingerprint = Stamp  # size, mtime, inode


def fingerprint(path: Path) -> Fingerprint:
    """What must stay the same for a cached parse to still describe the file."""
    return stamp_of(path.stat())


class EpisodeCache:
    """Episode file → its parse, for files that parsed without problems."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.entries: dict[str, Any] = load_entries(path, FORMAT)
        self.dirty = False

    def read(self, project: Project, path: Path) -> Parsed[Episode]:
        """The file's parse: from the cache when the file is unchanged, else read afresh."""
        try:
            key = fingerprint(path)
        except OSError:
            return read_episode(project, path)  # reports the missing or unreadable file
        rel = project.rel(path)
        cached = self._get(rel, key)
        if cached is not None:
            return cached
        parsed = read_episode(project, path)
        if parsed.item is not None and not parsed.problems:
            self._put(parsed, key)
        return parsed

    def save(self) -> None:
        """Write the cache if it changed; a cache that cannot be written is only slower."""
        if self.dirty:
            save_entries(self.path, FORMAT, self.entries)

    def _get(self, rel: str, key: Fingerprint) -> Parsed[Episode] | None:
        entry = self.entries.get(rel)
        if entry is None or tuple(entry["fingerprint"]) != key:
            return None
        try:
            episode = Episode.model_validate(entry["episode"])
        except ValidationError:
            return None
        lines = LineMap({tuple(loc): line for loc, line in entry["lines"]})
        return Parsed(rel, episode, [], lines)

    def _put(self, parsed: Parsed[Episode], key: Fingerprint) -> None:
        assert parsed.item is not None
        self.entries[parsed.rel] = {
            "fingerprint": list(key),
            "episode": parsed.item.model_dump(mode="json"),
            "lines": [[list(loc), line] for loc, line in parsed.lines.lines.items()],
        }
        self.dirty = True


def cache_for(project: Project) -> EpisodeCache:
    """The project's cache of parsed episode files."""
    return EpisodeCache(project.cache_dir / "episodes.json")
