"""Transcripts as a list of timed cues: the one model every transcript output is made from.

A cue is what a listener sees highlighted while it is spoken: a start, an end, the words and,
when the source names one, the speaker. WebVTT and SRT are read by webvtt-py, Podcasting 2.0
JSON as plain JSON, and the DFL site's caption pages (``_includes/captions/*.html``) by
:mod:`dfl_audio.caption_html`; the site's transcript and the published formats are written
from cues (:mod:`dfl_audio.transcript_write`).

Reading keeps where each cue was written (its line in the file, when the format has one), so
:mod:`dfl_audio.transcript_check` can point an editor at the exact cue that is wrong.
"""

from __future__ import annotations

import html
import io
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

import webvtt
from webvtt.errors import MalformedCaptionError, MalformedFileError

from dfl_audio.errors import TranscriptError


@dataclass(frozen=True)
class Cue:
    """One timed piece of a transcript, times in seconds from the start of the stored audio."""

    start: float
    end: float
    text: str
    speaker: str | None = None


@dataclass(frozen=True)
class Slip:
    """A problem found in a transcript file, at a line of it when the format has lines."""

    line: int | None
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


@dataclass
class Reading:
    """What was read from a transcript: its cues, the line each starts at and how an editor
    finds it in the file (``cue 3``, ``segments[2]``), and the slips."""

    cues: list[Cue] = field(default_factory=list)
    lines: list[int | None] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    slips: list[Slip] = field(default_factory=list)

    def add(self, cue: Cue, line: int | None, name: str | None = None) -> None:
        self.cues.append(cue)
        self.lines.append(line)
        self.names.append(name or f"cue {len(self.cues)}")


FORMAT_NAMES = {
    ".vtt": "WebVTT",
    ".srt": "SRT",
    ".json": "Podcasting 2.0 JSON",
    ".html": "DFL caption page",
}

# A cue clock as the formats write it: WebVTT ``[HH:]MM:SS.mmm``; SRT ``HH:MM:SS,mmm`` (a
# '.' is accepted too: several tools write it, and every reader we know takes it).
_VTT_CLOCK = re.compile(r"(?:(\d{2,}):)?([0-5]\d):([0-5]\d)\.(\d{3})")
_SRT_CLOCK = re.compile(r"(\d{2,}):([0-5]\d):([0-5]\d)[,.](\d{3})")
_CLOCK_SHAPES = {".vtt": "[HH:]MM:SS.mmm", ".srt": "HH:MM:SS,mmm"}


def clock_seconds(clock: str) -> float:
    """Seconds in a WebVTT/SRT clock ``[HH:]MM:SS[.,]mmm``.

    >>> clock_seconds("01:02:03.500"), clock_seconds("02:03,250")
    (3723.5, 123.25)
    """
    parts = clock.strip().replace(",", ".").split(":")
    if not 2 <= len(parts) <= 3:
        raise ValueError(f"{clock!r} is not a [HH:]MM:SS.mmm time")
    seconds = 0.0
    for part in parts:
        seconds = seconds * 60 + float(part)
    return round(seconds, 3)


def format_clock(seconds: float, separator: str = ".") -> str:
    """A time as WebVTT (``.``) or SRT (``,``) write it, and as an editor reads it.

    >>> format_clock(3723.5), format_clock(0.25, ",")
    ('01:02:03.500', '00:00:00,250')
    """
    millis = round(seconds * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    whole, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{whole:02d}{separator}{millis:03d}"


def short_clock(seconds: float) -> str:
    """``M:SS``, or ``H:MM:SS`` from an hour on (whole seconds, rounded down): how show notes,
    the HTML transcript and the site's deep links write a time.

    >>> short_clock(12.5), short_clock(754), short_clock(3723.9)
    ('0:12', '12:34', '1:02:03')
    """
    whole = math.floor(max(seconds, 0.0))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def read_cues(data: bytes, path: str, *, duration: float | None = None) -> list[Cue]:
    """The cues of the transcript ``data`` read from ``path`` (the suffix says its format).

    ``duration`` (seconds of the recording) ends the last cue of a format that only says
    where cues start (a DFL caption page); without it that cue gets its words' speaking time.
    Raises :class:`TranscriptError` when the file cannot be read as its format.
    """
    reading = read_transcript(data, path, duration=duration)
    if reading.slips:
        raise TranscriptError(str(reading.slips[0]), path)
    return reading.cues


def read_transcript(data: bytes, path: str, *, duration: float | None = None) -> Reading:
    """Every cue that could be read, with its line, and every slip (a malformed time, a file
    that is not its format); raises :class:`TranscriptError` only for a format it cannot read.
    """
    suffix = PurePosixPath(path).suffix.lower()
    reader = _READERS.get(suffix)
    if reader is None:
        raise TranscriptError(f"cannot read a {suffix or 'suffix-less'} transcript", path)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return Reading(slips=[Slip(None, f"is not UTF-8 text ({exc.reason})")])
    return reader(text, duration)


def _read_vtt(text: str, _duration: float | None) -> Reading:
    return _read_captions(text, ".vtt", lambda: webvtt.from_string(text, strict=True))


def _read_srt(text: str, _duration: float | None) -> Reading:
    return _read_captions(text, ".srt", lambda: webvtt.from_buffer(io.StringIO(text), format="srt"))


def _read_captions(text: str, suffix: str, parse: Callable[[], Any]) -> Reading:
    """WebVTT or SRT: every malformed timing line is a located slip; a file whose timings
    are all well formed is then read by webvtt-py, which knows the rest of the format."""
    timings = _timing_lines(text, suffix)
    if any(isinstance(found, str) for _, found in timings):
        return _timings_only(timings)
    try:
        captions = parse()
    except (MalformedFileError, MalformedCaptionError, ValueError) as exc:
        kind = FORMAT_NAMES[suffix]
        return Reading(slips=[Slip(None, f"is not a valid {kind} transcript: {exc}")])
    reading = Reading()
    lines = [line for line, _ in timings]  # webvtt-py read one cue per timing line
    for index, caption in enumerate(captions):
        cue = Cue(
            clock_seconds(caption.start),
            clock_seconds(caption.end),
            html.unescape(caption.text) if suffix == ".vtt" else caption.text,  # &amp; → &
            caption.voice or None,
        )
        reading.add(cue, lines[index] if len(lines) == len(captions) else None)
    return reading


def _timings_only(timings: list[tuple[int, tuple[float, float] | str]]) -> Reading:
    """A file with malformed times: a slip for each, and the well-formed cues' times (no
    text), so their order is checked in the same run."""
    reading = Reading()
    for number, (line, found) in enumerate(timings, 1):
        if isinstance(found, str):
            reading.slips.append(Slip(line, found))
        else:
            reading.add(Cue(found[0], found[1], ""), line, f"cue {number}")
    return reading


def _timing_lines(text: str, suffix: str) -> list[tuple[int, tuple[float, float] | str]]:
    """Each ``start --> end`` line's number, and its times or what is wrong with them."""
    pattern = _VTT_CLOCK if suffix == ".vtt" else _SRT_CLOCK
    shape = _CLOCK_SHAPES[suffix]
    found: list[tuple[int, tuple[float, float] | str]] = []
    for number, line in enumerate(text.splitlines(), 1):
        if "-->" not in line:
            continue
        start, _, rest = line.partition("-->")
        end = rest.split()[0] if rest.split() else ""
        bad = [clock for clock in (start.strip(), end) if not pattern.fullmatch(clock)]
        if not bad:
            found.append((number, (clock_seconds(start), clock_seconds(end))))
        elif bad[0]:
            found.append((number, f"malformed timestamp {bad[0]!r} (expected {shape})"))
        else:
            found.append((number, f"a cue time is missing (expected {shape} --> {shape})"))
    return found


def _read_json(text: str, duration: float | None) -> Reading:
    """Podcasting 2.0 JSON: ``{"version", "segments": [{"startTime", "endTime", "body",
    "speaker"}]}``; a segment's line is where its ``"startTime"`` key is written."""
    prefix = "is not a valid Podcasting 2.0 JSON transcript: "
    try:
        document: Any = json.loads(text)
    except ValueError as exc:
        return Reading(slips=[Slip(None, prefix + str(exc))])
    segments = document.get("segments") if isinstance(document, dict) else None
    if not isinstance(segments, list):
        return Reading(slips=[Slip(None, prefix + 'expected {"version": ..., "segments": [...]}')])
    key_lines = [text.count("\n", 0, m.start()) + 1 for m in _START_KEY.finditer(text)]
    reading = Reading()
    for index, segment in enumerate(segments):
        line = key_lines[index] if len(key_lines) == len(segments) else None
        if not isinstance(segment, dict):
            reading.slips.append(Slip(line, f"segments[{index}] is not an object"))
            continue
        times = {name: segment.get(name) for name in ("startTime", "endTime")}
        if "endTime" not in segment:  # "if available" (the spec): it ends where the next starts
            times["endTime"] = OPEN_END
        bad = [name for name, value in times.items() if not _seconds(value)]
        if bad:
            shown = _shown(segment.get(bad[0]))
            message = f"segments[{index}].{bad[0]} must be a number of seconds, not {shown}"
            reading.slips.append(Slip(line, message))
            continue
        speaker = segment.get("speaker")
        body = segment.get("body", "")
        cue = Cue(
            float(times["startTime"]),  # type: ignore[arg-type]
            float(times["endTime"]),  # type: ignore[arg-type]
            body if isinstance(body, str) else str(body),
            speaker if isinstance(speaker, str) and speaker.strip() else None,
        )
        reading.add(cue, line, f"segments[{index}]")
    reading.cues = close_open_ends(reading.cues, duration)
    return reading


def _seconds(value: object) -> bool:
    return (
        not isinstance(value, bool)
        and isinstance(value, int | float)
        and math.isfinite(value)
        and value >= 0
    ) or value is OPEN_END


OPEN_END = math.inf  # a cue whose source gives no end: it ends where the next one starts
WORDS_PER_SECOND = 2.5  # 150 words a minute, a usual pace of conversation
SHORTEST_CUE = 1.0  # seconds: a last cue of one word is still shown long enough to read


def close_open_ends(cues: list[Cue], duration: float | None) -> list[Cue]:
    """Cues with an :data:`OPEN_END` ending where the next begins; the last one at the end
    of the recording (``duration`` seconds) when that is known and after it starts, else
    after the time its words take to say (150 words a minute, at least a second).

    >>> cues = close_open_ends([Cue(0, OPEN_END, "a"), Cue(4, OPEN_END, "b c d e f")], None)
    >>> [(cue.start, cue.end) for cue in cues]
    [(0, 4), (4, 6.0)]
    """
    closed = []
    for index, cue in enumerate(cues):
        if cue.end != OPEN_END:
            closed.append(cue)
            continue
        if index + 1 < len(cues):
            end = cues[index + 1].start
        elif duration and duration > cue.start:
            end = duration
        else:
            speaking = len(cue.text.split()) / WORDS_PER_SECOND
            end = round(cue.start + max(speaking, SHORTEST_CUE), 3)
        closed.append(Cue(cue.start, end, cue.text, cue.speaker))
    return closed


_START_KEY = re.compile(r'(?<!\\)"startTime"\s*:')


def _shown(value: object) -> str:
    return "missing" if value is None else json.dumps(value)


def _read_html(text: str, duration: float | None) -> Reading:
    from dfl_audio.caption_html import read_caption_page  # lxml loads only for these

    return read_caption_page(text, duration)


_READERS: dict[str, Callable[[str, float | None], Reading]] = {
    ".vtt": _read_vtt,
    ".srt": _read_srt,
    ".json": _read_json,
    ".html": _read_html,
}
