"""The transcripts publish stores: one source, every format, each timed as the MP3 plays.

From an episode's one ``transcript:`` file (WebVTT, SRT, Podcasting 2.0 JSON or a DFL caption
page) publish makes WebVTT, SRT, JSON and the spec's HTML, every cue moved later by the intro
played before the interview. The source's own format keeps the file as the editor wrote it
(re-timed by :func:`shift_transcript`: webvtt-py keeps voice tags, notes, cue identifiers and
settings; a shift of zero stores exactly the file); the others are written from its cues.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

import webvtt
from webvtt.errors import MalformedCaptionError, MalformedFileError

from dfl_audio.errors import TranscriptError
from dfl_audio.mediatypes import TRANSCRIPT_OUTPUTS
from dfl_audio.transcript_cues import FORMAT_NAMES, read_cues
from dfl_audio.transcript_write import WRITERS, caption_cues, shifted_cues, to_html

CAPTIONS = (".vtt", ".srt")  # listed with rel="captions": shown on screen as the cue plays

Shifter = Callable[[str, float], str]


def shift_transcript(data: bytes, path: str, seconds: float) -> bytes:
    """The transcript ``data`` (read from ``path``) with every time ``seconds`` later.

    >>> shift_transcript(b"x", "ep.vtt", 0.0)
    b'x'
    """
    suffix = PurePosixPath(path).suffix.lower()
    shifter = SHIFTERS.get(suffix)
    if shifter is None:
        raise TranscriptError(f"cannot re-time a {suffix or 'suffix-less'} transcript", path)
    if seconds == 0:
        return data
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TranscriptError(f"is not UTF-8 text ({exc.reason})", path, exc) from exc
    try:
        return shifter(text, seconds).encode()
    except (MalformedFileError, MalformedCaptionError, ValueError, TypeError) as exc:
        kind = FORMAT_NAMES[suffix]
        raise TranscriptError(f"is not a valid {kind} transcript: {exc}", path, exc) from exc


def _shift_vtt(text: str, seconds: float) -> str:
    captions = webvtt.from_string(text, strict=True)
    captions.shift(seconds)
    return captions.content


def _shift_srt(text: str, seconds: float) -> str:
    captions = webvtt.from_buffer(io.StringIO(text), format="srt")
    captions.shift(seconds)
    out = io.StringIO()
    captions.write(out, format="srt", keep_formatting=True)  # keep <i>, <b>, <font> as written
    written = out.getvalue()
    return written if written.endswith("\n") else written + "\n"


def _shift_json(text: str, seconds: float) -> str:
    """Podcasting 2.0 JSON: ``{"version", "segments": [{"startTime", "endTime", ...}]}``."""
    document: Any = json.loads(text)
    segments = document.get("segments") if isinstance(document, dict) else None
    if not isinstance(segments, list):
        raise ValueError('expected {"version": ..., "segments": [...]}')
    for index, segment in enumerate(segments):
        if not isinstance(segment, dict):
            raise ValueError(f"segments[{index}] is not an object")
        for field in ("startTime", "endTime"):
            if field == "endTime" and field not in segment:  # optional in the spec
                continue
            value = segment.get(field)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"segments[{index}].{field} must be a number of seconds")
            segment[field] = round(value + seconds, 3)
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


SHIFTERS: dict[str, Shifter] = {".vtt": _shift_vtt, ".srt": _shift_srt, ".json": _shift_json}


@dataclass(frozen=True)
class TranscriptSource:
    """An episode's transcript file and what its published forms depend on."""

    path: str  # repository-relative: its suffix says the format
    data: bytes
    shift: float  # the intro's length: every cue moves this much later
    duration: float | None  # the interview's length, which ends a caption page's last cue
    title: str  # the episode's: the HTML transcript's title
    language: str  # the show's: the HTML transcript's language


def published_transcripts(source: TranscriptSource) -> dict[str, bytes]:
    """Suffix → bytes of every published format (:data:`TRANSCRIPT_OUTPUTS`), in feed order.

    Cues without words are left out of the written formats: there is nothing to show.
    """
    own = PurePosixPath(source.path).suffix.lower()
    cues = read_cues(source.data, source.path, duration=source.duration)
    cues = [cue for cue in shifted_cues(cues, source.shift) if cue.text.strip()]
    made: dict[str, bytes] = {}
    for suffix in TRANSCRIPT_OUTPUTS:
        if suffix == own and suffix in SHIFTERS:
            made[suffix] = shift_transcript(source.data, source.path, source.shift)
        elif suffix == ".html":
            made[suffix] = to_html(cues, title=source.title, language=source.language)
        else:  # WebVTT and SRT are captions: at most two lines on screen at once
            made[suffix] = WRITERS[suffix](caption_cues(cues) if suffix in CAPTIONS else cues)
    return made
