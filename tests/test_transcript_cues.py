"""read_cues: the one cue model every transcript format is read into."""

from __future__ import annotations

import json

import pytest

from dfl_audio.errors import TranscriptError
from dfl_audio.transcript_cues import Cue, read_cues


def test_vtt_keeps_milliseconds_and_the_voice() -> None:
    data = b"WEBVTT\n\n00:00:01.250 --> 00:00:02.500\n<v Emily Denton>Hello <b>there</b>\n"
    assert read_cues(data, "ep.vtt") == [Cue(1.25, 2.5, "Hello there", "Emily Denton")]


def test_srt_reads_comma_milliseconds() -> None:
    data = b"1\n00:01:01,100 --> 00:01:02,900\nHi\n"
    assert read_cues(data, "ep.srt") == [Cue(61.1, 62.9, "Hi", None)]


def test_json_segments_keep_the_speaker() -> None:
    doc = {
        "version": "1.0.0",
        "segments": [{"startTime": 0.5, "endTime": 3, "body": "Yes", "speaker": "Luke"}],
    }
    assert read_cues(json.dumps(doc).encode(), "ep.json") == [Cue(0.5, 3.0, "Yes", "Luke")]


@pytest.mark.parametrize(
    ("data", "path"),
    [
        (b"garbage not vtt", "ep.vtt"),
        (b'{"hello": 1}', "ep.json"),
        (b"\xff\xfe", "ep.srt"),
        (b"", "ep.txt"),
    ],
)
def test_unreadable_transcripts_are_refused(data: bytes, path: str) -> None:
    with pytest.raises(TranscriptError):
        read_cues(data, path)
