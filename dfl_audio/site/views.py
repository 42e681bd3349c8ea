"""What the templates show: the show and its episodes as plain values, URLs made absolute.

Pure: built from the show, the feed's items (the episodes as published: chapters moved by
the intro, URLs of what was stored) and the transcript cues; no file is read here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from dfl_audio.models.show import Person, Show
from dfl_audio.notes import render_html
from dfl_audio.records import FeedItem
from dfl_audio.site import clock
from dfl_audio.site.urls import episode_page_key, episode_page_url, show_page_url
from dfl_audio.transcript_cues import Cue, short_clock

_LINK_TARGET = re.compile(r" \(https?://[^\s()]+\)")  # notes.render_text's "words (url)"
SUMMARY_CHARS = 200  # meta descriptions and link previews cut longer text around here
SUBSCRIBE_APPS = (  # show.yaml's subscribe: keys, in the order the buttons appear
    ("apple_podcasts", "Apple Podcasts"),
    ("spotify", "Spotify"),
    ("pocket_casts", "Pocket Casts"),
    ("antennapod", "AntennaPod"),
    ("overcast", "Overcast"),
)


@dataclass(frozen=True)
class AppLink:
    name: str
    url: str


@dataclass(frozen=True)
class ShowView:
    """The show as its pages present it."""

    title: str
    description: str
    summary: str
    author: str
    language: str
    url: str  # the show page
    base: str  # the storage's public URL, which the site's keys follow
    website: str  # show.yaml's link: the show's home elsewhere
    feed_url: str
    image_url: str
    guid: str
    hosts: tuple[Person, ...]
    apps: tuple[AppLink, ...]
    copyright: str | None
    license: str | None
    funding_url: str | None
    funding_text: str | None


@dataclass(frozen=True)
class ChapterView:
    start: str  # decimal seconds, for data-start
    clock: str  # M:SS, the link's text and its #t=
    title: str
    url: str | None


@dataclass(frozen=True)
class CueView:
    start: str
    end: str
    clock: str
    speaker: str | None
    text: str
    turn: bool = True  # the first cue of the speaker's turn: the page names them here only


@dataclass(frozen=True)
class EpisodeView:
    """One published episode as its page (and its entry on the show page) presents it."""

    key: str  # episodes/<slug>.html
    url: str
    title: str
    summary: str
    date_iso: str
    date_text: str
    day: str  # YYYY-MM-DD, the sitemap's lastmod
    duration: str  # decimal seconds, for data-duration
    duration_iso: str
    duration_text: str
    guests: tuple[Person, ...]
    notes_html: str  # rendered from the editor's Markdown, raw HTML escaped (notes.py)
    links: tuple[tuple[str, str], ...]
    audio_url: str
    audio_type: str
    audio_bytes: int
    size_text: str
    image_url: str
    season: int | None
    number: int | None
    episode_type: str
    chapters: tuple[ChapterView, ...]
    cues: tuple[CueView, ...]


def show_view(show: Show, image_url: str) -> ShowView:
    """The show; ``image_url`` is the public URL of its stored artwork."""
    apps = tuple(
        AppLink(name, url)
        for field, name in SUBSCRIBE_APPS
        if (url := getattr(show.subscribe, field)) is not None
    )
    return ShowView(
        title=show.title,
        description=show.description,
        summary=summary(show.description),
        author=show.author,
        language=show.language,
        url=show_page_url(show),
        base=show.public_url,
        website=show.link,
        feed_url=show.feed_url,
        image_url=image_url,
        guid=str(show.guid),
        hosts=show.hosts,
        apps=apps,
        copyright=show.copyright,
        license=show.license,
        funding_url=show.funding.url if show.funding else None,
        funding_text=show.funding.text if show.funding else None,
    )


def episode_view(
    show: Show, item: FeedItem, default_image: str, cues: Sequence[Cue] = ()
) -> EpisodeView:
    """An episode as published (``item`` from :func:`dfl_audio.feed_build.feed_items`)."""
    episode, meta = item.episode, item.episode.meta
    return EpisodeView(
        key=episode_page_key(episode.slug),
        url=episode_page_url(show, episode.slug),
        title=meta.title,
        summary=summary(episode.notes_text) or meta.title,
        date_iso=meta.date.isoformat(),
        date_text=clock.date_text(meta.date),
        day=meta.date.date().isoformat(),
        duration=clock.decimal(item.duration),
        duration_iso=clock.iso_duration(item.duration),
        duration_text=clock.duration_text(item.duration),
        guests=meta.guests,
        notes_html=render_html(episode.notes_markdown),
        links=tuple((link.title, link.url) for link in meta.links),
        audio_url=item.audio_url,
        audio_type=item.audio_type,
        audio_bytes=item.audio_bytes,
        size_text=clock.size_text(item.audio_bytes),
        image_url=item.image_url or default_image,
        season=meta.season,
        number=meta.episode,
        episode_type=meta.episode_type,
        chapters=tuple(
            ChapterView(clock.decimal(c.start), short_clock(c.start), c.title, c.url)
            for c in meta.chapters
        ),
        cues=cue_views(cues),
    )


def cue_views(cues: Sequence[Cue]) -> tuple[CueView, ...]:
    """The transcript as a script reads: the speaker named where their turn begins, not on
    every cue of it (an hour's page would otherwise repeat a name ~400 times, ~17 KB).

    >>> [v.turn for v in cue_views([Cue(0, 1, "a", "Ann"), Cue(1, 2, "b", "Ann"),
    ...     Cue(2, 3, "c", "Bo"), Cue(3, 4, "d"), Cue(4, 5, "e", "Bo")])]
    [True, False, True, True, True]
    """
    views, previous = [], None
    for cue in cues:
        text = " ".join(cue.text.split())  # a cue's line breaks are layout, not content
        start, end = clock.decimal(cue.start), clock.decimal(cue.end)
        turn = cue.speaker is None or cue.speaker != previous
        views.append(CueView(start, end, short_clock(cue.start), cue.speaker, text, turn))
        previous = cue.speaker
    return tuple(views)


def summary(text: str, limit: int = SUMMARY_CHARS) -> str:
    """The first paragraph, cut at a word before ``limit`` characters (with an ellipsis); the
    ``(https://…)`` the plain-text notes put after a link's words is left out.

    >>> summary("See the paper (https://arxiv.org/abs/1) now.\\n\\nMore.")
    'See the paper now.'
    >>> summary("alpha beta gamma", limit=12)
    'alpha beta…'
    """
    first = _LINK_TARGET.sub("", " ".join(text.strip().split("\n\n", 1)[0].split()))
    if len(first) <= limit:
        return first
    return first[:limit].rsplit(" ", 1)[0].rstrip(",;:") + "…"
