"""Cues written as WebVTT, SRT, JSON and HTML read back as the same cues (hypothesis)."""

from __future__ import annotations

import io
import json

import lxml.html
import webvtt
from hypothesis import given
from hypothesis import strategies as st

from dfl_audio.transcript_cues import Cue, read_cues
from dfl_audio.transcript_write import SRT_BRACKETS, to_html, to_json, to_srt, to_vtt

words = st.text(
    st.characters(codec="utf-8", categories=("L", "N", "P", "S", "Zs")), min_size=1, max_size=200
).filter(lambda text: text.split())
names = st.none() | st.text(
    st.characters(codec="utf-8", categories=("L", "Zs")), min_size=1, max_size=30
).filter(lambda text: text.strip())


@st.composite
def cue_lists(draw: st.DrawFn) -> list[Cue]:
    """Ordered, non-overlapping cues with whole milliseconds, as every format can hold."""
    count = draw(st.integers(1, 8))
    cues, at = [], 0
    for _ in range(count):
        at += draw(st.integers(0, 5_000))
        length = draw(st.integers(1, 20_000))
        text = " ".join(draw(words).split())
        speaker = draw(names)
        cues.append(
            Cue(at / 1000, (at + length) / 1000, text, speaker and " ".join(speaker.split()))
        )
        at += length
    return cues


@given(cue_lists())
def test_webvtt_round_trip(cues: list[Cue]) -> None:
    back = read_cues(to_vtt(cues), "ep.vtt")
    assert [(c.start, c.end, c.speaker) for c in back] == [
        (c.start, c.end, c.speaker) for c in cues
    ]
    assert [" ".join(c.text.split()) for c in back] == [c.text for c in cues]


@given(cue_lists())
def test_srt_round_trip_with_the_speaker_before_the_words(cues: list[Cue]) -> None:
    captions = webvtt.from_buffer(io.StringIO(to_srt(cues).decode()), format="srt")
    said = [f"{c.speaker}: {c.text}" if c.speaker else c.text for c in cues]
    shown = [s.translate(SRT_BRACKETS) for s in said]  # SRT has no escapes
    assert [" ".join(c.text.split()) for c in captions] == shown
    assert [c.start_in_seconds for c in captions] == [int(c.start) for c in cues]


@given(cue_lists())
def test_json_round_trip(cues: list[Cue]) -> None:
    assert read_cues(to_json(cues), "ep.json") == cues
    assert json.loads(to_json(cues))["version"] == "1.0.0"


@given(cue_lists())
def test_html_has_a_time_and_paragraph_per_cue(cues: list[Cue]) -> None:
    page = lxml.html.fromstring(to_html(cues, title="T <&>", language="en"))
    assert [p.text_content() for p in page.iter("p")] == [c.text for c in cues]
    assert len(list(page.iter("time"))) == len(cues)
    assert page.findtext("head/title") == "Transcript: T <&>"
