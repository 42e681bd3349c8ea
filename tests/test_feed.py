"""The feed stage: golden feeds, structure, order, determinism, podcast:guid, chapters, diffs.

Golden feeds live in ``tests/golden/<case>/``: ``input.yaml`` (``show``, ``items`` as the
FeedItem fields, ``image_url``, optional ``last_build``) and ``expected.xml``. Every folder is
found by glob and compared structurally: both sides are parsed, blank text between elements
is dropped, and the C14N 2.0 forms are compared (so indentation, attribute order and CDATA
versus escaped text do not matter; every element, attribute and text does).

To regenerate the expected files after an intended change, run

    DFL_REGEN_GOLDEN=1 .venv/bin/pytest tests/test_feed.py -k golden

and review ``git diff tests/golden`` before committing.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from feed_factory import (
    BASE_DATE,
    IMAGE_URL,
    make_episode,
    make_full_item,
    make_item,
    make_items,
    make_show,
    utc,
)
from lxml import etree

from dfl_audio.errors import FeedError
from dfl_audio.feed import (
    FeedDiff,
    chapters_json,
    diff_feeds,
    render_feed,
    summarize_feed,
)
from dfl_audio.feed_ext import NAMESPACES
from dfl_audio.models.episode import Chapter
from dfl_audio.models.show import Show, podcast_guid_for
from dfl_audio.records import FeedItem

GOLDEN = Path(__file__).parent / "golden"
CASES = sorted(path.parent for path in GOLDEN.glob("*/input.yaml"))
REGEN = os.environ.get("DFL_REGEN_GOLDEN") == "1"
ITUNES = f"{{{NAMESPACES['itunes']}}}"
PODCAST = f"{{{NAMESPACES['podcast']}}}"


def load_case(folder: Path) -> tuple[Show, list[FeedItem], dict[str, Any]]:
    data = yaml.safe_load((folder / "input.yaml").read_text(encoding="utf-8"))
    show = Show.model_validate(data["show"])
    items = [FeedItem.model_validate(item) for item in data.get("items") or []]
    last_build = data.get("last_build")
    options = {
        "image_url": data["image_url"],
        "last_build": datetime.fromisoformat(last_build) if last_build else None,
    }
    return show, items, options


def canonical(xml: bytes) -> str:
    """C14N 2.0 of the document without ignorable whitespace, re-indented for readable diffs."""
    parser = etree.XMLParser(remove_blank_text=True)
    c14n = etree.canonicalize(etree.tostring(etree.fromstring(xml, parser), encoding="unicode"))
    tree = etree.fromstring(c14n.encode("utf-8"))
    etree.indent(tree)
    return str(etree.tostring(tree, encoding="unicode"))


def parse(xml: bytes) -> Any:
    return etree.fromstring(xml)


def render(items: Sequence[FeedItem], show: Show | None = None, **options: Any) -> bytes:
    return render_feed(show or make_show(full=True), items, image_url=IMAGE_URL, **options)


def guids(xml: bytes) -> list[str]:
    return [guid.text for guid in parse(xml).iterfind("channel/item/guid")]


# --- golden files ---------------------------------------------------------------------


def test_golden_cases_are_found() -> None:
    assert {case.name for case in CASES} >= {"full-show", "minimal-show", "no-episodes", "escaping"}


@pytest.mark.parametrize("folder", CASES, ids=[case.name for case in CASES])
def test_golden(folder: Path) -> None:
    show, items, options = load_case(folder)
    xml = render_feed(show, items, **options)
    expected_path = folder / "expected.xml"
    if REGEN:
        expected_path.write_bytes(xml)
    assert canonical(xml) == canonical(expected_path.read_bytes())


def test_canonical_form_still_sees_real_changes() -> None:
    """Guard the comparison itself: a changed attribute or text must not compare equal."""
    xml = render([make_full_item(1)])
    assert canonical(xml) != canonical(xml.replace(b'length="1004321"', b'length="1004322"'))
    assert canonical(xml) != canonical(xml.replace(b"<title>Interview 1<", b"<title>Interview 1 <"))
    assert canonical(xml) == canonical(xml.replace(b"\n      <", b"<"))


# --- well-formed XML, namespaces --------------------------------------------------------


@pytest.mark.parametrize("folder", CASES, ids=[case.name for case in CASES])
def test_namespaces_are_exact_and_declared_once(folder: Path) -> None:
    show, items, options = load_case(folder)
    xml = render_feed(show, items, **options)
    root = etree.fromstring(xml, etree.XMLParser(recover=False))
    assert root.nsmap == NAMESPACES
    assert xml.count(b"xmlns:") == len(NAMESPACES)
    assert xml.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    by_uri = {uri: prefix for prefix, uri in NAMESPACES.items()}
    for element in root.iter():
        uri = etree.QName(element).namespace
        assert uri is None or by_uri[uri] == element.prefix, element.tag
        for name in element.attrib:
            assert etree.QName(name).namespace is None, name


def test_every_channel_and_item_field_is_present() -> None:
    show = make_show(full=True)
    channel = parse(render([make_full_item(1)], show)).find("channel")
    assert channel.findtext("title") == show.title
    assert channel.findtext("link") == show.public_url + "index.html"  # the show page
    assert channel.findtext("description") == show.description
    assert channel.findtext("language") == "en"
    assert channel.findtext("copyright") == show.copyright
    assert channel.findtext("generator") == "dfl-audio"
    self_link = channel.find("{http://www.w3.org/2005/Atom}link")
    assert dict(self_link.attrib) == {
        "href": "https://media.example.org/dfl/feed.xml",
        "rel": "self",
        "type": "application/rss+xml",
    }
    assert channel.find(ITUNES + "image").get("href") == IMAGE_URL
    category = channel.find(ITUNES + "category")
    assert category.get("text") == "Science"
    assert [sub.get("text") for sub in category] == ["Mathematics"]
    assert channel.findtext(ITUNES + "explicit") == "false"
    assert channel.findtext(ITUNES + "author") == show.author
    assert channel.findtext(ITUNES + "owner/" + ITUNES + "name") == "DFL Team"
    assert channel.findtext(ITUNES + "owner/" + ITUNES + "email") == show.owner.email
    assert channel.findtext(ITUNES + "type") == "serial"
    locked = channel.find(PODCAST + "locked")
    assert (locked.text, locked.get("owner")) == ("yes", show.owner.email)
    hosts = channel.findall(PODCAST + "person")
    assert [(p.text, dict(p.attrib)) for p in hosts] == [
        (h.name, {k: v for k, v in (("role", "host"), ("href", h.href), ("img", h.img)) if v})
        for h in show.hosts
    ]
    funding = channel.find(PODCAST + "funding")
    assert (funding.text, funding.get("url")) == ("Support DFL", show.funding.url)  # type: ignore[union-attr]
    assert channel.findtext(PODCAST + "license") == "CC-BY-4.0"
    assert channel.findtext(PODCAST + "medium") == "podcast"


def test_item_fields() -> None:
    show = make_show(full=True)
    source = make_full_item(3)
    item = parse(render([source], show)).find("channel/item")
    meta = source.episode.meta
    assert item.findtext("title") == meta.title
    assert item.findtext("description") == source.episode.notes_text
    assert item.findtext("{http://purl.org/rss/1.0/modules/content/}encoded") == (
        source.episode.notes_html
    )
    guid = item.find("guid")
    assert (guid.text, guid.get("isPermaLink")) == (meta.guid, "false")
    assert item.findtext("pubDate") == "Thu, 18 Mar 2021 10:00:00 -0500"
    assert dict(item.find("enclosure").attrib) == {
        "url": source.audio_url,
        "length": str(source.audio_bytes),
        "type": "audio/mpeg",
    }
    assert item.findtext("link") == source.page_url  # the episode's page on the site
    assert item.findtext(ITUNES + "duration") == "1804"  # 1803.75 rounded
    assert item.findtext(ITUNES + "episode") == item.findtext(PODCAST + "episode") == "3"
    assert item.findtext(ITUNES + "season") == item.findtext(PODCAST + "season") == "1"
    assert item.findtext(ITUNES + "episodeType") == "full"
    assert item.findtext(ITUNES + "explicit") == "true"
    assert item.find(ITUNES + "image").get("href") == source.image_url
    people = [(p.get("role"), p.text) for p in item.iterfind(PODCAST + "person")]
    assert people == [
        ("host", "Avital Oliver"),
        ("host", "Surya Bhupatiraju"),
        ("guest", "Guest Speaker"),
        ("guest", "Zoë Ångström"),
    ]
    assert [dict(found.attrib) for found in item.iterfind(PODCAST + "transcript")] == [
        {"url": source.transcripts[0].url, "type": "text/vtt", "language": "en", "rel": "captions"},
        {"url": source.transcripts[1].url, "type": "application/json", "language": "en"},
    ]
    assert dict(item.find(PODCAST + "chapters").attrib) == {
        "url": source.chapters_url,
        "type": "application/json+chapters",
    }


def test_optional_item_fields_are_left_out() -> None:
    item = parse(render([make_item(1)], make_show())).find("channel/item")
    for name in ("episode", "season", "image"):
        assert item.find(ITUNES + name) is None
    for name in ("season", "episode", "transcript", "chapters"):
        assert item.find(PODCAST + name) is None
    # Hosts are restated even without guests: item persons replace the channel's.
    assert [(p.get("role"), p.text) for p in item.iterfind(PODCAST + "person")] == [
        ("host", "Avital Oliver")
    ]


def test_notes_that_cdata_cannot_hold_go_out_escaped() -> None:
    notes = "<p>a[b[0]]>c</p>\r\n<p>second</p>"
    xml = render([make_item(1, episode=make_episode(1, notes_html=notes))])
    assert b"<![CDATA[" not in xml
    encoded = parse(xml).findtext("channel/item/{http://purl.org/rss/1.0/modules/content/}encoded")
    assert encoded == notes.strip()


def test_empty_notes_fall_back_to_the_title() -> None:
    xml = render([make_item(1, episode=make_episode(1, notes_text="  ", notes_html=""))])
    item = parse(xml).find("channel/item")
    assert item.findtext("description") == "Interview 1"
    assert item.find("{http://purl.org/rss/1.0/modules/content/}encoded") is None


@pytest.mark.parametrize(
    ("url", "declared", "expected"),
    [
        ("https://m.example.org/t/ep.vtt", None, "text/vtt"),
        ("https://m.example.org/t/ep.SRT?v=1", None, "application/x-subrip"),
        ("https://m.example.org/t/ep.json", None, "application/json"),
        ("https://m.example.org/t/ep", "text/html", "text/html"),
    ],
)
def test_transcript_type(url: str, declared: str | None, expected: str) -> None:
    source = make_item(1, transcripts=[{"url": url, "type": declared}])
    transcript = parse(render([source])).find("channel/item/" + PODCAST + "transcript")
    assert transcript.get("type") == expected
    captions = expected in ("text/vtt", "application/x-subrip")  # time-coded: rel="captions"
    assert transcript.get("rel") == ("captions" if captions else None)


def test_unknown_transcript_type_is_a_feed_error() -> None:
    source = make_item(1, transcripts=[{"url": "https://m.example.org/t/ep.doc"}])
    with pytest.raises(FeedError, match=r"type of transcript https://m\.example\.org/t/ep\.doc"):
        render([source])


# --- order, lastBuildDate, determinism -------------------------------------------------


def test_items_newest_first_ties_broken_by_guid() -> None:
    same_day = BASE_DATE.replace(day=25)
    items = [
        make_item(1),
        make_item(5, episode=make_episode(5, date=same_day, guid="b-tie")),
        make_item(2),
        make_item(6, episode=make_episode(6, date=same_day, guid="a-tie")),
        make_item(3),
    ]
    expected = ["a-tie", "b-tie", "dfl-ep-0003", "dfl-ep-0002", "dfl-ep-0001"]
    assert guids(render(items)) == expected
    assert guids(render(list(reversed(items)))) == expected


def test_order_compares_instants_not_local_times() -> None:
    """09:00 in New York is after 10:00 in London on the same day."""
    london = datetime.fromisoformat("2021-05-01T10:00:00+01:00")
    new_york = datetime.fromisoformat("2021-05-01T09:00:00-04:00")
    items = [
        make_item(1, episode=make_episode(1, date=new_york)),
        make_item(2, episode=make_episode(2, date=london)),
    ]
    assert guids(render(items)) == ["dfl-ep-0001", "dfl-ep-0002"]


def test_last_build_date_is_given_or_newest_item_never_the_clock() -> None:
    items = make_items(3)
    channel = parse(render(items)).find("channel")
    assert channel.findtext("lastBuildDate") == "Thu, 18 Mar 2021 10:00:00 -0500"
    given = parse(render(items, last_build=utc(2022, 1, 2, 3, 4, 5))).find("channel")
    assert given.findtext("lastBuildDate") == "Sun, 02 Jan 2022 03:04:05 +0000"
    assert parse(render([])).find("channel/lastBuildDate") is None


def test_naive_last_build_is_a_feed_error() -> None:
    with pytest.raises(FeedError, match="timezone"):
        render(make_items(1), last_build=datetime(2022, 1, 1))


def test_two_renders_are_byte_identical() -> None:
    items = make_items(5, full=True)
    first = render(items)
    assert render(items) == first
    assert render(list(reversed(items))) == first
    assert render([item.model_copy() for item in items]) == first


def test_duplicate_guids_are_refused() -> None:
    twin = make_item(2, episode=make_episode(2, guid="dfl-ep-0001"))
    with pytest.raises(FeedError, match="two episodes share the GUID 'dfl-ep-0001'") as caught:
        render([make_item(1), twin])
    assert caught.value.path is not None


# --- podcast:guid ----------------------------------------------------------------------


def rendered_guid(show: Show) -> str:
    return str(parse(render([], show)).findtext("channel/" + PODCAST + "guid"))


def test_podcast_guid_derived_from_feed_url_matches_spec_vector() -> None:
    # Spec vector: mp3s.nashownotes.com/pc20rss.xml -> 917393e3-... (scheme is not hashed)
    show = make_show(public_url="https://mp3s.nashownotes.com/", feed_name="pc20rss.xml")
    assert rendered_guid(show) == "917393e3-1b1e-5cef-ace4-edaa54e1f810"


def test_podcast_guid_kept_from_show_yaml_matches_spec_vector() -> None:
    # Spec vector: podnews.net/rss -> 9b024349-...; "rss" is not a feed_name we allow,
    # so it arrives the way a migrated show carries it: as podcast_guid in show.yaml.
    assigned = podcast_guid_for("https://podnews.net/rss")
    assert str(assigned) == "9b024349-ccf0-5f69-a609-6b82873eab3c"
    show = make_show(podcast_guid=assigned, public_url="https://cdn.example.net/moved/")
    assert rendered_guid(show) == "9b024349-ccf0-5f69-a609-6b82873eab3c"


# --- chapters --------------------------------------------------------------------------


def test_chapters_json() -> None:
    chapters = [
        Chapter.model_validate({"start": "0:00", "title": "Intro"}),
        Chapter.model_validate(
            {
                "start": "01:02.5",
                "title": "Attention & “memory”",
                "url": "https://arxiv.org/abs/1706.03762",
            }
        ),
        Chapter(start=3600, title="注意力"),
    ]
    data = chapters_json(chapters)
    assert json.loads(data) == {
        "version": "1.2.0",
        "chapters": [
            {"startTime": 0, "title": "Intro"},
            {
                "startTime": 62.5,
                "title": "Attention & “memory”",
                "url": "https://arxiv.org/abs/1706.03762",
            },
            {"startTime": 3600, "title": "注意力"},
        ],
    }
    assert "注意力".encode() in data  # UTF-8, not \u escapes
    assert chapters_json(list(reversed(chapters))) == data  # ascending whatever the input order


def test_no_chapters() -> None:
    assert json.loads(chapters_json([])) == {"version": "1.2.0", "chapters": []}


# --- summaries and diffs ---------------------------------------------------------------


def test_summarize_feed() -> None:
    items = make_items(3, full=True)
    summaries = summarize_feed(render(items))
    assert list(summaries) == ["dfl-ep-0003", "dfl-ep-0002", "dfl-ep-0001"]
    third = summaries["dfl-ep-0003"]
    assert (third.guid, third.title, third.enclosure_url) == (
        "dfl-ep-0003",
        "Interview 3",
        items[2].audio_url,
    )
    assert len({summary.digest for summary in summaries.values()}) == 3


def test_diff_against_no_old_feed_adds_everything() -> None:
    new = render(make_items(2))
    diff = diff_feeds(None, new)
    assert [e.guid for e in diff.added] == ["dfl-ep-0002", "dfl-ep-0001"]
    assert diff.changed == diff.removed == []


def test_diff_sees_added_changed_and_removed() -> None:
    one, two, three = make_items(3)
    retitled = make_item(2, episode=make_episode(2, title="Interview 2, fixed"))
    old = render([one, two])
    new = render([retitled, three])
    diff = diff_feeds(old, new)
    assert [e.guid for e in diff.added] == ["dfl-ep-0003"]
    assert [(e.guid, e.title) for e in diff.changed] == [("dfl-ep-0002", "Interview 2, fixed")]
    assert [e.guid for e in diff.removed] == ["dfl-ep-0001"]


@pytest.mark.parametrize(
    "change",
    [
        {"audio_bytes": 1},
        {"audio_url": "https://media.example.org/dfl/audio/replaced.mp3"},
        {"duration": 10.0},
        {"chapters_url": None},
    ],
)
def test_diff_sees_any_item_change(change: dict[str, Any]) -> None:
    before = make_full_item(1)
    after = before.model_copy(update=change)
    diff = diff_feeds(render([before]), render([after]))
    assert [e.guid for e in diff.changed] == ["dfl-ep-0001"]


def test_unchanged_items_are_not_changed_when_channel_and_neighbours_change() -> None:
    items = make_items(2, full=True)
    old = render(items, last_build=utc(2021, 1, 1))
    new = render(
        [*items, make_item(9)], make_show(full=True, title="Renamed"), last_build=utc(2022, 1, 1)
    )
    assert diff_feeds(old, new) == FeedDiff(
        added=list(summarize_feed(new).values())[:1], changed=[], removed=[]
    )


def test_digest_ignores_formatting() -> None:
    xml = render(make_items(2, full=True))
    flat = etree.tostring(etree.fromstring(xml, etree.XMLParser(remove_blank_text=True)))
    assert summarize_feed(flat) == summarize_feed(xml)


@pytest.mark.parametrize(
    ("xml", "message"),
    [
        (b"", "cannot parse the feed"),
        (b"<rss><channel><item>", "cannot parse the feed"),
        (b"<feed xmlns='http://www.w3.org/2005/Atom'/>", "not an RSS feed"),
        (b"<rss><channel><item><title>x</title></item></channel></rss>", "has no GUID"),
        (
            b"<rss><channel><item><guid>a</guid></item><item><guid>a</guid></item></channel></rss>",
            "two items with the GUID 'a'",
        ),
    ],
)
def test_summarize_refuses_what_we_did_not_write(xml: bytes, message: str) -> None:
    with pytest.raises(FeedError, match=message):
        summarize_feed(xml)


def test_parse_error_keeps_the_original() -> None:
    with pytest.raises(FeedError) as caught:
        diff_feeds(b"not xml", render([]))
    assert isinstance(caught.value.original, etree.XMLSyntaxError)


def test_documents_with_a_doctype_are_refused_unexpanded() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa">]>'
        b"<rss><channel><item><guid>&a;</guid></item></channel></rss>"
    )
    with pytest.raises(FeedError, match="DOCTYPE"):
        summarize_feed(bomb)


def test_notes_xml_cannot_carry_are_a_feed_error() -> None:
    """Notes are not model fields; lxml's refusal must still arrive as our error."""
    with pytest.raises(FeedError, match="cannot render the feed") as caught:
        render([make_item(1, episode=make_episode(1, notes_text="nul \x00 here"))])
    assert isinstance(caught.value.original, ValueError)
