"""Intros and outros: a short clip made ready to play before or after an episode.

ffmpeg decodes the clip at the episode's output rate and channel count; pydub does the
editing (trim the silence at both ends, fade in and out, apply the gain); our BS.1770 meter
decides the gain, so the clip is as loud as the show. The result is float32 frames the
encoder takes as they are, before or after the interview's own frames.

This is the only module that imports pydub.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from dfl_audio import ffmpeg, ffmpeg_locate
from dfl_audio.audio import tuning
from dfl_audio.audio.bs1770 import ABSOLUTE_GATE_LUFS, lin_to_db
from dfl_audio.audio.meter import Profile, profile_of
from dfl_audio.errors import AudioError

with warnings.catch_warnings():
    # pydub looks for ffmpeg on PATH when imported and warns if it is absent (a pip-only
    # machine runs imageio-ffmpeg's binary instead); we point pydub at our ffmpeg ourselves.
    warnings.filterwarnings(
        "ignore", message="Couldn't find ffmpeg or avconv", category=RuntimeWarning
    )
    from pydub import AudioSegment
    from pydub.silence import detect_leading_silence

log = logging.getLogger(__name__)

T = TypeVar("T")

MAX_CLIP_SECONDS = tuning.MAX_CLIP_SECONDS
FADE_IN_MS = tuning.CLIP_FADE_IN_MS
FADE_OUT_MS = tuning.CLIP_FADE_OUT_MS
SILENCE_DBFS = tuning.CLIP_SILENCE_DBFS
SILENCE_CHUNK_MS = tuning.CLIP_SILENCE_CHUNK_MS
_PROBE_RATE = 8000  # validation only needs to know the clip decodes and how long it is
_INT32_SCALE = 2.0**31  # pydub edits 32-bit integers: the edit adds no audible quantization
_DECODE_CHUNK = 1 << 15


@dataclass(frozen=True, eq=False)
class Clip:
    """A prepared intro or outro: float32 frames ``(n, channels)`` at the output rate."""

    path: Path
    frames: npt.NDArray[np.float32]
    sample_rate: int
    seconds: float  # the length after trimming: how far it moves what follows it
    trimmed_lead: float  # seconds of silence cut from the start
    trimmed_tail: float  # seconds of silence cut from the end
    gain_db: float  # applied to reach the loudness target
    true_peak_dbtp: float  # of the prepared frames; the encoder gets them as they are

    @property
    def channels(self) -> int:
        return int(self.frames.shape[1])


def prepare_clip(path: Path, *, sample_rate: int, channels: int, loudness_lufs: float) -> Clip:
    """Decode, trim, fade and level a clip; every failure is an AudioError naming ``path``."""
    path = Path(path)
    AudioSegment.converter = ffmpeg_locate.ffmpeg_info().path  # pydub never searches PATH itself
    decoded = _decode(path, sample_rate, channels, MAX_CLIP_SECONDS)
    segment = _pydub_call(path, "read", _to_segment, decoded, sample_rate)
    lead, tail = _pydub_call(path, "find the silence in", _silent_edges, segment)
    if lead + tail >= len(segment):
        raise AudioError(f"the clip is silent (nothing above {SILENCE_DBFS:g} dBFS)", path)
    edited = _pydub_call(path, "fade", _trim_and_fade, segment, lead, tail)
    gain_db = loudness_lufs - _integrated_lufs(path, _to_frames(edited), sample_rate)
    leveled = _pydub_call(path, "apply gain to", edited.apply_gain, gain_db)
    frames = _to_frames(leveled)
    peak_dbtp = lin_to_db(_meter(frames, sample_rate).true_peak)  # the limiter will catch it
    return Clip(
        path=path,
        frames=frames,
        sample_rate=sample_rate,
        seconds=len(frames) / sample_rate,
        trimmed_lead=lead / 1000,
        trimmed_tail=tail / 1000,
        gain_db=gain_db,
        true_peak_dbtp=peak_dbtp,
    )


def probe_clip(path: Path, max_seconds: float = MAX_CLIP_SECONDS) -> float:
    """Seconds of audio in ``path``; AudioError if it is not audio or longer than allowed.

    Decodes at most ``max_seconds`` and a little more, so a long file is refused quickly.
    """
    frames = _decode(Path(path), _PROBE_RATE, 1, max_seconds)
    return len(frames) / _PROBE_RATE


def _decode(
    path: Path, sample_rate: int, channels: int, max_seconds: float
) -> npt.NDArray[np.float32]:
    """The clip as float frames, read by our ffmpeg; stop reading past ``max_seconds``."""
    if not path.is_file():
        raise AudioError("file not found", path)
    limit = int(max_seconds * sample_rate)
    chunks: list[npt.NDArray[np.float32]] = []
    total = 0
    with ffmpeg.decode(path, channels, sample_rate) as decoder:
        for chunk in decoder.chunks(_DECODE_CHUNK):
            chunks.append(chunk.copy())
            total += len(chunk)
            if total > limit:
                raise AudioError(
                    f"longer than {max_seconds:g} s: an intro or outro must be a short clip",
                    path,
                )
        report = decoder.report
    if report is not None and report.failed:
        raise AudioError(f"not readable audio: {report.reason(path)}", path)
    if not total:
        raise AudioError("no audio in the file", path)
    return np.concatenate(chunks)


def _to_segment(frames: npt.NDArray[np.float32], sample_rate: int) -> Any:
    """pydub's AudioSegment of float frames, as 32-bit integers (full scale clipped)."""
    ints = np.clip(np.rint(frames.astype(np.float64) * _INT32_SCALE), -_INT32_SCALE, 2**31 - 1)
    data = ints.astype("<i4").tobytes()
    return AudioSegment(data=data, sample_width=4, frame_rate=sample_rate, channels=frames.shape[1])


def _to_frames(segment: Any) -> npt.NDArray[np.float32]:
    ints = np.frombuffer(segment.raw_data, dtype="<i4").reshape(-1, segment.channels)
    return (ints.astype(np.float64) / _INT32_SCALE).astype(np.float32)


def _silent_edges(segment: Any) -> tuple[int, int]:
    """Milliseconds of silence at the start and at the end."""
    lead = detect_leading_silence(segment, SILENCE_DBFS, SILENCE_CHUNK_MS)
    tail = detect_leading_silence(segment.reverse(), SILENCE_DBFS, SILENCE_CHUNK_MS)
    return int(lead), int(tail)


def _trim_and_fade(segment: Any, lead: int, tail: int) -> Any:
    trimmed = segment[lead : len(segment) - tail]
    half = len(trimmed) // 2  # a very short clip fades over half its length at most
    return trimmed.fade_in(min(FADE_IN_MS, half)).fade_out(min(FADE_OUT_MS, half))


def _meter(frames: npt.NDArray[np.float32], sample_rate: int) -> Profile:
    return profile_of(frames, sample_rate)


def _integrated_lufs(path: Path, frames: npt.NDArray[np.float32], sample_rate: int) -> float:
    lufs = _meter(frames, sample_rate).integrated_lufs()
    if not lufs > ABSOLUTE_GATE_LUFS:
        raise AudioError(
            "too short or too quiet to measure its loudness (BS.1770 needs 0.4 s of sound)",
            path,
        )
    return lufs


def _pydub_call(path: Path, action: str, func: Callable[..., T], *args: Any) -> T:
    """Call pydub, turning whatever it raises (audioop errors, ValueError) into AudioError."""
    try:
        return func(*args)
    except Exception as exc:  # pydub and audioop raise assorted types
        raise AudioError(f"pydub could not {action} the clip: {exc}", path, exc) from exc
