"""Builders for Show, Episode and FeedItem objects in tests.

Every builder returns a valid model with plausible defaults; keyword overrides replace
fields (``meta`` overrides go into the episode's front matter). They go through the real
pydantic validation, so a test cannot build something the loader would refuse.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from dfl_audio.models.episode import Episode, EpisodeMeta
from dfl_audio.models.show import Show
from dfl_audio.records import FeedItem

IMAGE_URL = "https://media.example.org/dfl/art/cover-3000.jpg"
MEDIA_BASE = "https://media.example.org/dfl/"
BASE_DATE = datetime(2021, 3, 4, 10, 0, tzinfo=timezone(timedelta(hours=-5)))

SHOW_MINIMAL: dict[str, Any] = {
    "title": "Depth First Learning Interviews",
    "description": "Conversations with the authors of the papers DFL studies.",
    "link": "https://www.depthfirstlearning.com/",
    "language": "en",
    "category": "Technology",
    "explicit": False,
    "author": "Depth First Learning",
    "owner": {"name": "DFL Team", "email": "podcast@depthfirstlearning.com"},
    "artwork": "episodes/art/cover.jpg",
    "hosts": [{"name": "Avital Oliver"}],
    "public_url": MEDIA_BASE,
}

SHOW_FULL: dict[str, Any] = {
    **SHOW_MINIMAL,
    "category": "Science",
    "subcategory": "Mathematics",
    "copyright": "© 2021 Depth First Learning, CC BY 4.0",
    "license": "CC-BY-4.0",
    "funding": {"url": "https://www.depthfirstlearning.com/support", "text": "Support DFL"},
    "hosts": [
        {
            "name": "Avital Oliver",
            "href": "https://www.depthfirstlearning.com/people/avital",
            "img": "https://www.depthfirstlearning.com/people/avital.jpg",
        },
        {"name": "Surya Bhupatiraju", "href": "https://www.depthfirstlearning.com/people/surya"},
    ],
    "type": "serial",
}


def _merged(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    return {**base, **overrides}


def make_show(full: bool = False, **overrides: Any) -> Show:
    """A valid show; ``full=True`` fills every optional field."""
    return Show.model_validate(_merged(SHOW_FULL if full else SHOW_MINIMAL, overrides))


def make_meta(n: int = 1, **overrides: Any) -> EpisodeMeta:
    """Front matter of episode ``n``: one week apart from BASE_DATE, GUID ``dfl-ep-<n>``."""
    base = {
        "title": f"Interview {n}",
        "date": BASE_DATE + timedelta(days=7 * (n - 1)),
        "guid": f"dfl-ep-{n:04d}",
    }
    return EpisodeMeta.model_validate(_merged(base, overrides))


def make_episode(
    n: int = 1,
    *,
    notes_text: str | None = None,
    notes_html: str | None = None,
    **meta: Any,
) -> Episode:
    """An episode with simple notes; ``meta`` keywords override the front matter."""
    text = f"Notes for interview {n}." if notes_text is None else notes_text
    html = f"<p>Notes for interview {n}.</p>" if notes_html is None else notes_html
    return Episode(
        path=f"episodes/ep-{n:04d}.md",
        slug=f"ep-{n:04d}",
        meta=make_meta(n, **meta),
        notes_markdown=text,
        notes_html=html,
        notes_text=text,
    )


def make_item(n: int = 1, *, episode: Episode | None = None, **overrides: Any) -> FeedItem:
    """A FeedItem for episode ``n`` (or the given episode) with plausible stored URLs."""
    episode = episode or make_episode(n)
    base = {
        "episode": episode,
        "audio_url": f"{MEDIA_BASE}audio/{episode.slug}-{n:08x}.mp3",
        "audio_bytes": 1_000_000 + n * 4_321,
        "audio_type": "audio/mpeg",
        "duration": 1800.0 + n * 1.25,
        "page_url": f"{MEDIA_BASE}episodes/{episode.slug}.html",  # as feed_items makes it
    }
    return FeedItem.model_validate(_merged(base, overrides))


def make_full_item(n: int = 1, **meta: Any) -> FeedItem:
    """An item using every optional feed field: guests, numbers, art, chapters, transcript."""
    episode = make_episode(
        n,
        season=1,
        episode=n,
        explicit=True,
        guests=[
            {"name": "Guest Speaker", "href": "https://example.org/guest"},
            {"name": "Zoë Ångström"},
        ],
        **meta,
    )
    return make_item(
        n,
        episode=episode,
        chapters_url=f"{MEDIA_BASE}chapters/{episode.slug}.chapters.json",
        transcripts=[
            {"url": f"{MEDIA_BASE}transcripts/{episode.slug}.vtt"},
            {"url": f"{MEDIA_BASE}transcripts/{episode.slug}.json"},
        ],
        image_url=f"{MEDIA_BASE}art/{episode.slug}.png",
    )


def make_items(count: int, *, full: bool = False) -> list[FeedItem]:
    """``count`` items numbered from 1, one week apart, oldest first."""
    build = make_full_item if full else make_item
    return [build(n) for n in range(1, count + 1)]


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    """A UTC datetime, for last_build arguments."""
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
