"""The streaming meter: a signal in, its 10 ms loudness and peak profile out.

One pass produces everything the later stages need from a signal: the K-weighted energy and
the sample peak of every 10 ms sub-block (what the leveler and the gain solver work on), the
4x true peak, and the clipped samples. The profile is two float32 numbers per 10 ms (~2.9 MB
for an hour), so the whole stays in memory and every later stage is plain array maths.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dfl_audio.audio import tuning
from dfl_audio.audio.arrays import F32Array, FloatArray, Frames
from dfl_audio.audio.bs1770 import (
    BLOCKS_PER_SECOND,
    LUFS_OFFSET,
    KWeighting,
    gated_loudness,
    segments_from_subblocks,
    sub_block,
    subblock_loudness,
)
from dfl_audio.audio.truepeak import TruePeakTracker


@dataclass(frozen=True)
class Profile:
    """A signal at 10 ms resolution: K-weighted channel-summed energy and sample peak.

    Sub-block ``i`` covers frames ``[i*sub, (i+1)*sub)``; the last one may be partial.
    """

    sample_rate: int
    channels: int
    frames: int
    energy: F32Array
    peak: F32Array
    true_peak: float  # linear, 4x oversampled, of the whole signal
    sample_peak: float

    @property
    def duration(self) -> float:
        return self.frames / self.sample_rate

    @property
    def sub(self) -> int:
        return sub_block(self.sample_rate)

    def integrated_lufs(self) -> float:
        """BS.1770-4 integrated loudness of the signal."""
        return subblock_loudness(self.energy.astype(np.float64))

    def edge_silence(self) -> tuple[float, float]:
        """Seconds of silence (100 ms segments under ``SILENCE_LUFS``) at each end."""
        segments = segments_from_subblocks(self.energy.astype(np.float64))
        with np.errstate(divide="ignore"):
            loud = np.flatnonzero(LUFS_OFFSET + 10 * np.log10(segments) > tuning.SILENCE_LUFS)
        if loud.size == 0:
            return self.duration, self.duration
        lead = float(loud[0]) * 0.1
        return lead, max(0.0, self.duration - (float(loud[-1]) + 1) * 0.1)


class Meter:
    """Feeds ``(n, channels)`` float frames in any chunking; :meth:`profile` at the end."""

    def __init__(self, sample_rate: int, channels: int) -> None:
        self.sample_rate = sample_rate
        self.channels = channels
        self.sub = sub_block(sample_rate)
        self._weighting = KWeighting(sample_rate, channels)
        self._peaks = TruePeakTracker(self.sub, channels)
        self._rest = np.zeros((0, channels), dtype=np.float32)
        self._energy: list[F32Array] = []
        self._peak: list[F32Array] = []
        self.frames = 0

    def feed(self, frames: Frames) -> None:
        self.frames += len(frames)
        data = np.concatenate([self._rest, frames]) if len(self._rest) else frames
        usable = len(data) - len(data) % self.sub
        self._rest = np.asarray(data[usable:], dtype=np.float32)
        if usable:
            self._measure(np.asarray(data[:usable], dtype=np.float32))

    def _measure(self, frames: Frames) -> None:
        nsub = len(frames) // self.sub
        weighted = self._weighting.process(frames)
        squares = np.einsum("ij,ij->i", weighted, weighted).reshape(nsub, self.sub)
        self._energy.append((squares.sum(axis=1) / self.sub).astype(np.float32))
        peaks = np.abs(frames.reshape(nsub, -1)).max(axis=1)
        self._peak.append(peaks)
        self._peaks.feed(frames, peaks.astype(np.float64))

    def profile(self) -> Profile:
        """Finish: a partial last sub-block counts with the frames it has."""
        rest = self._rest
        if len(rest):
            weighted = self._weighting.process(rest)
            self._energy.append(np.array([np.mean(np.sum(weighted**2, axis=1))], np.float32))
            self._peak.append(np.array([np.abs(rest).max()], dtype=np.float32))
        true_peak = self._peaks.finish(rest)
        peak = np.concatenate(self._peak) if self._peak else np.zeros(0, np.float32)
        energy = np.concatenate(self._energy) if self._energy else np.zeros(0, np.float32)
        sample_peak = float(peak.max()) if peak.size else 0.0
        return Profile(
            sample_rate=self.sample_rate,
            channels=self.channels,
            frames=self.frames,
            energy=energy,
            peak=peak,
            true_peak=max(true_peak, sample_peak),
            sample_peak=sample_peak,
        )


class LoudnessMeter:
    """Integrated loudness alone (BS.1770: K-weighting, 100 ms segments, gating) of frames fed
    in any chunking: the MP3 check's meter, with no profile and no peaks to keep.

    ``k_weighted``: the frames arrive already K-weighted (by :func:`bs1770.k_weighting_biquads`
    in the ffmpeg child that decodes them), so only the squares are summed here.
    """

    def __init__(self, sample_rate: int, channels: int, *, k_weighted: bool = False) -> None:
        self._weighting = None if k_weighted else KWeighting(sample_rate, channels)
        self._segment = sub_block(sample_rate) * 10
        self._rest = np.zeros((0, channels), dtype=np.float32)
        self._energy: list[FloatArray] = []

    def feed(self, frames: Frames) -> None:
        data = np.concatenate([self._rest, frames]) if len(self._rest) else frames
        usable = len(data) - len(data) % self._segment
        self._rest = np.array(data[usable:], dtype=np.float32)
        if usable:
            weighted = np.asarray(data[:usable], dtype=np.float32)
            if self._weighting is not None:
                weighted = self._weighting.process(weighted)
            squares = np.einsum("ij,ij->i", weighted, weighted, dtype=np.float64)
            self._energy.append(squares.reshape(-1, self._segment).mean(axis=1))

    def integrated_lufs(self) -> float:
        """The loudness of everything fed (a partial last segment does not count)."""
        return gated_loudness(np.concatenate(self._energy)) if self._energy else -math.inf


class ClipCounter:
    """Counts clipped samples: at or over :data:`tuning.CLIP_LEVEL` twice in a row."""

    def __init__(self, channels: int) -> None:
        """``channels``: the most a chunk will have (fewer is fine)."""
        self.count = 0
        self._previous = np.zeros(channels, dtype=bool)

    def feed(self, frames: Frames) -> None:
        if not len(frames):
            return
        previous = self._previous[: frames.shape[1]]
        # two reductions without a temporary: most chunks of most recordings never clip
        if frames.max() < tuning.CLIP_LEVEL and frames.min() > -tuning.CLIP_LEVEL:
            previous[:] = False
            return
        hot = np.abs(frames) >= tuning.CLIP_LEVEL
        pairs = hot[1:] & hot[:-1]
        self.count += int(pairs.sum()) + int((hot[0] & previous).sum())
        previous[:] = hot[-1]


def profile_of(frames: Frames, sample_rate: int) -> Profile:
    """The profile of a whole short signal in memory (an intro, a test tone)."""
    meter = Meter(sample_rate, frames.shape[1])
    for start in range(0, len(frames), tuning.CHUNK_FRAMES):
        meter.feed(frames[start : start + tuning.CHUNK_FRAMES])
    return meter.profile()


def energy_db(energy: FloatArray | F32Array) -> FloatArray:
    """10 log10 of energies, with silence at -200 dB instead of -inf."""
    with np.errstate(divide="ignore"):
        out: FloatArray = np.maximum(10 * np.log10(np.asarray(energy, dtype=np.float64)), -200.0)
    return out


def seconds_to_subblocks(seconds: float) -> int:
    """Whole 10 ms sub-blocks covering ``seconds`` (at least one).

    >>> seconds_to_subblocks(0.3), seconds_to_subblocks(0.001)
    (30, 1)
    """
    return max(1, math.ceil(round(seconds * BLOCKS_PER_SECOND, 6)))
