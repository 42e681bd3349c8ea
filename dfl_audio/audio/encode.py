"""The encode pass: conditioned frames → leveler and loudness gain → limiter → LAME.

One streaming pass over the spool (or the WAV): every sample gets the gain of the 10 ms gain
curve at its time (linear interpolation between sub-block centres), the limiter catches what
still reaches the ceiling, and the frames go straight into the MP3 encoder. The intro and
outro clips go through the same limiter and encoder, before and after. While LAME writes, the
growing MP3 is decoded and measured beside it (:class:`Mp3Check`): its own true peak and
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

from dfl_audio import ffmpeg, ffmpeg_growing
from dfl_audio.audio.arrays import Frames
from dfl_audio.audio.blocks import interpolate_blocks
from dfl_audio.audio.bs1770 import k_weighting_biquads, sub_block
from dfl_audio.audio.limiter import Limiter
from dfl_audio.audio.meter import LoudnessMeter
from dfl_audio.audio.parked import ParkedArray

Progress = Callable[[float], None]


@dataclass(frozen=True)
class Mp3Measure:
    """The MP3's integrated loudness and true peak, as ffmpeg's ``ebur128=peak=true`` reads
    them (its 192 kHz true peak exactly; the loudness within ~0.02 LU of its histogram)."""

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
        Mp3Check(dst, fmt) as check,
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
    """The MP3 measured while LAME is still writing it, on the other core: ffmpeg decodes it
    once, reads its true peak as ``ebur128=peak=true`` does and K-weights the decoded frames;
    a thread here gates their loudness (BS.1770, as ``ebur128``). What listeners download is
    what the result reports."""

    def __init__(self, dst: Path, fmt: Format) -> None:
        self._dst = dst
        self._fmt = fmt
        self._written = threading.Event()
        self._stack = contextlib.ExitStack()
        self._meter = LoudnessMeter(fmt.sample_rate, fmt.channels, k_weighted=True)
        self._decode: ffmpeg_growing.GrowingDecode | None = None
        self._thread = threading.Thread(target=self._measure, daemon=True)
        self._failure: BaseException | None = None

    def __enter__(self) -> Mp3Check:
        finished = self._written
        self._decode = self._stack.enter_context(
            ffmpeg_growing.decode_growing(
                self._dst,
                finished,
                self._fmt.channels,
                pcm_biquads=k_weighting_biquads(self._fmt.sample_rate).tolist(),
            )
        )
        self._thread.start()
        return self

    def _measure(self) -> None:
        assert self._decode is not None
        try:
            for frames in self._decode.chunks(_CHECK_FRAMES):
                self._meter.feed(frames)
        except BaseException as exc:  # re-raised by result(), in the caller's thread
            self._failure = exc

    def __exit__(self, *exc: object) -> None:
        self._written.set()  # on an error the encoder is gone: the follower reaches the end
        self._stack.close()
        self._thread.join(timeout=10)

    def result(self) -> Mp3Measure:
        """The finished MP3's measure (call after the encoder has finished)."""
        self._written.set()
        self._thread.join()
        if self._failure is not None:
            raise self._failure
        assert self._decode is not None
        return Mp3Measure(self._meter.integrated_lufs(), self._decode.true_peak_dbtp())


_CHECK_FRAMES = 1 << 15  # frames per read of the decoded MP3 (its float64 scratch: ~2 MB)
