"""prepare_clip on real clips: espeak-ng speech and sines, decoded by ffmpeg, metered by
pyloudnorm (an independent BS.1770 meter)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyloudnorm
import pytest
from audio_fixtures import export, sine, speech, write_wav
from pydub import AudioSegment

from dfl_audio.audio.assemble import (
    FADE_IN_MS,
    FADE_OUT_MS,
    MAX_CLIP_SECONDS,
    prepare_clip,
    probe_clip,
)
from dfl_audio.errors import AudioError


@pytest.fixture(scope="module")
def voice(tmp_path_factory: pytest.TempPathFactory) -> AudioSegment:
    """Four seconds of espeak-ng speech (mono, 22.05 kHz)."""
    return speech(tmp_path_factory.mktemp("speech"), 4.0)


def _padded(voice: AudioSegment, lead_ms: int, tail_ms: int) -> AudioSegment:
    rate = voice.frame_rate
    return AudioSegment.silent(lead_ms, rate) + voice + AudioSegment.silent(tail_ms, rate)


def _lufs(frames: npt.NDArray[np.float32], rate: int) -> float:
    return float(pyloudnorm.Meter(rate).integrated_loudness(frames.astype(np.float64)))


def _rms(frames: npt.NDArray[np.float32]) -> float:
    return float(np.sqrt(np.mean(frames.astype(np.float64) ** 2)))


def test_silence_at_both_ends_is_trimmed(voice: AudioSegment, tmp_path: Path) -> None:
    tight = export(_padded(voice, 0, 0), tmp_path, "tight", "wav16", rate=44100, channels=1)
    loose = export(_padded(voice, 1500, 2500), tmp_path, "loose", "flac", rate=44100, channels=1)
    a = prepare_clip(tight, sample_rate=44100, channels=1, loudness_lufs=-20)
    b = prepare_clip(loose, sample_rate=44100, channels=1, loudness_lufs=-20)
    assert b.trimmed_lead - a.trimmed_lead == pytest.approx(1.5, abs=0.011)
    assert b.trimmed_tail - a.trimmed_tail == pytest.approx(2.5, abs=0.011)
    assert b.seconds == pytest.approx(a.seconds, abs=0.011)
    assert a.seconds < len(voice) / 1000  # espeak's own edge silence went too
    assert b.path == loose


def test_fades_in_and_out(tmp_path: Path) -> None:
    tone = np.concatenate([np.zeros(24000), sine(3.0, 440, 0.3), np.zeros(24000)])
    clip_file = write_wav(tmp_path / "tone.wav", tone[:, None])
    clip = prepare_clip(clip_file, sample_rate=48000, channels=1, loudness_lufs=-20)
    frames = clip.frames[:, 0]
    ms = 48  # samples per millisecond
    steady = _rms(frames[len(frames) // 2 - 4800 : len(frames) // 2 + 4800])
    assert clip.seconds == pytest.approx(3.0, abs=0.011)
    assert _rms(frames[: 2 * ms]) < 0.2 * steady  # the first 2 ms of a 20 ms fade-in
    assert _rms(frames[(FADE_IN_MS + 10) * ms : (FADE_IN_MS + 30) * ms]) > 0.95 * steady
    before_end = _rms(frames[-110 * ms : -90 * ms])  # 100 ms before the end of a 500 ms fade
    assert before_end / steady == pytest.approx(100 / FADE_OUT_MS, abs=0.05)
    assert abs(float(frames[-1])) < 0.01 * steady


@pytest.mark.parametrize(("channels", "rate", "target"), [(1, 44100, -16.0), (2, 48000, -19.0)])
def test_loudness_matches_the_show(
    voice: AudioSegment, tmp_path: Path, channels: int, rate: int, target: float
) -> None:
    loud = export(voice, tmp_path, "loud", "mp3", gain_db=3.0, rate=22050, channels=1)
    clip = prepare_clip(loud, sample_rate=rate, channels=channels, loudness_lufs=target)
    assert clip.frames.dtype == np.float32
    assert clip.frames.shape == (round(clip.seconds * rate), channels)
    assert (clip.sample_rate, clip.channels) == (rate, channels)
    assert _lufs(clip.frames, rate) == pytest.approx(target, abs=0.5)


def test_a_quiet_clip_is_raised(voice: AudioSegment, tmp_path: Path) -> None:
    quiet = export(voice, tmp_path, "quiet", "wav16", gain_db=-20.0, rate=44100, channels=1)
    clip = prepare_clip(quiet, sample_rate=44100, channels=1, loudness_lufs=-24)
    assert clip.gain_db > 10
    assert _lufs(clip.frames, 44100) == pytest.approx(-24, abs=0.5)


def test_probe_gives_the_length(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "five.wav", sine(5.0, 300, 0.2, rate=16000)[:, None], rate=16000)
    assert probe_clip(path) == pytest.approx(5.0, abs=0.01)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d / "missing.wav", "file not found"),
        (lambda d: _text(d / "notes.wav"), "not readable audio"),
        (lambda d: write_wav(d / "silent.wav", np.zeros((48000, 1))), "silent"),
        (lambda d: write_wav(d / "blip.wav", sine(0.2, 440, 0.3)[:, None]), "too short"),
        (
            lambda d: write_wav(
                d / "long.wav", sine(MAX_CLIP_SECONDS + 1, 300, 0.2, rate=8000)[:, None], 8000
            ),
            "longer than 60 s",
        ),
    ],
)
def test_failures_name_the_clip(tmp_path: Path, make: object, message: str) -> None:
    assert callable(make)
    path = make(tmp_path)
    with pytest.raises(AudioError, match=message) as caught:
        prepare_clip(path, sample_rate=44100, channels=1, loudness_lufs=-16)
    assert caught.value.path == str(path)
    assert str(caught.value).startswith(f"{path}: ")


def _text(path: Path) -> Path:
    path.write_text("not audio at all\n", encoding="utf-8")
    return path


def test_importing_pydub_without_ffmpeg_on_path_is_quiet() -> None:
    """On a pip-only machine pydub warns at import; dfl-audio filters exactly that warning."""
    env = {"PATH": "/nonexistent"}
    plain = subprocess.run(
        [sys.executable, "-c", "import pydub"], env=env, capture_output=True, text=True
    )
    assert "Couldn't find ffmpeg or avconv" in plain.stderr  # the warning this is about
    ours = subprocess.run(
        [sys.executable, "-W", "error::RuntimeWarning", "-c", "import dfl_audio.audio.assemble"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert ours.returncode == 0, ours.stderr
    assert ours.stderr == ""
