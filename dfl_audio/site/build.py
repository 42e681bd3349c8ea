"""The site a show, its episode files and the publish state make: every file to store.

The pages follow the feed: the episodes in it (due, published, not withdrawn), newest
first, with the URLs and chapters the feed gives them. The only files read are the
transcripts, as published (moved by the intro, as :mod:`dfl_audio.side_files` stores them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from dfl_audio.feed import newest_first
from dfl_audio.feed_build import feed_items
from dfl_audio.fsutil import sha256_bytes
from dfl_audio.models.episode import Episode
from dfl_audio.models.show import Show
from dfl_audio.records import FeedItem
from dfl_audio.site.assets import Assets, player_assets
from dfl_audio.site.listing import ListedEpisode, listed_episodes
from dfl_audio.site.page_cache import PageCache, inputs_digest
from dfl_audio.site.render import render_episode_page, render_show_page, render_sitemap
from dfl_audio.site.urls import SHOW_PAGE, SITEMAP, episode_page_key
from dfl_audio.site.views import ShowView, episode_view, show_view
from dfl_audio.state import PublishState
from dfl_audio.transcript_cues import Cue, read_cues
from dfl_audio.transcript_write import shifted_cues


@dataclass(frozen=True)
class SiteFile:
    """One file of the site: its key and bytes."""

    key: str
    data: bytes

    @property
    def sha256(self) -> str:
        return sha256_bytes(self.data)


@dataclass(frozen=True)
class Website:
    """Every file of the site, in the order they are stored: the assets the pages link, the
    episode pages, then the show page and the sitemap that link those."""

    files: tuple[SiteFile, ...]
    asset_keys: tuple[str, ...]
    episode_pages: frozenset[str]  # keys of the episode pages, for removing the others
    page_inputs: dict[str, str] = field(default_factory=dict)  # page key → inputs digest


def build_site(
    root: Path,
    show: Show,
    episodes: Sequence[Episode],
    state: PublishState,
    now: datetime,
    feed: bytes,
    cache: PageCache | None = None,
    items: Sequence[FeedItem] | None = None,
) -> Website:
    """The site that goes with ``feed`` (the one this run writes): a page for each of this
    repository's episodes in it at ``now``, and the show page and sitemap listing every item
    of it. ``root`` is the repository, for the transcripts; a page whose inputs did not
    change since the last run comes from ``cache`` instead of being rendered again.
    ``items`` are the feed's, when the caller worked them out already for the feed."""
    items = newest_first(feed_items(show, episodes, state, now) if items is None else items)
    image = show.public_url + (state.show_artwork_key or show.artwork)
    assets = player_assets()
    about = show_view(show, image)
    shared = inputs_digest(show.model_dump_json(), image, *(asset.key for asset in assets.all))
    pages, inputs = [], {}
    for item in items:
        key = episode_page_key(item.episode.slug)
        digest = inputs_digest(shared, item.model_dump_json(), _transcript_stamp(root, item, state))
        data = cache.get(key, digest) if cache is not None else None
        if data is None:
            view = episode_view(show, item, image, _cues(root, item, state))
            data = render_episode_page(about, view, assets)
            if cache is not None:
                cache.keep(key, digest, data)
        pages.append(SiteFile(key, data))
        inputs[key] = digest
    listing = inputs_digest(shared, sha256_bytes(feed))  # they list every item of the feed
    inputs |= {SHOW_PAGE: listing, SITEMAP: listing}
    return _website(assets, pages, _listing_files(about, assets, feed, listing, cache), inputs)


def _listing_files(
    about: ShowView, assets: Assets, feed: bytes, digest: str, cache: PageCache | None
) -> list[SiteFile]:
    """The show page and the sitemap: from ``cache`` while the feed and the show are the
    ones they were made from (parsing a long feed and listing it is most of a site that
    did not change), else made afresh."""
    if cache is None:
        return _listing_pages(about, assets, listed_episodes(feed))
    show_page, sitemap = cache.get(SHOW_PAGE, digest), cache.get(SITEMAP, digest)
    if show_page is not None and sitemap is not None:
        return [SiteFile(SHOW_PAGE, show_page), SiteFile(SITEMAP, sitemap)]
    files = _listing_pages(about, assets, listed_episodes(feed))
    for item in files:
        cache.keep(item.key, digest, item.data)
    return files


def render_site(
    show: Show,
    image_url: str,
    items: Sequence[FeedItem],
    cues: dict[str, list[Cue]],
    listed: Sequence[ListedEpisode],
    assets: Assets | None = None,
) -> Website:
    """Pure: the pages for these items (newest first) with their cues by slug, and the show
    page and sitemap listing ``listed``."""
    assets = assets or player_assets()
    about = show_view(show, image_url)
    views = [episode_view(show, item, image_url, cues.get(item.episode.slug, ())) for item in items]
    pages = [SiteFile(view.key, render_episode_page(about, view, assets)) for view in views]
    return _website(assets, pages, _listing_pages(about, assets, listed), {})


def _listing_pages(
    about: ShowView, assets: Assets, listed: Sequence[ListedEpisode]
) -> list[SiteFile]:
    return [
        SiteFile(SHOW_PAGE, render_show_page(about, listed, assets)),
        SiteFile(SITEMAP, render_sitemap(about, listed)),
    ]


def _website(
    assets: Assets,
    pages: Sequence[SiteFile],
    listing: Sequence[SiteFile],
    inputs: dict[str, str],
) -> Website:
    files = [SiteFile(asset.key, asset.data) for asset in assets.all]
    files += pages
    files += listing  # last: they link the pages
    return Website(
        tuple(files),
        tuple(asset.key for asset in assets.all),
        frozenset(page.key for page in pages),
        inputs,
    )


def _transcript_stamp(root: Path, item: FeedItem, state: PublishState) -> str:
    """What the page's transcript is made from: the file as it is now, and the intro."""
    rel = item.episode.meta.transcript
    if rel is None:
        return ""
    try:
        stat = (root / rel).stat()
    except OSError:
        return f"{rel}:missing"  # rendering reports it
    record = state.episodes[item.episode.meta.guid]
    timing = (record.intro_seconds, record.interview_seconds)
    return f"{rel}:{stat.st_size}:{stat.st_mtime_ns}:{timing!r}"


def _cues(root: Path, item: FeedItem, state: PublishState) -> list[Cue]:
    """The episode's transcript cues as the stored audio plays them."""
    rel = item.episode.meta.transcript
    if rel is None:
        return []
    record = state.episodes[item.episode.meta.guid]
    cues = read_cues((root / rel).read_bytes(), rel, duration=record.interview_seconds)
    return shifted_cues(cues, record.intro_seconds)  # as publish times the stored transcripts
