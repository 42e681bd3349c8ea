"""Our feeds as real clients read them: gPodder's podcastparser and feedparser.

Also the hypothesis round trips: any title or show notes the models accept comes back with
the exact text through lxml, and through feedparser where feedparser does not reinterpret
the text as HTML (it sanitizes descriptions and content by design).
"""

from __future__ import annotations

import io
import re
from calendar import timegm
from typing import Any

import feedparser  # type: ignore[import-untyped]
import podcastparser  # type: ignore[import-untyped]
import pytest
from feed_factory import (
    IMAGE_URL,
    make_episode,
    make_full_item,
    make_item,
    make_items,
    make_meta,
    make_show,
)
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from lxml import etree
from pydantic import ValidationError

from dfl_audio.feed import render_feed
from dfl_audio.feed_ext import whole_seconds
from dfl_audio.models.episode import EpisodeMeta
from dfl_audio.models.show import Show
from dfl_audio.records import FeedItem

CONTENT = "{http://purl.org/rss/1.0/modules/content/}encoded"


def sample() -> tuple[Show, list[FeedItem], bytes]:
    """Four episodes with and without the optional fields, plus awkward text."""
    show = make_show(full=True)
    items = [
        make_full_item(1),
        make_item(2, duration=59.5),
        make_full_item(3, title="Attention & <Transformers> — “quoted” 🤖"),
        make_item(4, audio_bytes=123_456_789, duration=7322.4),
    ]
    return show, items, render_feed(show, items, image_url=IMAGE_URL)


def newest_first(items: list[FeedItem]) -> list[FeedItem]:
    return sorted(items, key=lambda item: item.episode.meta.date, reverse=True)


def test_podcastparser_reads_every_episode() -> None:
    show, items, xml = sample()
    parsed = podcastparser.parse(show.feed_url, io.BytesIO(xml))
    # podcastparser re-sorts by date itself: oldest first for a serial show like this one.
    episodes = {episode["guid"]: episode for episode in parsed["episodes"]}
    assert sorted(episodes) == sorted(item.episode.meta.guid for item in items)
    for item in items:
        episode = episodes[item.episode.meta.guid]
        meta = item.episode.meta
        assert episode["guid"] == meta.guid
        assert episode["title"] == meta.title
        assert episode["published"] == int(meta.date.timestamp())
        assert episode["total_time"] == whole_seconds(item.duration)
        assert episode["enclosures"] == [
            {"url": item.audio_url, "file_size": item.audio_bytes, "mime_type": "audio/mpeg"}
        ]
        assert episode["link"] == item.page_url
        assert episode["description"] == item.episode.notes_text
        assert episode["description_html"] == item.episode.notes_html
        assert episode["explicit"] is meta.explicit
        assert episode["type"] == meta.episode_type
        assert episode.get("number") == meta.episode
        assert episode.get("season") == meta.season
        assert episode.get("episode_art_url") == item.image_url


def test_podcastparser_reads_the_channel() -> None:
    show, _items, xml = sample()
    parsed = podcastparser.parse(show.feed_url, io.BytesIO(xml))
    assert parsed["title"] == show.title
    assert parsed["link"] == show.public_url + "index.html"
    assert parsed["description"] == show.description
    assert parsed["cover_url"] == IMAGE_URL
    assert parsed["language"] == "en"
    assert parsed["explicit"] is False
    assert parsed["type"] == "serial"
    assert parsed["itunes_author"] == show.author
    assert parsed["itunes_categories"] == [["Science", "Mathematics"]]
    assert parsed["itunes_owner"] == {"name": "DFL Team", "email": show.owner.email}
    # podcastparser 0.6.11 reads podcast:* only under the old GitHub namespace URI, so
    # podcast:funding/locked/transcript/chapters are not expected here (a client gap).


def test_feedparser_reads_every_episode() -> None:
    _show, items, xml = sample()
    parsed = feedparser.parse(xml)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert len(parsed.entries) == len(items)
    for entry, item in zip(parsed.entries, newest_first(items), strict=True):
        meta = item.episode.meta
        assert entry.id == meta.guid
        assert entry.guidislink is False
        assert entry.title == meta.title
        assert timegm(entry.published_parsed) == int(meta.date.timestamp())
        assert entry.itunes_duration == str(whole_seconds(item.duration))
        assert [dict(e) for e in entry.enclosures] == [
            {"href": item.audio_url, "length": str(item.audio_bytes), "type": "audio/mpeg"}
        ]
        assert entry.content[0].value == item.episode.notes_html


def test_feedparser_reads_the_channel_and_podcast_namespace() -> None:
    show, _items, xml = sample()
    feed = feedparser.parse(xml).feed
    assert feed.title == show.title
    assert feed.link == show.public_url + "index.html"
    assert feed.language == "en"
    assert feed.image.href == IMAGE_URL
    assert feed.rights == show.copyright
    assert {"rel": "self", "type": "application/rss+xml", "href": show.feed_url} in feed.links
    assert [tag.term for tag in feed.tags] == ["Science", "Mathematics"]
    assert feed.itunes_type == "serial"
    # feedparser keeps elements of namespaces it does not know under prefix_name.
    assert feed.podcast_guid == str(show.guid)
    assert feed.podcast_license == "CC-BY-4.0"
    assert feed.podcast_medium == "podcast"
    assert feed.podcast_funding == {"url": "https://www.depthfirstlearning.com/support"}
    assert "updated_parsed" in feed


def test_clients_agree_on_an_empty_feed() -> None:
    show = make_show()
    xml = render_feed(show, [], image_url=IMAGE_URL)
    assert podcastparser.parse(show.feed_url, io.BytesIO(xml))["episodes"] == []
    parsed = feedparser.parse(xml)
    assert not parsed.bozo and parsed.entries == []


def test_a_thousand_episodes_all_arrive() -> None:
    show = make_show()
    items = make_items(1000)
    xml = render_feed(show, items, image_url=IMAGE_URL)
    episodes = podcastparser.parse(show.feed_url, io.BytesIO(xml))["episodes"]
    assert [e["guid"] for e in episodes] == [i.episode.meta.guid for i in reversed(items)]


# --- hypothesis: text round trips -----------------------------------------------------

# Anything the models accept: no control characters except tab/LF/CR, not blank.
any_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=80
)


def feedparser_keeps(text: str) -> bool:
    """False for text feedparser deliberately rewrites (both cases are tested below).

    It "repairs" all-Latin-1 text whose bytes are valid UTF-8 as mojibake. (It also reads
    C1 controls as windows-1252, which is why the models refuse them.)
    """
    return all(_not_mojibake(part) for part in {text, text.strip()})  # it strips first


def _not_mojibake(text: str) -> bool:
    try:
        return text.encode("iso-8859-1").decode("utf-8") == text
    except UnicodeError:
        return True


feedparser_text = any_text.filter(feedparser_keeps)
# feedparser also treats descriptions as HTML and normalizes CR.
plain_text = feedparser_text.filter(lambda text: not re.search(r"[<>&\r]", text))


def accepted_title(text: str) -> str:
    """The title as the model stores it; hypothesis skips what the model refuses."""
    try:
        return make_meta(1, title=text).title
    except ValidationError:
        assume(False)
        raise


def accepted_notes(text: str) -> str:
    """Notes obey the same rules as titles (the loader refuses control characters)."""
    try:
        EpisodeMeta.model_validate({**make_meta(1).model_dump(), "title": text})
    except ValidationError:
        assume(False)
    return text


def render_one(**episode: Any) -> bytes:
    item = make_item(1, episode=make_episode(1, **episode))
    return render_feed(make_show(), [item], image_url=IMAGE_URL)


SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.filter_too_much]
)


@SETTINGS
@given(any_text)
def test_any_title_round_trips_through_lxml(text: str) -> None:
    title = accepted_title(text)
    assert etree.fromstring(render_one(title=title)).findtext("channel/item/title") == title


@SETTINGS
@given(feedparser_text)
def test_any_title_round_trips_through_feedparser(text: str) -> None:
    title = accepted_title(text)
    assert feedparser.parse(render_one(title=title)).entries[0].title == title


@pytest.mark.parametrize(("title", "read"), [("cafÃ©", "café")])
def test_what_feedparser_rewrites(title: str, read: str) -> None:
    """Why feedparser_text leaves some text out: the feed carries it, feedparser rewrites it."""
    assert not feedparser_keeps(title)
    xml = render_one(title=title)
    assert etree.fromstring(xml).findtext("channel/item/title") == title
    assert feedparser.parse(xml).entries[0].title == read


@SETTINGS
@given(any_text, any_text)
def test_any_notes_round_trip_through_lxml(text: str, html: str) -> None:
    notes_text, notes_html = accepted_notes(text), accepted_notes(html)
    xml = render_one(notes_text=notes_text, notes_html=notes_html)
    item = etree.fromstring(xml).find("channel/item")
    assert item is not None
    assert item.findtext("description") == notes_text.strip()
    assert item.findtext(CONTENT) == notes_html.strip()
    episode = podcastparser.parse("https://x.example/feed.xml", io.BytesIO(xml))["episodes"][0]
    assert episode["description_html"] == notes_html.strip()


@SETTINGS
@given(plain_text)
def test_plain_notes_round_trip_through_feedparser(text: str) -> None:
    notes = accepted_notes(text)
    entry = feedparser.parse(render_one(notes_text=notes, notes_html=notes)).entries[0]
    assert entry.summary == notes.strip()
    assert entry.content[0].value == notes.strip()


@pytest.mark.parametrize("title", ["\x00", "a\x0bb", "\ufffe", "   "])
def test_text_xml_cannot_carry_is_refused_before_the_feed(title: str) -> None:
    with pytest.raises(ValidationError):
        make_meta(1, title=title)
