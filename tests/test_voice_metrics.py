"""The judge is judged: each metric on signals whose answer is known."""

from __future__ import annotations

import math
import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from corpus import make_recording
from voice_metrics import (
    Audio,
    align,
    compare,
    crest_db,
    crest_losses,
    decode,
    ffmpeg,
    integrated_and_true_peak,
    voices_apart_db,
)

RATE = 16000


@dataclass(frozen=True)
class Span:
    start_s: float
    end_s: float
    speaker: str


def babble(seconds: float, seed: int) -> Audio:
    """Speech-like: noise in syllable-rate bursts (crest well above a sine's)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    envelope = np.abs(np.sin(2 * math.pi * 3.0 * t)) ** 3
    noise: Audio = (rng.standard_normal(len(t)) * envelope * 0.1).astype(np.float32)
    return noise


def write_wav(path: Path, samples: Audio, rate: int = RATE) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes((np.clip(samples, -1, 1) * 32767).round().astype("<i2").tobytes())
    return path


def test_a_sentence_made_6_db_louder_loses_no_crest() -> None:
    sentence = babble(2.0, 1)
    span = [Span(0.0, 2.0, "host")]
    assert crest_losses(sentence, sentence * 2, RATE, span) == pytest.approx([0.0], abs=1e-4)


def test_a_hard_clipped_sentence_loses_crest() -> None:
    sentence = babble(2.0, 2)
    clipped = np.clip(sentence * 8, -0.5, 0.5)
    [loss] = crest_losses(sentence, clipped, RATE, [Span(0.0, 2.0, "host")])
    assert loss > 6.0


def test_crest_of_a_sine_is_3_db() -> None:
    sine = np.sin(2 * math.pi * 440 * np.arange(RATE) / RATE).astype(np.float32)
    assert crest_db(sine) == pytest.approx(3.01, abs=0.01)


def test_two_voices_8_db_apart_measure_8() -> None:
    host, guest = babble(4.0, 3) * 10 ** (-8 / 20), babble(4.0, 4)
    both = np.concatenate([host, guest])
    spans = [Span(0.0, 4.0, "host"), Span(4.0, 8.0, "guest")]
    assert voices_apart_db(both, RATE, spans) == pytest.approx(8.0, abs=0.3)
    assert voices_apart_db(both, RATE, spans[:1]) == 0.0


def test_align_finds_a_delay_and_honours_a_known_offset() -> None:
    source = babble(6.0, 5)
    delayed = np.concatenate([np.zeros(123, np.float32), source * 0.5])
    assert align(source, delayed, RATE) == 123
    intro = np.concatenate([np.zeros(RATE * 2, np.float32), delayed])
    assert align(source, intro, RATE, offset_s=2.0) == 123


def test_ffmpeg_judge_reads_a_known_sine(tmp_path: Path) -> None:
    """A 997 Hz sine at -20 dBFS is -23 LUFS (BS.1770 calibration) and about -20 dBTP."""
    t = np.arange(RATE * 5) / 48000
    sine = (0.1 * np.sin(2 * math.pi * 997 * t)).astype(np.float32)
    lufs, peak = integrated_and_true_peak(write_wav(tmp_path / "sine.wav", sine, 48000))
    assert lufs == pytest.approx(-23.0, abs=0.1)
    assert peak == pytest.approx(-20.0, abs=0.2)


def test_compare_an_mp3_that_is_only_quieter(tmp_path: Path) -> None:
    """A plain -6 dB gain through LAME: aligned, gap kept, sentences' crest kept."""
    recording = make_recording("two-voices", tmp_path, 15.0)
    mp3 = tmp_path / "quieter.mp3"
    cmd = [ffmpeg(), "-v", "error", "-i", str(recording.path), "-af", "volume=-6dB"]
    subprocess.run([*cmd, "-c:a", "libmp3lame", "-b:a", "192k", str(mp3)], check=True)
    report = compare(recording.path, mp3, recording.sentences)
    assert report.lag_samples == 0
    assert report.voices_apart_out_db == pytest.approx(report.voices_apart_src_db, abs=0.2)
    assert abs(report.crest_loss_median_db) < 0.3
    assert len(decode(mp3, 48000)) == pytest.approx(15.0 * 48000, abs=10)
