"""A run with nothing to do, told without building anything (``.dfl-audio/run.json``,
git-ignored, like the other caches).

A ``feed`` run on an unchanged show used to work out every side file's key, render the
feed and build the site, only to find all of it stored already. A complete run now records:

- a digest of everything those are made from: dfl-audio's code and templates, the show (with
  the command line's and the environment's overrides: the storage, its base URL), every
  parsed episode and whether it is due at the run's time, the stamp (size, mtime, inode) of
  every repository file they read besides the episode files (artwork, chapter images,
  transcripts), and the bytes of the publish state as the run left it;
- what they came to: every object the storage must hold for them (side files and the site:
  key, size, SHA-256, MD5), the feed's SHA-256, and the stamps of the review copy in
  ``feeds/site/``.

A later run makes every check a run makes (the catalog, the state, the storage listing, the
stored feed, each episode's audio against the listing, transcripts), then compares: the same
digest, every recorded object still held by the listing, the stored feed and ``feeds/``'s
copy of it the recorded bytes, the review copy untouched, no page of a gone episode left in
the storage. Then there is nothing to write and nothing is built. Any difference, or a record
that is missing or damaged, means a complete run, which repairs what it finds and records
afresh. The record is only ever trusted for the exact inputs it names.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from dfl_audio.cache_file import load_entries, package_digest, save_entries
from dfl_audio.episodes import Project
from dfl_audio.models.episode import Episode
from dfl_audio.models.fields import is_remote_image
from dfl_audio.models.show import Show
from dfl_audio.site.store import known_slugs
from dfl_audio.site.urls import EPISODE_PAGES, slug_of_page
from dfl_audio.state import PublishState
from dfl_audio.storage_check import Inventory, holds

FORMAT = 1
REVIEW_FOLDERS = (EPISODE_PAGES, "assets/")  # where the review copy's old files are swept


@dataclass(frozen=True)
class StoredFile:
    """An object the run made sure the storage holds: what the listing must show."""

    key: str
    size: int
    sha256: str
    md5: str | None  # None when the listing carries SHA-256s (a local folder)


@dataclass(frozen=True)
class RunOutputs:
    """What a complete run left, for :func:`remember`."""

    feed: bytes
    stored: Sequence[StoredFile]
    pages: Iterable[str]  # the site's episode pages
    review: Iterable[str]  # every file of the review copy (keys under feeds/site/)


def run_inputs(project: Project, show: Show, episodes: Sequence[Episode], now: datetime) -> str:
    """The digest of everything but the state that side files, feed and site are made from."""
    digest = hashlib.sha256(package_digest().encode())
    digest.update(b"\0" + show.model_dump_json().encode())
    for episode in episodes:
        due = b"due" if episode.is_due(now) else b"later"
        digest.update(b"\0" + episode.model_dump_json().encode() + b"\0" + due)
    for rel in sorted(_files_read(show, episodes)):
        digest.update(f"\0{rel}:{_stamp(project.root / rel)}".encode())
    return digest.hexdigest()


def _files_read(show: Show, episodes: Iterable[Episode]) -> set[str]:
    """Repository files the side files and the site are made from (besides episode files)."""
    files = {show.artwork}
    for episode in episodes:
        meta = episode.meta
        files.update(rel for rel in (meta.artwork, meta.transcript) if rel is not None)
        files.update(
            chapter.img
            for chapter in meta.chapters
            if chapter.img is not None and not is_remote_image(chapter.img)
        )
    return files


def _stamp(path: Path) -> str:
    try:
        stat = path.stat()
    except OSError:
        return "missing"
    return f"{stat.st_size}:{stat.st_mtime_ns}:{stat.st_ino}"


def fingerprint(inputs: str, state_sha256: str) -> str:
    return hashlib.sha256(f"{inputs}\0{state_sha256}".encode()).hexdigest()


def memo_path(project: Project) -> Path:
    return project.cache_dir / "run.json"


def remember(project: Project, fingerprint: str, outputs: RunOutputs) -> None:
    """After a complete run: what ``fingerprint``'s inputs came to."""
    entries = {
        "fingerprint": fingerprint,
        "feed": hashlib.sha256(outputs.feed).hexdigest(),
        "stored": [[f.key, f.size, f.sha256, f.md5] for f in outputs.stored],
        "pages": sorted(outputs.pages),
        "review": {key: _stamp(project.site_dir / key) for key in outputs.review},
        "folders": {sub: _stamp(project.site_dir / sub) for sub in REVIEW_FOLDERS},
    }
    save_entries(memo_path(project), FORMAT, entries)


def forget(project: Project) -> None:
    """Before a run writes anything: a run that dies half-way leaves no record behind."""
    with contextlib.suppress(OSError):  # a cache never stops a run
        memo_path(project).unlink()


def nothing_to_do(
    project: Project,
    fingerprint: str,
    state: PublishState,
    episodes: Sequence[Episode],
    inventory: Inventory,
    stored_feed: bytes | None,
    local_feed: Path,
) -> bool:
    """Are the inputs the recorded ones, and is everything they came to still in place?"""
    entries = load_entries(memo_path(project), FORMAT)
    if not entries or entries.get("fingerprint") != fingerprint or stored_feed is None:
        return False
    try:
        return (
            hashlib.sha256(stored_feed).hexdigest() == entries["feed"]
            and _local_copy_is(local_feed, stored_feed)
            and all(_held(inventory, entry) for entry in entries["stored"])
            and _review_copy_untouched(project, entries["review"], entries["folders"])
            and not _stale_pages(inventory, set(entries["pages"]), episodes, state)
        )
    except (KeyError, TypeError, ValueError):  # a damaged record: do the complete run
        return False


def _local_copy_is(path: Path, feed: bytes) -> bool:
    try:
        return path.read_bytes() == feed
    except OSError:
        return False


def _held(inventory: Inventory, entry: list[Any]) -> bool:
    key, size, sha256, md5 = entry
    if not isinstance(key, str) or not isinstance(size, int) or not isinstance(sha256, str):
        raise ValueError(key)

    def recorded_md5() -> str:
        return md5 if isinstance(md5, str) else ""  # unknown: never equal to an ETag

    return holds(inventory.get(key), size, sha256, recorded_md5)


def _review_copy_untouched(
    project: Project, review: dict[str, str], folders: dict[str, str]
) -> bool:
    """Every file as written (stamps), and no file added or removed (the folders' stamps)."""
    if any(_stamp(project.site_dir / sub) != stamp for sub, stamp in folders.items()):
        return False
    return all(_stamp(project.site_dir / key) == stamp for key, stamp in review.items())


def _stale_pages(
    inventory: Inventory, pages: set[str], episodes: Sequence[Episode], state: PublishState
) -> bool:
    """A stored page of an episode this repository knows that the site no longer has."""
    known = known_slugs(episodes, state)
    return any(
        key.startswith(EPISODE_PAGES) and slug_of_page(key) in known and key not in pages
        for key in inventory
    )


def stored_files(
    items: Iterable[tuple[str, int, str, Any]], inventory: Inventory
) -> list[StoredFile]:
    """``(key, size, sha256, md5)`` as :class:`StoredFile`; ``md5`` is a callable, called
    only when the listing does not carry SHA-256s (S3 compares ETags)."""
    files = []
    for key, size, sha256, md5 in items:
        found = inventory.get(key)
        needs_md5 = found is None or found.sha256 is None
        files.append(StoredFile(key, size, sha256, md5() if needs_md5 else None))
    return files
