"""The feedgen extension that writes the ``itunes:`` and ``podcast:`` elements.

feedgen 1.0's own podcast extension refuses ``itunes:explicit`` ``true``/``false`` (Apple's
current values) and silently drops artwork URLs that do not end in ``.jpg``/``.png``, and it
knows nothing of Podcasting 2.0. So the fields live here instead, as two ordered tables
(:data:`CHANNEL_TAGS`, :data:`ITEM_TAGS`) of small functions that turn the models into
:class:`Tag` values; the extension classes only append those tags to the elements feedgen
builds. This module never sees feedgen's core API, only its extension hooks.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from feedgen.ext.base import BaseEntryExtension, BaseExtension
from lxml import etree

from dfl_audio.errors import FeedError
from dfl_audio.mediatypes import CAPTION_TYPES, CHAPTERS_TYPE
from dfl_audio.mediatypes import transcript_type as type_of_transcript
from dfl_audio.models.show import Person, Show
from dfl_audio.records import FeedItem, TranscriptLink

ITUNES_NS = "http://www.itunes.com/dtds/podcast-1.0.dtd"
PODCAST_NS = "https://podcastindex.org/namespace/1.0"
ATOM_NS = "http://www.w3.org/2005/Atom"
CONTENT_NS = "http://purl.org/rss/1.0/modules/content/"
# Every prefix a dfl-audio feed uses, exactly as STANDARDS.md spells the URIs.
NAMESPACES: dict[str, str] = {
    "itunes": ITUNES_NS,
    "podcast": PODCAST_NS,
    "atom": ATOM_NS,
    "content": CONTENT_NS,
}

EXTENSION_NAME = "dfl"  # the attribute feedgen sets on the generator and on each entry


@dataclass(frozen=True)
class Tag:
    """One element to emit: ``prefix:name``, optional text, attributes, and children."""

    name: str
    text: str | None = None
    attrs: tuple[tuple[str, str], ...] = ()
    children: tuple[Tag, ...] = ()


def qualified(name: str) -> str:
    """Clark notation for a prefixed name, from the one namespace table.

    >>> qualified("podcast:guid")
    '{https://podcastindex.org/namespace/1.0}guid'
    """
    prefix, local = name.split(":", 1)
    return f"{{{NAMESPACES[prefix]}}}{local}"


def append_tags(parent: etree._Element, tags: Iterable[Tag]) -> None:
    """Append ``tags`` (and their children) under an lxml element."""
    for tag in tags:
        element = etree.SubElement(parent, qualified(tag.name), dict(tag.attrs))
        element.text = tag.text
        append_tags(element, tag.children)


def _attrs(**values: str | None) -> tuple[tuple[str, str], ...]:
    """Attribute pairs in the given order, leaving out the ones that are not set."""
    return tuple((key, value) for key, value in values.items() if value is not None)


def true_false(value: bool) -> str:
    """Apple's ``itunes:explicit`` spelling.

    >>> true_false(True), true_false(False)
    ('true', 'false')
    """
    return "true" if value else "false"


def whole_seconds(duration: float) -> int:
    """``itunes:duration`` in whole seconds, rounding halves up (not to even).

    >>> whole_seconds(59.5), whole_seconds(60.49), whole_seconds(0.2)
    (60, 60, 0)
    """
    return math.floor(duration + 0.5)


def transcript_type(link: TranscriptLink) -> str:
    """The declared transcript type, else the one its URL's extension implies."""
    if link.type:
        return link.type
    kind = type_of_transcript(urlsplit(link.url).path)
    if kind is None:
        raise FeedError(f"cannot tell the type of transcript {link.url}; set its type")
    return kind


def person(who: Person, role: str) -> Tag:
    """``podcast:person``; ``href``/``img`` only when known."""
    return Tag("podcast:person", who.name, (("role", role), *_attrs(href=who.href, img=who.img)))


ChannelField = Callable[[Show, str], Iterable[Tag]]
ItemField = Callable[[Show, FeedItem], Iterable[Tag]]


def channel_text(name: str, value: Callable[[Show], str | None]) -> ChannelField:
    """A table row for a text-only channel element, left out when the value is None."""

    def tags(show: Show, _image_url: str) -> Iterable[Tag]:
        text = value(show)
        return () if text is None else (Tag(name, text),)

    return tags


def item_text(name: str, value: Callable[[FeedItem], object | None]) -> ItemField:
    """A table row for a text-only item element, left out when the value is None."""

    def tags(_show: Show, item: FeedItem) -> Iterable[Tag]:
        text = value(item)
        return () if text is None else (Tag(name, str(text)),)

    return tags


def _channel_image(_show: Show, image_url: str) -> Iterable[Tag]:
    return (Tag("itunes:image", attrs=(("href", image_url),)),)


def _channel_category(show: Show, _image_url: str) -> Iterable[Tag]:
    sub = (
        ()
        if show.subcategory is None
        else (Tag("itunes:category", attrs=_attrs(text=show.subcategory)),)
    )
    return (Tag("itunes:category", attrs=_attrs(text=show.category), children=sub),)


def _channel_owner(show: Show, _image_url: str) -> Iterable[Tag]:
    owner = (Tag("itunes:name", show.owner.name), Tag("itunes:email", show.owner.email))
    return (Tag("itunes:owner", children=owner),)


def _channel_locked(show: Show, _image_url: str) -> Iterable[Tag]:
    state = "yes" if show.locked else "no"
    return (Tag("podcast:locked", state, _attrs(owner=show.owner.email)),)


def _channel_hosts(show: Show, _image_url: str) -> Iterable[Tag]:
    return tuple(person(host, "host") for host in show.hosts)


def yes_when(name: str, value: Callable[[Show], bool]) -> ChannelField:
    """A table row for Apple's ``yes``-only flags (``itunes:block``, ``itunes:complete``):
    any other value means no, so the element is left out when the flag is off. [Apple's
    guide to RSS, archived in podcast-namespace ``itunes_reference.md``, as STANDARDS.md cites]
    """

    def tags(show: Show, _image_url: str) -> Iterable[Tag]:
        return (Tag(name, "yes"),) if value(show) else ()

    return tags


def _channel_hub(show: Show, _image_url: str) -> Iterable[Tag]:
    """WebSub discovery: ``<atom:link rel="hub">`` names the hub pinged after each change.

    Beside the PSP-1 ``atom:link rel="self"`` STANDARDS.md requires; the hub URL is checked
    like every URL (https, http only on loopback). [W3C WebSub §4; :mod:`dfl_audio.websub`]
    """
    if show.websub_hub is None:
        return ()
    return (Tag("atom:link", attrs=_attrs(href=show.websub_hub, rel="hub")),)


def _channel_txt(show: Show, _image_url: str) -> Iterable[Tag]:
    """``podcast:txt``, e.g. ``purpose="applepodcastsverify"`` (Apple's ownership check).

    [podcast-namespace ``docs/tags/txt.md``, the Podcasting 2.0 source STANDARDS.md cites]
    """
    return tuple(Tag("podcast:txt", txt.text, _attrs(purpose=txt.purpose)) for txt in show.txt)


def _channel_update_frequency(show: Show, _image_url: str) -> Iterable[Tag]:
    """``podcast:updateFrequency``: text for people, RFC 5545 ``rrule`` for software;
    ``complete="true"`` only when set. [podcast-namespace ``docs/tags/update-frequency.md``]
    """
    frequency = show.update_frequency
    if frequency is None:
        return ()
    complete = "true" if frequency.complete else None
    attrs = _attrs(complete=complete, rrule=frequency.rrule)
    return (Tag("podcast:updateFrequency", frequency.text, attrs),)


def _channel_funding(show: Show, _image_url: str) -> Iterable[Tag]:
    if show.funding is None:
        return ()
    return (Tag("podcast:funding", show.funding.text, _attrs(url=show.funding.url)),)


# Channel elements after feedgen's RSS core, in output order.
CHANNEL_TAGS: tuple[ChannelField, ...] = (
    _channel_image,
    _channel_category,
    channel_text("itunes:explicit", lambda show: true_false(show.explicit)),
    channel_text("itunes:author", lambda show: show.author),
    _channel_owner,
    channel_text("itunes:type", lambda show: show.type),
    # STANDARDS.md: "Migration: itunes:new-feed-url in the new feed"; podcast:guid is kept.
    channel_text("itunes:new-feed-url", lambda show: show.new_feed_url),
    yes_when("itunes:block", lambda show: show.block),
    yes_when("itunes:complete", lambda show: show.complete),
    _channel_hub,
    channel_text("podcast:guid", lambda show: str(show.guid)),
    _channel_locked,
    _channel_hosts,
    _channel_funding,
    channel_text("podcast:license", lambda show: show.license),
    channel_text("podcast:medium", lambda _show: "podcast"),
    _channel_txt,
    _channel_update_frequency,
)


def _item_image(_show: Show, item: FeedItem) -> Iterable[Tag]:
    if item.image_url is None:
        return ()
    return (Tag("itunes:image", attrs=(("href", item.image_url),)),)


def _item_people(show: Show, item: FeedItem) -> Iterable[Tag]:
    """Item persons replace the channel's, so the hosts are restated before the guests."""
    hosts = (person(host, "host") for host in show.hosts)
    guests = (person(guest, "guest") for guest in item.episode.meta.guests)
    return (*hosts, *guests)


def _item_transcripts(show: Show, item: FeedItem) -> Iterable[Tag]:
    """One ``podcast:transcript`` per format; time-coded captions say so (rel="captions")."""
    tags = []
    for link in item.transcripts:
        kind = transcript_type(link)
        rel = "captions" if kind in CAPTION_TYPES else None
        attrs = _attrs(url=link.url, type=kind, language=show.language, rel=rel)
        tags.append(Tag("podcast:transcript", attrs=attrs))
    return tags


def _item_chapters(_show: Show, item: FeedItem) -> Iterable[Tag]:
    if item.chapters_url is None:
        return ()
    return (Tag("podcast:chapters", attrs=_attrs(url=item.chapters_url, type=CHAPTERS_TYPE)),)


# Item elements after feedgen's RSS core (title … pubDate), in output order.
ITEM_TAGS: tuple[ItemField, ...] = (
    item_text("itunes:duration", lambda item: whole_seconds(item.duration)),
    item_text("itunes:episode", lambda item: item.episode.meta.episode),
    item_text("itunes:season", lambda item: item.episode.meta.season),
    item_text("itunes:episodeType", lambda item: item.episode.meta.episode_type),
    item_text("itunes:explicit", lambda item: true_false(item.episode.meta.explicit)),
    item_text("itunes:block", lambda item: "yes" if item.episode.meta.block else None),
    _item_image,
    _item_people,
    item_text("podcast:season", lambda item: item.episode.meta.season),
    item_text("podcast:episode", lambda item: item.episode.meta.episode),
    _item_transcripts,
    _item_chapters,
)


def channel_tags(show: Show, image_url: str) -> tuple[Tag, ...]:
    """Every itunes:/podcast: element of the channel, in order."""
    return tuple(tag for field in CHANNEL_TAGS for tag in field(show, image_url))


def item_tags(show: Show, item: FeedItem) -> tuple[Tag, ...]:
    """Every itunes:/podcast: element of one item, in order."""
    return tuple(tag for field in ITEM_TAGS for tag in field(show, item))


class _Tags:
    """Holds the tags one feed or entry will emit; feedgen instantiates without arguments."""

    def __init__(self) -> None:
        self._tags: tuple[Tag, ...] = ()

    def tags(self, tags: Iterable[Tag] | None = None) -> tuple[Tag, ...]:
        """Get or set the tags, in feedgen's getter/setter style."""
        if tags is not None:
            self._tags = tuple(tags)
        return self._tags

    def extend_ns(self) -> dict[str, str]:
        return {"itunes": ITUNES_NS, "podcast": PODCAST_NS}


class PodcastExtension(_Tags, BaseExtension):  # type: ignore[misc]
    """Channel half: appends the channel tags to ``<channel>`` before the items.

    It can also drop core elements feedgen always writes: feedgen defaults
    ``lastBuildDate`` to the wall clock and offers no way to leave it out.
    """

    def __init__(self) -> None:
        super().__init__()
        self._drop: tuple[str, ...] = ()

    def drop(self, names: Iterable[str] | None = None) -> tuple[str, ...]:
        """Get or set the names of core channel elements to remove."""
        if names is not None:
            self._drop = tuple(names)
        return self._drop

    def extend_rss(self, feed: Any) -> Any:
        channel = feed.find("channel")
        for name in self._drop:
            for element in channel.findall(name):
                channel.remove(element)
        append_tags(channel, self._tags)
        return feed


class PodcastEntryExtension(_Tags, BaseEntryExtension):  # type: ignore[misc]
    """Item half: appends the item tags to one ``<item>``."""

    def extend_rss(self, entry: Any) -> Any:
        append_tags(entry, self._tags)
        return entry
