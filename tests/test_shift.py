"""Moving chapters and transcripts later by an intro's length: VTT, SRT, JSON and chapters."""

from __future__ import annotations

import json

import pytest
import webvtt
from hypothesis import given
from hypothesis import strategies as st

from dfl_audio.errors import TranscriptError
from dfl_audio.feed import chapters_json
from dfl_audio.models.episode import Chapter, shift_chapters
from dfl_audio.transcripts import shift_transcript

VTT = """WEBVTT
Kind: captions

NOTE recorded remotely; the host's line was quieter

intro
00:00:00.250 --> 00:00:02.697 align:start
<v Host>Welcome to the <i>Depth First</i> Learning interviews.

00:00:02.897 --> 00:00:05.453
<v.loud Guest>Thanks for having me.</v> Happy & glad to be here.

00:59:59.900 --> 01:00:01.000
<v Host>An hour in.
"""

SRT = """1
00:00:00,250 --> 00:00:02,697
Host: Welcome to the <i>Depth First</i> Learning interviews.

2
00:00:02,897 --> 00:00:05,453
Guest: Thanks for having me.
Happy to be here.
"""

JSON = {
    "version": "1.0.0",
    "segments": [
        {"speaker": "Host", "startTime": 0.25, "endTime": 2.697, "body": "Welcome"},
        {"speaker": "Guest", "startTime": 2.897, "endTime": 5.453, "body": "Thanks, merci à vous"},
    ],
}


def test_vtt_cues_move_and_everything_else_stays() -> None:
    shifted = shift_transcript(VTT.encode(), "ep.vtt", 3.5).decode()
    assert shifted == (
        VTT.replace("00:00:00.250 --> 00:00:02.697", "00:00:03.750 --> 00:00:06.197")
        .replace("00:00:02.897 --> 00:00:05.453", "00:00:06.397 --> 00:00:08.953")
        .replace("00:59:59.900 --> 01:00:01.000", "01:00:03.400 --> 01:00:04.500")
    )
    captions = webvtt.from_string(shifted)
    assert [caption.voice for caption in captions] == ["Host", "Guest", "Host"]


def test_srt_cues_move_and_text_stays() -> None:
    shifted = shift_transcript(SRT.encode(), "ep.srt", 3.5).decode()
    assert shifted == SRT.replace(
        "00:00:00,250 --> 00:00:02,697", "00:00:03,750 --> 00:00:06,197"
    ).replace("00:00:02,897 --> 00:00:05,453", "00:00:06,397 --> 00:00:08,953")


def test_json_segments_move_and_other_fields_stay() -> None:
    shifted = json.loads(shift_transcript(json.dumps(JSON).encode(), "ep.json", 3.5))
    assert shifted["version"] == "1.0.0"
    assert [(s["startTime"], s["endTime"]) for s in shifted["segments"]] == [
        (3.75, 6.197),
        (6.397, 8.953),
    ]
    assert [s["body"] for s in shifted["segments"]] == ["Welcome", "Thanks, merci à vous"]
    assert [s["speaker"] for s in shifted["segments"]] == ["Host", "Guest"]


@pytest.mark.parametrize("name", ["ep.vtt", "ep.srt", "ep.json"])
def test_no_intro_keeps_the_files_own_bytes(name: str) -> None:
    data = b"\xef\xbb\xbfanything at all\r\n"
    assert shift_transcript(data, name, 0.0) is data


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("ep.vtt", b"not a transcript", "is not a valid"),
        ("ep.vtt", b"WEBVTT\n\n00:00:01.000 --> 00:0x:02.000\nhi\n", "is not a valid"),
        ("ep.srt", b"garbage\n", "is not a valid"),
        ("ep.json", b"[1, 2]", "segments"),
        ("ep.json", b'{"segments": [{"startTime": "1", "endTime": 2}]}', "startTime"),
        ("ep.vtt", b"\xff\xfe", "not UTF-8"),
        ("ep.txt", b"hello", "cannot re-time a .txt"),
    ],
)
def test_unreadable_transcripts_name_the_file(name: str, data: bytes, message: str) -> None:
    with pytest.raises(TranscriptError, match=message) as caught:
        shift_transcript(data, f"episodes/{name}", 2.0)
    assert str(caught.value).startswith(f"episodes/{name}: ")


def test_chapters_move_and_keep_their_titles_and_links() -> None:
    chapters = (
        Chapter(start=0, title="Welcome"),
        Chapter(start=3, title="Hello", url="https://example.org/"),
    )
    shifted = shift_chapters(chapters, 3.7)
    assert [(c.start, c.title, c.url) for c in shifted] == [
        (3.7, "Welcome", None),
        (6.7, "Hello", "https://example.org/"),
    ]
    assert chapters[0].start == 0  # the originals are untouched
    document = json.loads(chapters_json(shifted))
    assert [c["startTime"] for c in document["chapters"]] == [3.7, 6.7]
    assert shift_chapters(chapters, 0.0) == chapters


@given(
    starts=st.lists(st.integers(0, 10_000_000), min_size=1, max_size=20, unique=True),
    intro_ms=st.integers(0, 60_000),
)
def test_chapters_shift_to_the_millisecond(starts: list[int], intro_ms: int) -> None:
    chapters = [Chapter(start=ms / 1000, title=f"c{ms}") for ms in sorted(starts)]
    shifted = shift_chapters(chapters, intro_ms / 1000)
    assert [round(c.start * 1000) for c in shifted] == [ms + intro_ms for ms in sorted(starts)]
