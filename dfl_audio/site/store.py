"""Storing the site next to the feed, with the feed's guarantees.

Pages, sitemap and assets are written before the feed that links them, only when the
storage's listing shows other bytes under their key (a run that changes nothing writes
nothing), and the page of an episode that left the feed is deleted after the feed stopped
pointing at it. Only pages of episodes this repository knows are ever deleted: another
publisher's pages in the same bucket are left alone. ``feeds/site/`` gets the same files,
for review (and ``git diff``), as ``feeds/<feed>`` gets the feed.

Where the storage keeps a ``Content-Encoding`` (S3), pages, sitemap and assets are stored
gzip-encoded (:mod:`dfl_audio.compression`): the listing is then compared with the gzip body
this run would store. A folder (and ``feeds/site/``) holds them plain.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from functools import partial
from pathlib import Path

from dfl_audio.compression import GZIP, gzip_bytes, travels_compressed
from dfl_audio.fsutil import atomic_write_bytes
from dfl_audio.models.episode import Episode
from dfl_audio.site.build import Website
from dfl_audio.site.gzip_digests import GzipDigests
from dfl_audio.site.page_cache import PageCache
from dfl_audio.site.urls import EPISODE_PAGES, slug_of_episode_file, slug_of_page
from dfl_audio.state import PublishState
from dfl_audio.storage_base import Storage
from dfl_audio.storage_check import Inventory, holds


def changed_files(
    site: Website, inventory: Inventory, storage: Storage, digests: GzipDigests | None = None
) -> list[str]:
    """Keys of the site's files the storage does not hold with these bytes (gzip-encoded
    where it stores them so); ``digests`` remembers the gzip bodies' between runs."""
    digests = digests or GzipDigests()
    changed = []
    for item in site.files:
        found = inventory.get(item.key)
        if compressed(storage, item.key):
            packed = digests.packed(item.data, item.sha256)
            held = holds(found, packed.size, packed.sha256, partial(str, packed.md5))
        else:
            held = holds(found, len(item.data), item.sha256, partial(_md5, item.data))
        if not held:
            changed.append(item.key)
    return changed


def compressed(storage: Storage, key: str) -> bool:
    """Is ``key`` stored gzip-encoded in ``storage``?"""
    return storage.keeps_content_encoding and travels_compressed(key)


def _md5(data: bytes) -> str:
    """What S3 lists as the ETag of a single-part upload (every site file is one)."""
    return hashlib.md5(data).hexdigest()


def store_site(
    storage: Storage, site: Website, inventory: Inventory, digests: GzipDigests | None = None
) -> list[str]:
    """Write what changed, in the site's order (assets, episode pages, show page, sitemap);
    returns the keys written."""
    changed = set(changed_files(site, inventory, storage, digests))
    for item in site.files:
        if item.key not in changed:
            continue
        if compressed(storage, item.key):
            storage.put_bytes(item.key, gzip_bytes(item.data), content_encoding=GZIP)
        else:
            storage.put_bytes(item.key, item.data)
    if digests is not None:
        digests.save()
    return [item.key for item in site.files if item.key in changed]


def stale_pages(site: Website, inventory: Inventory, known_slugs: Iterable[str]) -> list[str]:
    """Stored pages of episodes this repository knows (``known_slugs``) that the site no
    longer has: withdrawn, back to draft, renamed, or gone from ``episodes/``."""
    known = set(known_slugs)
    return sorted(
        key for key in inventory if slug_of_page(key) in known and key not in site.episode_pages
    )


def known_slugs(episodes: Iterable[Episode], *states: PublishState) -> set[str]:
    """Slugs of the episode files and of every record in ``states`` (a renamed or deleted
    file's record still names its old file): the pages this repository may remove."""
    slugs = {episode.slug for episode in episodes}
    for state in states:
        for record in state.episodes.values():
            slug = slug_of_episode_file(record.episode_path)
            if slug is not None:
                slugs.add(slug)
    return slugs


def delete_pages(storage: Storage, keys: Iterable[str]) -> list[str]:
    """Remove ``keys`` (after the feed was written without them); returns them."""
    deleted = []
    for key in keys:
        storage.delete(key)
        deleted.append(key)
    return deleted


def review_copy_matches(folder: Path, site: Website) -> bool:
    """Does ``feeds/site/`` hold exactly this site (``feed --check``)?"""
    for item in site.files:
        path = folder / item.key
        if not path.is_file() or path.read_bytes() != item.data:
            return False
    return True


def write_review_copy(folder: Path, site: Website, cache: PageCache | None = None) -> None:
    """``feeds/site/``: the site as stored, its old pages and assets removed (the folder is
    dfl-audio's, like the feed beside it); ``cache`` learns which inputs made each page."""
    wanted = {item.key for item in site.files}
    unchanged = cache.read_back if cache is not None else set()
    for item in site.files:
        path = folder / item.key
        if item.key in unchanged:  # read from this very copy in this run: nothing to compare
            continue
        if not path.is_file() or path.read_bytes() != item.data:
            atomic_write_bytes(path, item.data)
    for sub, suffix in ((EPISODE_PAGES, ".html"), ("assets/", "")):
        for old in _files_in(folder / sub):  # scandir: a long show has a thousand pages
            if old.name.endswith(suffix) and sub + old.name not in wanted:
                os.unlink(old.path)
    if cache is not None:
        cache.remember(site.page_inputs)


def _files_in(folder: Path) -> list[os.DirEntry[str]]:
    """The plain files directly in ``folder`` (none when it does not exist yet)."""
    try:
        with os.scandir(folder) as entries:
            return [entry for entry in entries if entry.is_file(follow_symlinks=False)]
    except FileNotFoundError:
        return []
