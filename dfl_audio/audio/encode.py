"""The encode pass: conditioned frames → leveler and loudness gain → limiter → LAME.

One streaming pass over the spool (or the WAV): every sample gets the gain of the 10 ms gain
curve at its time (linear interpolation between sub-block centres), the limiter catches what
still reaches the ceiling, and the frames go straight into the MP3 encoder. The intro and
outro clips go through the same limiter and encoder, before and after. While LAME writes, the
growing MP3 is decoded and metered (:class:`Mp3Check`): its own true peak and loudness are
what the result reports, so the targets are checked on what listeners download.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from dfl_audio import ffmpeg
from dfl_audio.audio import tuning
from dfl_audio.audio.arrays import Frames
from dfl_audio.audio.bs1770 import lin_to_db
from dfl_audio.audio.limiter import Limiter
from dfl_audio.audio.meter import Meter, Profile
from dfl_audio.errors import AudioError

Progress = Callable[[float], None]


@dataclass(frozen=True)
class PassResult:
    """One encode: what the MP3 measures and what the limiter did."""

    frames: int
    mp3: Profile
    pcm_true_peak: float  # linear, the limiter's own figure for what LAME was given
    limiter_min_gain: float
    limiter_frames: int  # frames turned down by more than LIMITER_ACTIVE_DB

    @property
    def mp3_lufs(self) -> float:
        return self.mp3.integrated_lufs()

    @property
    def mp3_true_peak_dbtp(self) -> float:
        return lin_to_db(self.mp3.true_peak)


@dataclass(frozen=True)
class Format:
    """The MP3 to write."""

    sample_rate: int
    channels: int
    bitrate_kbps: int


def encode_pass(
    program: Iterable[Frames],
    gain_db: npt.NDArray[np.float64],
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
        Mp3Check(dst, rate, channels) as check,
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

    Segment ``k`` runs from the centre of sub-block ``k`` to that of ``k + 1``, i.e. from frame
    ``k*sub + sub//2``; a chunk's gains are whole segments laid out as rows (an outer product,
    two passes over memory) and sliced, ~3x cheaper than ``np.interp``'s per-sample search.
    """

    def __init__(self, gain_db: npt.NDArray[np.float64], sample_rate: int) -> None:
        linear = 10 ** (np.asarray(gain_db, dtype=np.float64) / 20)
        self._sub = max(1, round(sample_rate / 100))
        self._knots = np.concatenate([linear[:1], linear, linear[-1:]])  # held at both ends
        self._ramp = (np.arange(self._sub) + (0.0 if self._sub % 2 else 0.5)) / self._sub

    def apply(self, chunk: Frames, first: int) -> Frames:
        """``chunk`` (frames ``[first, first + n)`` of the program) with its gains applied."""
        n = len(chunk)
        if n == 0 or len(self._knots) <= 2:
            return chunk
        sub, half = self._sub, self._sub // 2
        k0 = (first - half) // sub
        k1 = (first + n - 1 - half) // sub
        segments = np.arange(k0, k1 + 1)
        top = len(self._knots) - 1
        left = self._knots[np.clip(segments + 1, 0, top)]
        right = self._knots[np.clip(segments + 2, 0, top)]
        rows = left[:, None] + (right - left)[:, None] * self._ramp[None, :]
        offset = first - half - k0 * sub
        gain = rows.reshape(-1)[offset : offset + n].astype(np.float32)
        out: Frames = chunk * gain[:, None]
        return out


class Mp3Check:
    """Decodes the MP3 while LAME is still writing it and meters it (true peak and loudness;
    a thread plus an ffmpeg decoder, light next to LAME, on the other core)."""

    def __init__(self, dst: Path, rate: int, channels: int) -> None:
        self._dst = dst
        self._meter = Meter(rate, channels)
        self._written = threading.Event()
        self._failure: BaseException | None = None
        self._report: ffmpeg.DecodeReport | None = None
        self._profile: Profile | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Mp3Check:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._written.set()  # on an error the encoder is gone: the follower reaches the end
        self._thread.join()

    def _run(self) -> None:
        try:
            channels = self._meter.channels
            with ffmpeg.decode_growing(self._dst, channels, self._written) as decoder:
                for chunk in decoder.chunks(tuning.WATCH_FRAMES):
                    self._meter.feed(chunk)
            self._report = decoder.report
            self._profile = self._meter.profile()
        except BaseException as exc:  # handed to the caller's thread by result()
            self._failure = exc

    def result(self) -> Profile:
        """The finished MP3's profile (call after the encoder has finished)."""
        self._written.set()
        self._thread.join()
        if self._failure is not None:
            raise AudioError("cannot check the MP3", self._dst, self._failure)
        report = self._report
        if report is None or report.returncode != 0 or report.errors or self._profile is None:
            detail = report.errors[-1] if report and report.errors else "no decode"
            raise AudioError(f"the encoded MP3 does not decode cleanly: {detail}", self._dst)
        return self._profile
