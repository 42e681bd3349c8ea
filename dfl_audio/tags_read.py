"""The ID3 tag of an MP3 read back as plain values: how tests and checks see what
:func:`dfl_audio.tags.write_tags` wrote, through the same :data:`~dfl_audio.tags.TEXT_FIELDS`
table, so the two directions cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import mutagen.id3

from dfl_audio.errors import AudioError
from dfl_audio.tags import TEXT_FIELDS, Frame, id3, mutagen_call


class ChapterTag(NamedTuple):
    """One ``CHAP`` frame as read back: times in milliseconds, sub-frame texts, its image."""

    start_ms: int
    end_ms: int
    title: str | None
    url: str | None
    image: bytes | None = None


@dataclass(frozen=True)
class TagSnapshot:
    """What the ID3 tag of a file holds, frame by frame; empty values when a frame is absent."""

    version: tuple[int, int, int] | None = None
    frame_ids: tuple[str, ...] = ()  # sorted, with repeats: ("APIC", "CHAP", "CHAP", ...)
    title: str | None = None
    artists: tuple[str, ...] = ()
    album: str | None = None
    date: str | None = None
    genre: str | None = None
    comment: str | None = None
    copyright: str | None = None
    publisher: str | None = None
    track: str | None = None
    length_ms: int | None = None
    cover: bytes | None = None
    cover_mime: str | None = None
    chapters: tuple[ChapterTag, ...] = ()
    toc_children: tuple[str, ...] = ()
    podcast: bool = False
    guid: str | None = None
    feed_url: str | None = None
    description: str | None = None
    category: tuple[str, ...] = ()


def read_tags(mp3: Path) -> TagSnapshot:
    """The ID3 tag of ``mp3`` as plain values; an untagged file gives an empty snapshot."""
    try:
        tags = mutagen_call("read ID3 tags", mp3, id3.ID3, mp3)
    except AudioError as exc:
        if isinstance(exc.original, mutagen.id3.ID3NoHeaderError):
            return TagSnapshot()
        raise
    return TagSnapshot(
        version=tags.version,
        frame_ids=tuple(sorted(frame.FrameID for frame in tags.values())),
        **{field.attr: field.parse(_texts(tags, field.frame_id)) for field in TEXT_FIELDS},
        **_special_values(tags),
    )


def _texts(tags: Frame, frame_id: str) -> list[str]:
    frames = tags.getall(frame_id)
    return [str(text) for text in frames[0].text] if frames else []


def _special_values(tags: Frame) -> dict[str, Any]:
    """The frames that are not plain text: comment, cover, chapters, flag, feed URL."""
    comments = tags.getall("COMM")
    covers = tags.getall("APIC")
    feeds = tags.getall("WFED")
    tocs = [toc for toc in tags.getall("CTOC") if toc.flags & id3.CTOCFlags.TOP_LEVEL]
    return {
        "comment": str(comments[0].text[0]) if comments and comments[0].text else None,
        "cover": bytes(covers[0].data) if covers else None,
        "cover_mime": str(covers[0].mime) if covers else None,
        "chapters": tuple(_chapter_tag(chap) for chap in _ordered_chapters(tags)),
        "toc_children": tuple(tocs[0].child_element_ids) if tocs else (),
        "podcast": any(frame.value for frame in tags.getall("PCST")),
        "feed_url": str(feeds[0].url) if feeds else None,
    }


def _ordered_chapters(tags: Frame) -> list[Frame]:
    """Chapters in play order: mutagen keeps frames by key, not in file order."""
    chapters: list[Frame] = tags.getall("CHAP")
    return sorted(chapters, key=lambda chap: (chap.start_time, chap.element_id))


def _chapter_tag(chap: Frame) -> ChapterTag:
    titles = chap.sub_frames.getall("TIT2")
    urls = chap.sub_frames.getall("WXXX")
    images = chap.sub_frames.getall("APIC")
    return ChapterTag(
        start_ms=chap.start_time,
        end_ms=chap.end_time,
        title=str(titles[0].text[0]) if titles and titles[0].text else None,
        url=str(urls[0].url) if urls else None,
        image=bytes(images[0].data) if images else None,
    )
