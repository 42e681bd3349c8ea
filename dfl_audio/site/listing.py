"""The show page's list of episodes, read from the feed it goes with.

Two clones may publish to one bucket (the feed keeps the other's items, see
:func:`dfl_audio.feed.merge_foreign_items`); the show page must then list every episode the
feed has, and both clones must write the same page, or each run would rewrite it. So the list
comes from the feed's own items, not from this clone's files: title, date, duration, the
description's first paragraph, and the episode page named by the audio's content key
(``audio/<slug>-<hash>.mp3`` → ``episodes/<slug>.html``), which every clone agrees on.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from lxml import etree

from dfl_audio.feed import check_feed
from dfl_audio.site import clock
from dfl_audio.site.urls import episode_page_key
from dfl_audio.site.views import summary

ITUNES = "{http://www.itunes.com/dtds/podcast-1.0.dtd}"
_AUDIO_KEY = re.compile(r"/audio/(?P<slug>[a-z0-9]+(?:-[a-z0-9]+)*)-[0-9a-f]{12}\.mp3$")


@dataclass(frozen=True)
class ListedEpisode:
    """One entry of the show page's list (and of the sitemap)."""

    key: str | None  # its page, episodes/<slug>.html (None: not one of dfl-audio's)
    link: str  # where the entry links when it has no page here: the item's <link>
    title: str
    date_iso: str
    date_text: str
    day: str
    duration_iso: str
    duration_text: str
    summary: str


def listed_episodes(feed: bytes) -> list[ListedEpisode]:
    """The feed's items in its order (newest first), as the show page lists them."""
    channel = check_feed(feed)
    return [_listed(item) for item in channel.iterfind("item")]


def _listed(item: etree._Element) -> ListedEpisode:
    title = item.findtext("title") or ""
    enclosure = item.find("enclosure")
    found = _AUDIO_KEY.search(enclosure.get("url", "") if enclosure is not None else "")
    try:
        date = parsedate_to_datetime(item.findtext("pubDate") or "")
    except (TypeError, ValueError):
        date = None
    seconds = _seconds(item.findtext(f"{ITUNES}duration"))
    return ListedEpisode(
        key=episode_page_key(found["slug"]) if found else None,
        link=(item.findtext("link") or "").strip(),
        title=title,
        date_iso=date.isoformat() if date else "",
        date_text=clock.date_text(date) if date else "",
        day=date.date().isoformat() if date else "",
        duration_iso=clock.iso_duration(seconds) if seconds is not None else "",
        duration_text=clock.duration_text(seconds) if seconds is not None else "",
        summary=summary(item.findtext("description") or "") or title,
    )


def _seconds(text: str | None) -> float | None:
    """``itunes:duration`` as seconds (plain seconds, or [HH:]MM:SS from other publishers)."""
    try:
        seconds = 0.0
        for part in (text or "").strip().split(":"):
            seconds = seconds * 60 + float(part)
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None
