"""Small real audio for the audio tests, made on the fly into a temp dir.

Speech comes from espeak-ng (installed system-wide); level, rate, channels and container are
then set by ffmpeg through pydub, the project's audio toolkit. Sines and noise are made with
numpy where a precisely known signal is the point.
"""

from __future__ import annotations

import subprocess
import wave
from pathlib import Path

import numpy as np
import numpy.typing as npt
from pydub import AudioSegment

from dfl_audio.ffmpeg_locate import ffmpeg_info

SENTENCES = (
    "Welcome back to Depth First Learning. Today we talk about attention and memory.",
    "The key idea is simple: compute a weighted average, where the weights come from "
    "how well each key matches the query.",
    "That sounds expensive. How did you make it fast enough to train on long sequences?",
)

# pydub encodes through ffmpeg: (pydub format, codec, extra parameters) per container.
EXPORTS: dict[str, tuple[str, str | None, list[str]]] = {
    "wav16": ("wav", "pcm_s16le", []),
    "wav24": ("wav", "pcm_s24le", []),
    "wav32": ("wav", "pcm_s32le", []),
    "wavf32": ("wav", "pcm_f32le", []),
    "flac": ("flac", "flac", []),
    "mp3": ("mp3", "libmp3lame", ["-b:a", "192k"]),
    "m4a": ("ipod", "aac", ["-b:a", "160k"]),
    "opus": ("ogg", "libopus", ["-b:a", "96k"]),
}
SUFFIX = {"wav": ".wav", "flac": ".flac", "mp3": ".mp3", "ipod": ".m4a", "ogg": ".ogg"}


def espeak(path: Path, text: str, voice: str = "en-us", speed: int = 165, pitch: int = 50) -> Path:
    """One utterance by espeak-ng as a 22.05 kHz mono WAV."""
    cmd = ["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", str(path), text]
    subprocess.run(cmd, check=True, capture_output=True)
    return path


def speech(folder: Path, seconds: float = 6.0) -> AudioSegment:
    """About ``seconds`` of two-voice conversational speech with short pauses (mono)."""
    AudioSegment.converter = ffmpeg_info().path
    voices = [("en-us", 165, 45), ("en-gb", 175, 60)]
    result = AudioSegment.silent(duration=300, frame_rate=22050)
    turn = 0
    while result.duration_seconds < seconds:
        voice, speed, pitch = voices[turn % 2]
        wav = espeak(folder / f"turn{turn}.wav", SENTENCES[turn % 3], voice, speed, pitch)
        result += AudioSegment.from_file(wav, format="wav") + AudioSegment.silent(250, 22050)
        turn += 1
    return result[: int(seconds * 1000)]


def export(
    segment: AudioSegment,
    folder: Path,
    name: str,
    kind: str = "wav16",
    *,
    gain_db: float = 0.0,
    rate: int = 48000,
    channels: int = 2,
) -> Path:
    """Write ``segment`` at a gain, rate and channel count into one of :data:`EXPORTS`."""
    fmt, codec, params = EXPORTS[kind]
    out = folder / f"{name}{SUFFIX[fmt]}"
    shaped = segment.set_frame_rate(rate).set_channels(channels).apply_gain(gain_db)
    if kind == "wavf32" or kind == "wav32" or kind == "wav24":
        shaped = shaped.set_sample_width(4)
    shaped.export(out, format=fmt, codec=codec, parameters=params)
    return out


def write_wav(path: Path, frames: npt.NDArray[np.float64], rate: int = 48000) -> Path:
    """A 16-bit WAV of float frames ``(n, channels)`` in [-1, 1] (clipped)."""
    data = np.clip(np.round(frames * 32767), -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(frames.shape[1])
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes(data.tobytes())
    return path


def sine(
    seconds: float, freq: float, level: float, rate: int = 48000, phase: float = 0.0
) -> npt.NDArray[np.float64]:
    t = np.arange(int(seconds * rate)) / rate
    return level * np.sin(2 * np.pi * freq * t + phase)


def run_ffmpeg(*args: str) -> None:
    """Run our ffmpeg for fixture plumbing (e.g. a video-only file)."""
    subprocess.run([ffmpeg_info().path, "-hide_banner", "-v", "error", "-y", *args], check=True)
