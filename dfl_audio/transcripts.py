"""Re-time transcripts: every cue moves later by the length of the intro played before it.

WebVTT and SRT go through webvtt-py (it keeps voice tags ``<v Speaker>``, notes, cue
identifiers and settings as written); Podcasting 2.0 JSON transcripts are plain JSON. A shift
of zero returns the file's own bytes, so an episode without an intro stores exactly its file.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import PurePosixPath
from typing import Any

import webvtt
from webvtt.errors import MalformedCaptionError, MalformedFileError

from dfl_audio.errors import TranscriptError

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
        kind = {".vtt": "WebVTT", ".srt": "SRT", ".json": "Podcasting 2.0 JSON"}[suffix]
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
            value = segment.get(field)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"segments[{index}].{field} must be a number of seconds")
            segment[field] = round(value + seconds, 3)
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


SHIFTERS: dict[str, Shifter] = {".vtt": _shift_vtt, ".srt": _shift_srt, ".json": _shift_json}
