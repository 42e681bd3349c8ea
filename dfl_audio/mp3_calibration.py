"""How much LAME changes the level, measured once per ffmpeg build and MP3 format.

The loudness target holds on the MP3, not on the PCM handed to LAME: its CBR modes lower the
level by a few tenths of a dB. A 1 s round trip of speech-band noise through ffmpeg measures
that offset for the installed build, and the user's cache keeps it.
"""

from __future__ import annotations

import functools
import subprocess

import numpy as np

from dfl_audio import user_cache
from dfl_audio.errors import AudioError
from dfl_audio.ffmpeg import base_command
from dfl_audio.ffmpeg_locate import ffmpeg_info

CACHE_ENV_VAR = user_cache.CACHE_ENV_VAR  # folder for the calibration (else the XDG cache)
CACHE_NAME = "mp3-level-offset.json"


@functools.cache
def mp3_level_offset(sample_rate: int, channels: int, bitrate_kbps: int) -> float:
    """dB the MP3 encoder changes the level by (LAME's CBR modes lower it ~0.45 dB at 128k).

    Measured by a 1 s round trip of speech-band noise through pipes, so the loudness target
    holds on the MP3 itself whatever LAME build is installed. The ~0.3 s round trip (two
    ffmpeg starts) is done once per ffmpeg build and setting, then kept in the user's cache
    (:mod:`dfl_audio.user_cache`); an unreadable cache is just remeasured.
    """
    info = ffmpeg_info()
    key = f"{info.path}|{info.version}|{sample_rate}|{channels}|{bitrate_kbps}"
    cached = user_cache.recall(CACHE_NAME, key)
    if isinstance(cached, float):
        return cached
    offset = _calibrate(sample_rate, channels, bitrate_kbps)
    user_cache.remember(CACHE_NAME, key, offset)
    return offset


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
