"""Transcripts as a list of timed cues: the one model every transcript output is made from.

A cue is what a listener sees highlighted while it is spoken: a start, an end, the words and,
when the source names one, the speaker. WebVTT and SRT are read by webvtt-py, Podcasting 2.0
JSON as plain JSON; the site's transcript and the published formats are written from cues.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
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


def read_cues(data: bytes, path: str) -> list[Cue]:
    """The cues of the transcript ``data`` read from ``path`` (the suffix says its format)."""
    suffix = PurePosixPath(path).suffix.lower()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TranscriptError(f"is not UTF-8 text ({exc.reason})", path, exc) from exc
    try:
        if suffix == ".vtt":
            return _captions(webvtt.from_string(text, strict=True))
        if suffix == ".srt":
            return _captions(webvtt.from_buffer(io.StringIO(text), format="srt"))
        if suffix == ".json":
            return _json_cues(json.loads(text))
    except (MalformedFileError, MalformedCaptionError, ValueError, TypeError) as exc:
        raise TranscriptError(f"is not a valid transcript: {exc}", path, exc) from exc
    raise TranscriptError(f"cannot read a {suffix or 'suffix-less'} transcript", path)


def _captions(captions: Any) -> list[Cue]:
    return [
        Cue(clock_seconds(c.start), clock_seconds(c.end), c.text, c.voice or None) for c in captions
    ]


def _json_cues(document: Any) -> list[Cue]:
    """Podcasting 2.0 JSON: ``{"version", "segments": [{"startTime", "endTime", "body",
    "speaker"}]}``."""
    segments = document.get("segments") if isinstance(document, dict) else None
    if not isinstance(segments, list):
        raise ValueError('expected {"version": ..., "segments": [...]}')
    cues = []
    for index, segment in enumerate(segments):
        if not isinstance(segment, dict):
            raise ValueError(f"segments[{index}] is not an object")
        start, end = segment.get("startTime"), segment.get("endTime")
        for field, value in (("startTime", start), ("endTime", end)):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"segments[{index}].{field} must be a number of seconds")
        speaker = segment.get("speaker")
        cues.append(
            Cue(
                float(start),  # type: ignore[arg-type]
                float(end),  # type: ignore[arg-type]
                str(segment.get("body", "")),
                speaker if isinstance(speaker, str) and speaker else None,
            )
        )
    return cues
