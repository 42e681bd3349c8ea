"""The corpus is what its truth says: formats, levels, clipping, music, determinism."""

from __future__ import annotations

import hashlib
import math
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
from corpus import NAMES, SPECS, Recording, make_recording
from corpus_project import corpus_recordings
from voice_metrics import decode, ebur128, ffmpeg, voices_apart_db

__all__ = ["corpus_recordings"]

CODECS = {"s16": "pcm_s16le", "s24": "pcm_s24le", "s32": "pcm_s32le", "f32": "pcm_f32le"}
Corpus = dict[str, Recording]


def stream(path: Path) -> str:
    """ffmpeg's description of the first audio stream (``Audio: pcm_s16le, 48000 Hz, ...``)."""
    done = subprocess.run([ffmpeg(), "-hide_banner", "-i", str(path)], capture_output=True)
    found = re.search(r"Audio: (.*)", done.stderr.decode())
    assert found, done.stderr.decode()
    return found.group(1)


@pytest.mark.parametrize("name", NAMES)
def test_file_is_in_its_format(corpus_recordings: Corpus, name: str) -> None:
    recording = corpus_recordings[name]
    found = stream(recording.path)
    codec = {"wav": CODECS[recording.fmt], "flac": "flac", "mp3": "mp3"}[recording.container]
    layout = {1: "mono", 2: "stereo"}[recording.channels]
    assert found.startswith(f"{codec}") and f"{recording.sample_rate} Hz, {layout}" in found


@pytest.mark.parametrize("name", NAMES)
def test_truth_matches_the_file(corpus_recordings: Corpus, name: str) -> None:
    recording = corpus_recordings[name]
    loaded = Recording.from_json(recording.path.parent, recording.truth_path.read_text())
    assert loaded == recording
    assert set(recording.speakers()) == {"host", "guest"}
    ends = [s.end_s for s in recording.sentences]
    starts = [s.start_s for s in recording.sentences]
    assert all(a < b for a, b in zip(starts, ends, strict=True))
    assert all(b <= c for b, c in zip(ends, starts[1:], strict=False)), "sentences overlap"
    assert ends[-1] <= recording.seconds


@pytest.mark.parametrize("name", [n for n in NAMES if n != "clipped"])
def test_loudness_is_the_one_asked_for(corpus_recordings: Corpus, name: str) -> None:
    recording = corpus_recordings[name]
    measured = ebur128(["-i", str(recording.path)])
    assert measured.integrated_lufs == pytest.approx(SPECS[name].target_lufs, abs=0.6)
    assert recording.clipped_samples == 0
    assert measured.true_peak_dbtp < 0.5


def test_clipped_is_driven_into_full_scale(corpus_recordings: Corpus) -> None:
    recording = corpus_recordings["clipped"]
    assert recording.clipped_samples > 0.005 * recording.seconds * recording.sample_rate * 2
    assert recording.measured_lufs > -10


def test_hot_is_loud_but_not_clipped(corpus_recordings: Corpus) -> None:
    recording = corpus_recordings["hot"]
    assert recording.measured_lufs == pytest.approx(-10, abs=0.5)
    assert -1.5 < recording.peak_dbfs < 0 and recording.clipped_samples == 0


def test_two_voices_are_8_db_apart(corpus_recordings: Corpus) -> None:
    recording = corpus_recordings["two-voices"]
    audio = decode(recording.path, recording.sample_rate)
    assert voices_apart_db(audio, recording.sample_rate, recording.sentences) == pytest.approx(
        8.0, abs=1.5
    )


def test_music_intro_plays_music_before_the_first_word(corpus_recordings: Corpus) -> None:
    recording = corpus_recordings["music-intro"]
    intro = recording.music[0]
    assert intro.kind == "music" and recording.sentences[0].start_s >= intro.end_s
    assert intro.end_s == pytest.approx(0.15 * recording.seconds, abs=0.1)
    assert recording.sentences[0].role == "over-music"
    music = decode(recording.path, 44100, seconds=intro.end_s)
    assert 20 * math.log10(float(np.sqrt(np.mean(music**2)))) > -30


def test_noisy_room_has_its_noise_floor(corpus_recordings: Corpus) -> None:
    """The 0.5 s before the first sentence hold only the room noise."""
    recording = corpus_recordings["noisy-room"]
    lead = decode(recording.path, recording.sample_rate, seconds=0.45)
    assert 20 * math.log10(float(np.sqrt(np.mean(lead**2)))) == pytest.approx(-45, abs=1.5)


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    first = make_recording("phone-guest", tmp_path / "a", 8.0, seed=7)
    second = make_recording("phone-guest", tmp_path / "b", 8.0, seed=7)
    other = make_recording("phone-guest", tmp_path / "c", 8.0, seed=8)

    def digest(recording: Recording) -> str:
        return hashlib.sha256(recording.path.read_bytes()).hexdigest()

    assert digest(first) == digest(second) != digest(other)
    assert first.sentences == second.sentences
