"""The feed a show, its episode files and the publish state make: items with absolute URLs.

Pure: the feed a run will write and the one ``feed --check`` and ``serve`` compare against
come from this one place.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from dfl_audio.feed import render_feed
from dfl_audio.feed_memo import FeedMemo, render_inputs_digest
from dfl_audio.models.episode import Episode, shifted_episode
from dfl_audio.models.show import Show
from dfl_audio.records import FeedItem, TranscriptLink
from dfl_audio.site.urls import episode_page_url
from dfl_audio.state import PublishState


def feed_items(
    show: Show, episodes: Sequence[Episode], state: PublishState, now: datetime
) -> list[FeedItem]:
    """Due episodes that have published audio, with absolute URLs for everything stored."""
    url = public_url_maker(show)
    items = []
    for episode in episodes:
        record = state.episodes.get(episode.meta.guid)
        if record is None or not episode.is_due(now) or episode.meta.guid in state.withdrawn:
            continue
        items.append(
            FeedItem(
                episode=shifted_episode(episode, record.intro_seconds),  # chapters as heard
                audio_url=enclosure_url(show, record.audio_key),
                audio_bytes=record.audio_bytes,
                duration=record.duration,
                chapters_url=url(record.chapters_key),
                transcripts=tuple(
                    TranscriptLink(url=show.public_url + stored.key, type=stored.type)
                    for stored in record.transcripts
                ),
                image_url=url(record.artwork_key),
                page_url=episode_page_url(show, episode.slug),
            )
        )
    return items


def public_url_maker(show: Show) -> Callable[[str | None], str | None]:
    """Keys → public URLs under the show's storage base URL."""

    def make(key: str | None) -> str | None:
        return show.public_url + key if key else None

    return make


def enclosure_url(show: Show, key: str) -> str:
    """The audio URL, behind the analytics prefix (e.g. OP3) when the show uses one.

    Analytics services take the real URL without its scheme after their prefix.
    """
    real = show.public_url + key
    prefix = show.storage.analytics_prefix
    if not prefix:
        return real
    return prefix.rstrip("/") + "/" + real.split("://", 1)[1]


def last_build(items: Sequence[FeedItem], state: PublishState) -> datetime | None:
    """The newest change the inputs record: deterministic, never the wall clock."""
    stamps = [item.episode.meta.date for item in items]
    stamps += [state.episodes[item.episode.meta.guid].published_at for item in items]
    return max(stamps) if stamps else None


@dataclass(frozen=True)
class FeedParts:
    """What the feed is rendered from: its items (the site's pages show the same ones, worked
    out once a run), the show's image and the build date."""

    items: list[FeedItem]
    image_url: str
    last_build: datetime | None


def feed_parts(
    show: Show, episodes: Sequence[Episode], state: PublishState, now: datetime
) -> FeedParts:
    items = feed_items(show, episodes, state, now)
    image_url = show.public_url + (state.show_artwork_key or show.artwork)
    return FeedParts(items, image_url, last_build(items, state))


def render_parts(show: Show, parts: FeedParts, memo: FeedMemo | None = None) -> bytes:
    """The feed of ``parts``; from ``memo`` when it was rendered from exactly these before."""
    if memo is None:
        return _render_feed(show, parts)
    inputs = render_inputs_digest(show, parts.items, parts.image_url, parts.last_build)
    feed = memo.get(inputs)
    if feed is None:
        feed = _render_feed(show, parts)
        memo.keep(inputs, feed)
    return feed


def _render_feed(show: Show, parts: FeedParts) -> bytes:
    return render_feed(show, parts.items, image_url=parts.image_url, last_build=parts.last_build)


def render(
    show: Show,
    episodes: Sequence[Episode],
    state: PublishState,
    now: datetime,
    memo: FeedMemo | None = None,
) -> bytes:
    """The feed these episodes and this state produce."""
    return render_parts(show, feed_parts(show, episodes, state, now), memo)
