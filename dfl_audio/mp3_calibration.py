"""How much LAME changes the level, measured once per ffmpeg build and MP3 format.

The loudness target holds on the MP3, not on the PCM handed to LAME: its CBR modes lower the
level by a few tenths of a dB. A 1 s round trip of speech-band noise through ffmpeg measures
that offset for the installed build, and a small JSON cache keeps it.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import subprocess
from pathlib import Path

import numpy as np

from dfl_audio.errors import AudioError
from dfl_audio.ffmpeg import base_command, ffmpeg_info
from dfl_audio.fsutil import atomic_write_bytes

CACHE_ENV_VAR = "DFL_AUDIO_CACHE"  # folder for the encoder calibration (else XDG cache)


@functools.cache
def mp3_level_offset(sample_rate: int, channels: int, bitrate_kbps: int) -> float:
    """dB the MP3 encoder changes the level by (LAME's CBR modes lower it ~0.45 dB at 128k).

    Measured by a 1 s round trip of speech-band noise through pipes, so the loudness target
    holds on the MP3 itself whatever LAME build is installed. The ~0.3 s round trip (two
    ffmpeg starts) is done once per ffmpeg build and setting, then kept in a small JSON file
    (``$DFL_AUDIO_CACHE`` or the XDG cache folder); an unreadable cache is just remeasured.
    """
    info = ffmpeg_info()
    key = f"{info.path}|{info.version}|{sample_rate}|{channels}|{bitrate_kbps}"
    cache = _cache_file()
    known = _read_cache(cache)
    cached = known.get(key)
    if isinstance(cached, float):
        return cached
    offset = _calibrate(sample_rate, channels, bitrate_kbps)
    known[key] = offset
    with contextlib.suppress(OSError):
        atomic_write_bytes(cache, json.dumps(known, indent=1, sort_keys=True).encode())
    return offset


def _cache_file() -> Path:
    folder = os.environ.get(CACHE_ENV_VAR)
    if not folder:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
        folder = os.path.join(base, "dfl-audio")
    return Path(folder) / "mp3-level-offset.json"


def _read_cache(path: Path) -> dict[str, object]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _calibrate(sample_rate: int, channels: int, bitrate_kbps: int) -> float:
    """The round trip itself: encode band-limited noise, decode it, compare the levels."""
    rng = np.random.default_rng(1770)
    noise = rng.standard_normal((sample_rate, channels))
    spectrum = np.fft.rfft(noise, axis=0)
    freqs = np.fft.rfftfreq(len(noise), 1 / sample_rate)[:, None]
    spectrum *= (freqs > 100) & (freqs < 6000)
    signal_ = np.fft.irfft(spectrum, n=len(noise), axis=0)
    signal_ *= 0.05 / np.sqrt(np.mean(signal_**2))
    pcm = signal_.astype("<f4").tobytes()
    fmt = ["-f", "f32le", "-ar", str(sample_rate), "-ac", str(channels)]
    encode = [*base_command(), "-v", "error", *fmt, "-i", "pipe:0", "-c:a", "libmp3lame"]
    encode += ["-b:a", f"{bitrate_kbps}k", "-f", "mp3", "pipe:1"]
    decode = [*base_command(), "-v", "error", "-f", "mp3", "-i", "pipe:0", *fmt, "pipe:1"]
    try:
        mp3 = subprocess.run(encode, input=pcm, capture_output=True, check=True, timeout=60)
        back = subprocess.run(decode, input=mp3.stdout, capture_output=True, check=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as exc:
        raise AudioError(f"cannot calibrate the MP3 encoder: {exc}", original=exc) from exc
    decoded = np.frombuffer(back.stdout, dtype="<f4").astype(np.float64)
    middle = decoded[len(decoded) // 6 : -len(decoded) // 6]
    reference = signal_.reshape(-1)[len(decoded) // 6 : -len(decoded) // 6]
    return float(10 * np.log10(np.mean(middle**2) / np.mean(reference**2)))
