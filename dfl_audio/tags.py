"""Adapter over mutagen: write the episode's ID3v2.4 tags (read back by :mod:`.tags_read`),
and read a container's stream facts for the probe.

The text frames come from one table, :data:`TEXT_FIELDS` (frame <-> snapshot field, in the
manner of podcastparser's ``MAPPING``), used in both directions; a few small functions add
the frames that are not plain text (comment, cover, chapters, podcast flag, feed URL).
This is the only module that writes ID3; with :mod:`.tags_read`, the only one that calls
mutagen, whose exceptions become :class:`~dfl_audio.errors.AudioError` in
:func:`mutagen_call` and nowhere else.
"""

from __future__ import annotations

import hashlib
import json
import logging
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import mutagen
import mutagen.id3
from mutagen.mp3 import MP3

from dfl_audio.errors import AudioError
from dfl_audio.models.episode import Chapter, Episode
from dfl_audio.models.show import Show

log = logging.getLogger(__name__)

# mutagen's frame classes get their attributes from specs at run time, which mypy cannot see.
id3: Any = mutagen.id3
Frame = Any  # a mutagen ID3 frame (or the ID3 tag itself)

T = TypeVar("T")

COMMENT_MAX_CHARS = 4000  # Apple's description limit; a comment longer than that helps no one
TOC_ID = "toc"
_URL_SAFE = "".join(chr(code) for code in range(0x21, 0x7F))  # printable ASCII stays as is


@dataclass(frozen=True)
class TagSource:
    """Everything the tags are made from; the argument of every :data:`TEXT_FIELDS` getter."""

    show: Show
    episode: Episode
    duration: float  # seconds
    feed_url: str


def _artists(src: TagSource) -> list[str]:
    """Hosts first, then guests, each name once."""
    people = (*src.show.hosts, *src.episode.meta.guests)
    return list(dict.fromkeys(person.name for person in people))


def _date(src: TagSource) -> str:
    """ID3v2.4 timestamps carry no zone, so the date is written in UTC, to the second."""
    return src.episode.meta.date.astimezone(UTC).replace(tzinfo=None).isoformat("T", "seconds")


def _track(src: TagSource) -> str | None:
    number = src.episode.meta.episode
    return None if number is None else str(number)


def _length_ms(src: TagSource) -> str:
    return str(round(src.duration * 1000))


def _notes(src: TagSource) -> str | None:
    return clip_text(src.episode.notes_text, COMMENT_MAX_CHARS) or None


def _category(src: TagSource) -> list[str]:
    return [src.show.category] + ([src.show.subcategory] if src.show.subcategory else [])


def _first(text: list[str]) -> str | None:
    return text[0] if text else None


def _timestamp(text: list[str]) -> str | None:
    """The timestamp as stored (ISO 8601 with "T"); mutagen shows it with a space."""
    return text[0].replace(" ", "T") if text else None


def _int(text: list[str]) -> int | None:
    return int(text[0]) if text and text[0].isdigit() else None


class TextField(NamedTuple):
    """One row of the table: a text frame, the snapshot attribute, and both directions."""

    frame_id: str
    attr: str  # TagSnapshot attribute it reads back into
    get: Callable[[TagSource], str | list[str] | None]  # None or [] leaves the frame out
    parse: Callable[[list[str]], Any] = _first


TEXT_FIELDS: tuple[TextField, ...] = (
    TextField("TIT2", "title", lambda src: src.episode.meta.title),
    TextField("TPE1", "artists", _artists, tuple),
    TextField("TALB", "album", lambda src: src.show.title),
    TextField("TDRC", "date", _date, _timestamp),
    TextField("TCON", "genre", lambda src: "Podcast"),
    TextField("TCOP", "copyright", lambda src: src.show.copyright),
    TextField("TPUB", "publisher", lambda src: src.show.author),
    TextField("TRCK", "track", _track),
    TextField("TLEN", "length_ms", _length_ms, _int),
    TextField("TGID", "guid", lambda src: src.episode.meta.guid),
    TextField("TDES", "description", _notes),
    TextField("TCAT", "category", _category, tuple),
)


def clip_text(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, at a word break, with an ellipsis.

    >>> clip_text("short notes", 20)
    'short notes'
    >>> clip_text("one two three four", 12)
    'one two…'
    """
    text = text.strip()
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    head = cut.rsplit(None, 1)[0] if " " in cut else cut
    return head.rstrip() + "…"


def ascii_url(url: str) -> str:
    """The URL with non-ASCII characters percent-encoded: ID3 URL frames are Latin-1 only.

    >>> ascii_url("https://de.wikipedia.org/wiki/Kurt_Gödel")
    'https://de.wikipedia.org/wiki/Kurt_G%C3%B6del'
    >>> ascii_url("https://example.org/a%20b?q=1&r=2#top")
    'https://example.org/a%20b?q=1&r=2#top'
    """
    return urllib.parse.quote(url, safe=_URL_SAFE)


TAGS_VERSION = 1  # bump when build_frames writes something else from the same inputs


def tag_digest(
    src: TagSource,
    cover_digest: str | None,
    chapter_image_digests: Mapping[str, str] | None = None,
) -> str:
    """One hash of everything the tag is made from (the cover and chapter images by their
    source files' digests): when it changes, the published MP3 is re-tagged."""
    digests = chapter_image_digests or {}
    chapters = [_chapter_made_of(chapter, digests) for chapter in src.episode.meta.chapters]
    made_of = {
        "version": TAGS_VERSION,
        "text": _text_values(src),
        "notes": _notes(src),
        "cover": cover_digest,
        "chapters": chapters,
        "feed": src.feed_url,
    }
    return hashlib.sha256(json.dumps(made_of, sort_keys=True).encode()).hexdigest()


def _chapter_made_of(chapter: Chapter, image_digests: Mapping[str, str]) -> list[object]:
    """A chapter's part of the digest; one without an image hashes as before images were
    tagged, so adding the feature re-tags no published MP3."""
    made_of: list[object] = [chapter.start, chapter.title, chapter.url]
    if chapter.img is not None and chapter.img in image_digests:
        made_of += [chapter.img, image_digests[chapter.img]]
    return made_of


def build_frames(
    src: TagSource, cover_jpeg: bytes | None, chapter_images: Mapping[str, bytes] | None = None
) -> list[Frame]:
    """Every frame of the tag, in a stable order; pure, so it is tested without files.

    ``chapter_images`` holds the small JPEG of each chapter ``img`` that has one."""
    frames: list[Frame] = [_text_frame(frame_id, value) for frame_id, value in _text_values(src)]
    notes = _notes(src)
    if notes:
        frames.append(id3.COMM(encoding=id3.Encoding.UTF8, lang="eng", desc="", text=[notes]))
    if cover_jpeg:
        frames.append(_cover_frame(cover_jpeg))
    frames.extend(_chapter_frames(src, chapter_images or {}))
    frames.append(id3.PCST(value=1))
    frames.append(id3.WFED(url=ascii_url(src.feed_url)))
    return frames


def _text_values(src: TagSource) -> list[tuple[str, list[str]]]:
    values = ((field.frame_id, field.get(src)) for field in TEXT_FIELDS)
    return [(frame_id, [v] if isinstance(v, str) else v) for frame_id, v in values if v]


def _text_frame(frame_id: str, text: list[str]) -> Frame:
    frame_class = getattr(id3, frame_id)
    return frame_class(encoding=id3.Encoding.UTF8, text=text)


def _cover_frame(cover_jpeg: bytes) -> Frame:
    return id3.APIC(
        encoding=id3.Encoding.UTF8,
        mime="image/jpeg",
        type=id3.PictureType.COVER_FRONT,
        desc="Cover",
        data=cover_jpeg,
    )


def _chapter_frames(src: TagSource, images: Mapping[str, bytes]) -> list[Frame]:
    """``CHAP`` per chapter (ending where the next starts) and one ordered top-level ``CTOC``."""
    chapters = src.episode.meta.chapters
    if not chapters:
        return []
    starts = [round(chapter.start * 1000) for chapter in chapters]
    ends = [*starts[1:], round(src.duration * 1000)]
    frames = [
        _chapter_frame(f"chp{index}", start, end, chapter, images.get(chapter.img or ""))
        for index, (chapter, start, end) in enumerate(zip(chapters, starts, ends, strict=True))
    ]
    return [*frames, _toc_frame([frame.element_id for frame in frames])]


def _chapter_frame(
    element_id: str, start: int, end: int, chapter: Chapter, image_jpeg: bytes | None
) -> Frame:
    """``TIT2``, then ``WXXX`` for a url and ``APIC`` for an image (what AntennaPod reads)."""
    sub_frames = [id3.TIT2(encoding=id3.Encoding.UTF8, text=[chapter.title])]
    if chapter.url:
        sub_frames.append(id3.WXXX(encoding=id3.Encoding.UTF8, desc="", url=ascii_url(chapter.url)))
    if image_jpeg:
        sub_frames.append(
            id3.APIC(
                encoding=id3.Encoding.UTF8,
                mime="image/jpeg",
                type=id3.PictureType.OTHER,
                desc="Chapter",
                data=image_jpeg,
            )
        )
    return id3.CHAP(element_id=element_id, start_time=start, end_time=end, sub_frames=sub_frames)


def chapter_problem(episode: Episode, duration: float) -> str | None:
    """Why the chapters cannot be tagged on audio of ``duration`` seconds, or None.

    A chapter that starts at or after the end would get an empty or negative span.
    """
    end_ms = round(duration * 1000)
    late = [chapter for chapter in episode.meta.chapters if round(chapter.start * 1000) >= end_ms]
    if not late:
        return None
    return (
        f"chapter {late[0].title!r} starts at {late[0].start:g} s, "
        f"not before the end of the audio ({duration:.1f} s)"
    )


def _toc_frame(child_ids: list[str]) -> Frame:
    return id3.CTOC(
        element_id=TOC_ID,
        flags=id3.CTOCFlags.TOP_LEVEL | id3.CTOCFlags.ORDERED,
        child_element_ids=child_ids,
        sub_frames=[id3.TIT2(encoding=id3.Encoding.UTF8, text=["Chapters"])],
    )


def mutagen_call(action: str, path: Path, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call mutagen, turning its errors (and the OS errors it lets through) into AudioError."""
    try:
        return func(*args, **kwargs)
    except (mutagen.MutagenError, OSError) as exc:
        raise AudioError(f"cannot {action}: {exc}", path=path, original=exc) from exc


def write_tags(
    mp3: Path,
    show: Show,
    episode: Episode,
    *,
    duration: float,
    cover_jpeg: bytes | None,
    feed_url: str,
    chapter_images: Mapping[str, bytes] | None = None,
) -> None:
    """Replace every tag in ``mp3`` with ours (ID3v2.4, no ID3v1).

    Whatever the encoder wrote (ffmpeg adds an ID3v2.4 header with ``TSSE``) is dropped,
    so the file carries exactly the frames built here.
    """
    problem = chapter_problem(episode, duration)
    if problem:  # the plan checked the source already; the episode file is what to fix
        raise AudioError(f"chapters: {problem}", path=episode.path)
    src = TagSource(show=show, episode=episode, duration=duration, feed_url=feed_url)
    frames = build_frames(src, cover_jpeg, chapter_images)
    mutagen_call("read the MP3", mp3, MP3, mp3)  # refuse a file that is not MPEG audio
    tags = id3.ID3()
    for frame in frames:
        tags.add(frame)
    mutagen_call("write ID3 tags", mp3, tags.save, mp3, v1=0, v2_version=4)
    log.debug("tagged %s with %d frames", mp3, len(frames))


# --- stream facts (the probe's second opinion) ----------------------------------------------

_CONTAINERS = {
    "WAVE": ("wav", "pcm"),
    "FLAC": ("flac", "flac"),
    "MP3": ("mp3", "mp3"),
    "EasyMP3": ("mp3", "mp3"),
    "MP4": ("mp4", "aac"),
    "EasyMP4": ("mp4", "aac"),
    "OggOpus": ("ogg", "opus"),
    "OggVorbis": ("ogg", "vorbis"),
    "OggFLAC": ("ogg", "flac"),
}


@dataclass(frozen=True)
class StreamFacts:
    """What mutagen reads from a container's headers (no decode): exact where it knows."""

    container: str
    codec: str
    sample_rate: int
    channels: int
    duration: float
    bits_per_sample: int | None


def stream_facts(path: Path) -> StreamFacts | None:
    """Stream facts from mutagen where it knows the format (None when it does not, or when
    the headers are broken: ffmpeg then has the last word)."""
    try:
        parsed = mutagen.File(path)
    except Exception as exc:  # mutagen raises many types for broken headers
        log.debug("mutagen could not parse %s: %s", path, exc)
        return None
    if parsed is None or type(parsed).__name__ not in _CONTAINERS:
        return None
    container, codec = _CONTAINERS[type(parsed).__name__]
    info = parsed.info
    bits = getattr(info, "bits_per_sample", None)
    return StreamFacts(
        container=container,
        codec=codec,
        sample_rate=int(getattr(info, "sample_rate", 0) or 0),
        channels=int(getattr(info, "channels", 0) or 0),
        duration=float(getattr(info, "length", 0.0) or 0.0),
        bits_per_sample=int(bits) if bits else None,
    )
