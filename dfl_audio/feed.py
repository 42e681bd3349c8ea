"""⑥ The feed: RSS 2.0 + iTunes + Podcasting 2.0 bytes from the models, and feed diffs.

Pure: no filesystem, no network, no clock. The same show and items give byte-identical
output, so a publish that changes nothing uploads nothing. feedgen builds the RSS core;
:mod:`dfl_audio.feed_ext` adds the ``itunes:``/``podcast:`` elements. lxml reads feeds back
(only feeds we wrote) to tell which episodes a new feed adds, changes or removes.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

from lxml import etree

from dfl_audio.errors import FeedError
from dfl_audio.fsutil import sha256_bytes
from dfl_audio.models.episode import Chapter
from dfl_audio.models.fields import is_remote_image
from dfl_audio.models.show import Show
from dfl_audio.notes import with_chapters_html, with_chapters_text
from dfl_audio.records import FeedItem
from dfl_audio.site.urls import show_page_url

log = logging.getLogger(__name__)

GENERATOR = "dfl-audio"  # no version: a release alone must not change the feed's bytes
CHAPTERS_VERSION = "1.2.0"
# CDATA cannot hold "]]>", and parsers turn a CR inside it into LF; escaped text keeps both.
_CDATA_UNSAFE = ("]]>", "\r")
# Reading back our own feed: no DTDs, no entities, no network.
_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    huge_tree=False,
    remove_comments=True,
    remove_blank_text=True,  # indentation is not content: digests ignore it
)


def render_feed(
    show: Show,
    items: Sequence[FeedItem],
    *,
    image_url: str,
    last_build: datetime | None = None,
) -> bytes:
    """The feed as UTF-8 bytes, newest item first.

    ``lastBuildDate`` is ``last_build`` or else the newest item's date (never the clock), and
    is left out of a feed with neither. Raises :class:`FeedError` on duplicate GUIDs or on a
    value feedgen or lxml refuses.
    """
    ordered = newest_first(items)
    _check_unique_guids(ordered)
    built = last_build or (ordered[0].episode.meta.date if ordered else None)
    try:
        generator = _channel(show, image_url, built)
        for item in ordered:
            _add_item(generator, show, item)
        xml: bytes = generator.rss_str(pretty=True, encoding="UTF-8", xml_declaration=True)
    except ValueError as error:  # feedgen's and lxml's refusals are ValueErrors
        raise FeedError(f"cannot render the feed: {error}", original=error) from error
    log.debug("rendered %s with %d items (%d bytes)", show.feed_name, len(ordered), len(xml))
    return xml


def newest_first(items: Sequence[FeedItem]) -> list[FeedItem]:
    """Items by date, newest first; equal dates by GUID so the order never depends on input."""
    return sorted(
        items, key=lambda item: (-item.episode.meta.date.timestamp(), item.episode.meta.guid)
    )


def _check_unique_guids(items: Sequence[FeedItem]) -> None:
    """Two items with one GUID would merge or flicker in every client."""
    seen: set[str] = set()
    for item in items:
        guid = item.episode.meta.guid
        if guid in seen:
            raise FeedError(f"two episodes share the GUID {guid!r}", path=item.episode.path)
        seen.add(guid)


def _channel(show: Show, image_url: str, last_build: datetime | None) -> Any:
    """The feedgen generator with the channel set and our extension registered (feedgen is
    imported here: a run whose feed comes from the run or feed memo renders nothing)."""
    from feedgen.feed import FeedGenerator

    from dfl_audio.feed_ext import (
        EXTENSION_NAME,
        PodcastEntryExtension,
        PodcastExtension,
        channel_tags,
    )

    generator = FeedGenerator()
    generator.register_extension(
        EXTENSION_NAME, PodcastExtension, PodcastEntryExtension, atom=False
    )
    generator.title(show.title)
    generator.link(href=show.feed_url, rel="self", type="application/rss+xml")
    # RSS <link> (the last link set): the show page dfl-audio publishes with the feed; the
    # show's own home (show.yaml's link) is linked from that page.
    generator.link(href=show_page_url(show), rel="alternate")
    generator.description(show.description)
    generator.language(show.language)
    if show.copyright is not None:
        generator.copyright(show.copyright)
    generator.generator(GENERATOR)
    extension = getattr(generator, EXTENSION_NAME)
    if last_build is None:
        extension.drop(["lastBuildDate"])
    else:
        generator.lastBuildDate(last_build)
    extension.tags(channel_tags(show, image_url))
    return generator


def _add_item(generator: Any, show: Show, item: FeedItem) -> None:
    """One ``<item>``: RSS core through feedgen, the rest through the extension."""
    from dfl_audio.feed_ext import EXTENSION_NAME, item_tags

    meta = item.episode.meta
    entry = generator.add_entry(order="append")
    entry.title(meta.title)
    # STANDARDS.md "Item": the interview's own page on the DFL site when the front matter
    # names one (clients fall back GUID → link), else its page on the show's website.
    entry.link(href=meta.link or item.page_url or show_page_url(show))
    chapters = meta.chapters  # as the stored audio plays them (feed_items shifts them)
    notes_text = with_chapters_text(item.episode.notes_text.strip(), chapters)
    notes_html = with_chapters_html(item.episode.notes_html.strip(), chapters).strip()
    entry.description(notes_text or meta.title)
    if notes_html:
        cdata_safe = not any(unsafe in notes_html for unsafe in _CDATA_UNSAFE)
        entry.content(notes_html, type="CDATA" if cdata_safe else None)
    entry.guid(meta.guid, permalink=False)
    entry.pubDate(meta.date)
    entry.enclosure(item.audio_url, str(item.audio_bytes), item.audio_type)
    getattr(entry, EXTENSION_NAME).tags(item_tags(show, item))


def chapters_json(
    chapters: Sequence[Chapter], image_urls: Mapping[str, str] | None = None
) -> bytes:
    """Podcasting 2.0 JSON chapters (``application/json+chapters``), ascending start times.

    A chapter's ``img`` is an https URL as written, or a repository image at the public URL
    ``image_urls`` gives it (where publish stored it); one it does not give is left out.

    >>> print(chapters_json([Chapter(start=0, title="Intro")]).decode(), end="")
    {
      "version": "1.2.0",
      "chapters": [
        {
          "startTime": 0,
          "title": "Intro"
        }
      ]
    }
    """
    urls = image_urls or {}
    ordered = sorted(chapters, key=lambda chapter: chapter.start)
    document = {"version": CHAPTERS_VERSION, "chapters": [_chapter(c, urls) for c in ordered]}
    return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def _chapter(chapter: Chapter, image_urls: Mapping[str, str]) -> dict[str, object]:
    start = int(chapter.start) if chapter.start.is_integer() else chapter.start
    entry: dict[str, object] = {"startTime": start, "title": chapter.title}
    if chapter.url is not None:
        entry["url"] = chapter.url
    if chapter.img is not None:
        img = chapter.img if is_remote_image(chapter.img) else image_urls.get(chapter.img)
        if img is not None:
            entry["img"] = img
    return entry


@dataclass(frozen=True)
class FeedEntrySummary:
    """What a diff needs to know of one item; ``digest`` covers the item's whole XML."""

    guid: str
    title: str
    enclosure_url: str
    digest: str


@dataclass(frozen=True)
class FeedDiff:
    """Items of the new feed not in the old one, in both but different, and gone."""

    added: list[FeedEntrySummary]
    changed: list[FeedEntrySummary]
    removed: list[FeedEntrySummary]


def check_feed(xml: bytes) -> etree._Element:
    """The ``<channel>`` of a feed dfl-audio could have written; FeedError says why not (not
    XML, a DOCTYPE or entities, another root, an item without a GUID)."""
    try:
        root = etree.fromstring(xml, _PARSER)
    except etree.XMLSyntaxError as error:
        raise FeedError(f"cannot parse the feed: {error}", original=error) from error
    if root.getroottree().docinfo.doctype:
        raise FeedError("the feed has a DOCTYPE; feeds dfl-audio writes never do")
    channel = root.find("channel")
    if root.tag != "rss" or channel is None:
        raise FeedError(f"not an RSS feed: the root element is <{etree.QName(root).localname}>")
    seen: set[str] = set()
    for item in channel.iterfind("item"):
        guid = (item.findtext("guid") or "").strip()
        if not guid:
            raise FeedError(f"an item has no GUID (title {item.findtext('title')!r})")
        if guid in seen:
            raise FeedError(f"the feed has two items with the GUID {guid!r}")
        seen.add(guid)
    return channel


def summarize_feed(xml: bytes) -> dict[str, FeedEntrySummary]:
    """GUID → summary for every item of a feed we wrote, in document order."""
    return dict(_summaries(xml))


@functools.lru_cache(maxsize=4)
def _summaries(xml: bytes) -> dict[str, FeedEntrySummary]:
    """Parsed once per run for the same bytes: a run that re-tags diffs the stored feed
    twice (the plan, then the feed it writes)."""
    channel = check_feed(xml)
    summaries: dict[str, FeedEntrySummary] = {}
    for element in channel.iterfind("item"):
        summary = _summarize_item(element)
        if summary.guid in summaries:
            raise FeedError(f"the feed has two items with the GUID {summary.guid!r}")
        summaries[summary.guid] = summary
    return summaries


def _summarize_item(item: etree._Element) -> FeedEntrySummary:
    guid = (item.findtext("guid") or "").strip()
    if not guid:
        raise FeedError(f"an item has no GUID (title {item.findtext('title')!r})")
    enclosure = item.find("enclosure")
    return FeedEntrySummary(
        guid=guid,
        title=item.findtext("title") or "",
        enclosure_url=enclosure.get("url", "") if enclosure is not None else "",
        digest=item_digest(item),
    )


def item_digest(item: etree._Element) -> str:
    """SHA-256 of the item's canonical XML (libxml2's C14N, in C: fast for 1,000 items).

    Canonical form makes CDATA and escaped text, attribute order and empty-element syntax
    equal, so only a real change in the item changes the digest.
    """
    return sha256_bytes(etree.tostring(item, method="c14n"))


def diff_feeds(old: bytes | None, new: bytes) -> FeedDiff:
    """What ``new`` adds, changes and removes relative to ``old`` (``None``: no old feed)."""
    if old == new:
        return FeedDiff(added=[], changed=[], removed=[])
    before = summarize_feed(old) if old is not None else {}
    after = summarize_feed(new)
    return FeedDiff(
        added=[entry for guid, entry in after.items() if guid not in before],
        changed=[
            entry
            for guid, entry in after.items()
            if guid in before and before[guid].digest != entry.digest
        ],
        removed=[entry for guid, entry in before.items() if guid not in after],
    )


def merge_foreign_items(ours: bytes, theirs: bytes | None, known_guids: set[str]) -> bytes:
    """Keep the items another publisher put in the stored feed; ours wins for our GUIDs.

    Two editors publishing from two clones must not drop each other's episodes: an item of
    the stored feed whose GUID this repository has never published (not in ``known_guids``)
    is carried into our feed, items ordered newest first by ``pubDate``. Returns ``ours``
    unchanged, byte for byte, when there is nothing foreign to keep.
    """
    if theirs is None or theirs == ours:
        return ours
    parser = etree.XMLParser(strip_cdata=False, resolve_entities=False, no_network=True)
    their_root = etree.fromstring(theirs, parser)
    candidates = [
        item
        for item in their_root.iterfind("channel/item")
        if (item.findtext("guid") or "").strip() not in known_guids
    ]
    if not candidates:
        return ours
    our_guids = set(summarize_feed(ours))
    foreign = [
        item for item in candidates if (item.findtext("guid") or "").strip() not in our_guids
    ]
    if not foreign:
        return ours
    root = etree.fromstring(ours, parser)
    channel = root.find("channel")
    assert channel is not None  # summarize_feed checked the shape
    items = [*channel.iterfind("item"), *foreign]
    for item in items:
        if item.getparent() is channel:
            channel.remove(item)
    for item in sorted(items, key=_item_sort_key):
        item.tail = "\n  "
        channel.append(item)
    _keep_latest_build_date(channel, their_root.find("channel"))
    log.info("kept %d item(s) another publisher added to the stored feed", len(foreign))
    xml: bytes = etree.tostring(root, encoding="UTF-8", xml_declaration=True, pretty_print=True)
    return xml


def _keep_latest_build_date(ours: etree._Element, theirs: etree._Element | None) -> None:
    """A merged feed was last built when the later of the two was: both clones agree."""
    mine, other = (
        ours.find("lastBuildDate"),
        theirs.find("lastBuildDate") if theirs is not None else None,
    )
    if mine is None or other is None or not other.text or not mine.text:
        return
    if parsedate_to_datetime(other.text) > parsedate_to_datetime(mine.text):
        mine.text = other.text


def _item_sort_key(item: etree._Element) -> tuple[float, str]:
    """Newest first by pubDate, then GUID, as :func:`newest_first` orders our own items."""
    try:
        stamp = parsedate_to_datetime(item.findtext("pubDate") or "").timestamp()
    except (TypeError, ValueError):
        stamp = 0.0
    return (-stamp, (item.findtext("guid") or "").strip())
