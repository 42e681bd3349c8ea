"""The encode pass: conditioned frames → leveler and loudness gain → limiter → LAME.

One streaming pass over the spool (or the WAV): every sample gets the gain of the 10 ms gain
curve at its time (linear interpolation between sub-block centres), the limiter catches what
still reaches the ceiling, and the frames go straight into the MP3 encoder. The intro and
outro clips go through the same limiter and encoder, before and after. While LAME writes, the
growing MP3 is metered by ffmpeg's ``ebur128`` (:class:`Mp3Check`): its own true peak and
loudness are what the result reports, so the targets are checked on what listeners download.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from dfl_audio import ffmpeg
from dfl_audio.audio.arrays import Frames
from dfl_audio.audio.blocks import interpolate_blocks
from dfl_audio.audio.bs1770 import sub_block
from dfl_audio.audio.limiter import Limiter
from dfl_audio.audio.parked import ParkedArray

Progress = Callable[[float], None]


@dataclass(frozen=True)
class Mp3Measure:
    """The MP3 as ffmpeg's ``ebur128=peak=true`` reads it (0.1 dB resolution)."""

    lufs: float
    true_peak_dbtp: float


@dataclass(frozen=True)
class PassResult:
    """One encode: what the MP3 measures and what the limiter did."""

    frames: int
    mp3: Mp3Measure
    pcm_true_peak: float  # linear, the limiter's own figure for what LAME was given
    limiter_min_gain: float
    limiter_frames: int  # frames turned down by more than LIMITER_ACTIVE_DB

    @property
    def mp3_lufs(self) -> float:
        return self.mp3.lufs

    @property
    def mp3_true_peak_dbtp(self) -> float:
        return self.mp3.true_peak_dbtp


@dataclass(frozen=True)
class Format:
    """The MP3 to write."""

    sample_rate: int
    channels: int
    bitrate_kbps: int


def encode_pass(
    program: Iterable[Frames],
    gain_db: ParkedArray | npt.NDArray[np.floating[Any]],
    dst: Path,
    fmt: Format,
    ceiling: float,
    *,
    intro: Frames | None = None,
    outro: Frames | None = None,
    progress: Progress | None = None,
) -> PassResult:
    """Stream ``program`` (chunks) with ``gain_db`` per 10 ms sub-block, framed by the intro
    and outro (used as they are), through the limiter into an MP3 at ``dst``."""
    rate, channels = fmt.sample_rate, fmt.channels
    limiter = Limiter(rate, channels, 1.0, ceiling)
    gains = GainCurve(gain_db, rate)
    written = 0
    dst.unlink(missing_ok=True)  # the check must never read an older file
    with (
        ffmpeg.encode_mp3(
            dst, sample_rate=rate, channels=channels, bitrate_kbps=fmt.bitrate_kbps
        ) as encoder,
        Mp3Check(dst) as check,
    ):

        def push(frames: Frames) -> None:
            nonlocal written
            if len(frames):
                encoder.write(frames)
                written += len(frames)

        if intro is not None:
            push(limiter.process(intro))
        done = 0
        for chunk in program:
            push(limiter.process(gains.apply(chunk, done)))
            done += len(chunk)
            if progress:
                progress(done / rate)
        if outro is not None:
            push(limiter.process(outro))
        push(limiter.flush())
        encoder.finish()
        mp3 = check.result()
    return PassResult(written, mp3, limiter.peak_out, limiter.min_gain, limiter.limited_frames)


class GainCurve:
    """Per-sample gains from a 10 ms curve in dB: a straight line from each sub-block's centre
    to the next, held flat before the first centre and after the last.

    A parked curve is read a window at a time, so a three-hour episode costs the encoder no
    more memory than a three-minute one.
    """

    def __init__(self, gain_db: ParkedArray | npt.NDArray[np.floating[Any]], sample_rate: int):
        self._db = gain_db
        self._sub = sub_block(sample_rate)

    def apply(self, chunk: Frames, first: int) -> Frames:
        """``chunk`` (frames ``[first, first + n)`` of the program) with its gains applied."""
        knots = len(self._db)
        if len(chunk) == 0 or knots == 0:
            return chunk
        half = self._sub // 2
        # the knots interpolate_blocks reaches for these frames, one either side
        lo = min(max(0, (first - half) // self._sub), knots - 1)
        hi = (first + len(chunk) - 1 - half) // self._sub + 2
        window = self._read(lo, hi)
        linear = (10 ** (np.asarray(window, dtype=np.float32) / 20)).astype(np.float32)
        gain = interpolate_blocks(linear, self._sub, first - lo * self._sub, len(chunk))
        out: Frames = chunk * gain[:, None]
        return out

    def _read(self, lo: int, hi: int) -> npt.NDArray[np.floating[Any]]:
        if isinstance(self._db, ParkedArray):
            return self._db.read(lo, hi)
        return self._db[lo:hi]


class Mp3Check:
    """ffmpeg's ebur128 on the MP3 while LAME is still writing it: its true peak and loudness,
    exactly what the judge reads, measured in C on the other core."""

    def __init__(self, dst: Path) -> None:
        self._dst = dst
        self._written = threading.Event()
        self._stack = contextlib.ExitStack()
        self._meter: ffmpeg.GrowingMeter | None = None

    def __enter__(self) -> Mp3Check:
        self._meter = self._stack.enter_context(ffmpeg.meter_growing(self._dst, self._written))
        return self

    def __exit__(self, *exc: object) -> None:
        self._written.set()  # on an error the encoder is gone: the follower reaches the end
        self._stack.close()

    def result(self) -> Mp3Measure:
        """The finished MP3's measure (call after the encoder has finished)."""
        self._written.set()
        assert self._meter is not None
        lufs, peak = self._meter.result()
        return Mp3Measure(lufs, peak)
