"""True peak per ITU-R BS.1770-4 Annex 2: 4x oversampling by a 48-tap interpolator.

Used three ways: the source's true peak in the measure pass, the limiter's view of every
block it might have to turn down, and the check of the finished MP3. Speed matters (hours of
audio), so only blocks whose *sample* peak could reach the level of interest are oversampled.
The strict bound of our interpolator is +5 dB (the largest L1 norm of a polyphase branch,
reached only by full-scale samples alternating at Nyquist); the engine searches with
:data:`SEARCH_BOUND`, the overshoot real program material shows, several times cheaper.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from dfl_audio.audio import tuning
from dfl_audio.audio.arrays import FloatArray, Frames

OVERSAMPLE = 4
_TAPS_PER_PHASE = 12
_BATCH = 64  # blocks oversampled per numpy call


def _oversampling_filter() -> npt.NDArray[np.float32]:
    """A 48-tap low-pass interpolator for 4x oversampling (BS.1770 Annex 2 uses 48 taps).

    A Kaiser-windowed sinc (beta 6) scaled so the 4x output keeps the level: what
    ``scipy.signal.firwin(48, 1/4, window=("kaiser", 6.0))`` designs (checked by a test),
    written in numpy so importing this module does not import scipy.signal.
    """
    taps = OVERSAMPLE * _TAPS_PER_PHASE
    middle = (taps - 1) / 2
    design = np.sinc((np.arange(taps) - middle) / OVERSAMPLE) * np.kaiser(taps, 6.0)
    design *= OVERSAMPLE / design.sum()
    return np.asarray(design, dtype=np.float32)


OS_FILTER = _oversampling_filter()
# Blocks whose sample peak is more than this under the level of interest are not oversampled
# (see tuning.TRUE_PEAK_SEARCH_DB for why that is safe).
SEARCH_BOUND = 10 ** (tuning.TRUE_PEAK_SEARCH_DB / 20)


def neighbour_max(peaks: FloatArray, before: float = 0.0, after: float = 0.0) -> FloatArray:
    """Each block's peak maxed with its neighbours' (blocks are longer than the filter context).

    >>> neighbour_max(np.array([1.0, 0.0, 0.0, 3.0]))
    array([1., 1., 3., 3.])
    """
    left = np.concatenate([[before], peaks[:-1]])
    right = np.concatenate([peaks[1:], [after]])
    out: FloatArray = np.maximum(peaks, np.maximum(left, right))
    return out


def whole_true_peak(frames: Frames) -> float:
    """True peak of a short array with silence on both sides (the ring-out included)."""
    if frames.size == 0:
        return 0.0
    ctx = _TAPS_PER_PHASE
    padded = np.pad(frames, ((ctx, ctx), (0, 0)))
    return float(block_true_peaks(padded, len(padded), np.ones(1, dtype=bool))[0])


# Polyphase form of the interpolator: column p holds the taps of output phase p, reversed, so
# row i of ``windows(x, 12) @ _PHASES`` is the 4 interpolated values at input time i + 5.125.
_PHASES = np.stack([OS_FILTER[p::OVERSAMPLE][::-1] for p in range(OVERSAMPLE)], axis=1)
_ROW_OFFSET = _TAPS_PER_PHASE - 5  # padded index of frame 0 (ctx) minus the 5-frame delay
# The same over 16 frames at a time: a window of 16 + 11 frames times this (27, 64) banded
# matrix is their 64 interpolated values. One well-shaped product instead of a 12-by-4 one
# per frame: three times faster, and the same sums (the band's zeros add exact zeros).
_FRAMES_PER_ROW = 16
_WINDOW = _FRAMES_PER_ROW + _TAPS_PER_PHASE - 1


def _banded() -> npt.NDArray[np.float32]:
    banded = np.zeros((_WINDOW, _FRAMES_PER_ROW * OVERSAMPLE), dtype=np.float32)
    for frame in range(_FRAMES_PER_ROW):
        banded[frame : frame + _TAPS_PER_PHASE, frame * OVERSAMPLE : (frame + 1) * OVERSAMPLE] = (
            _PHASES
        )
    return banded


_BANDED = _banded()


def _abs_interpolated(signals: npt.NDArray[np.float32], n: int) -> npt.NDArray[np.float32]:
    """``|4x interpolation|`` of frames ``[0, n)`` of each row of ``signals``, a row being one
    channel's frames with ``_TAPS_PER_PHASE`` of context each side: ``(rows, 4 n)``."""
    blocks = -(-n // _FRAMES_PER_ROW)
    short = _ROW_OFFSET + blocks * _FRAMES_PER_ROW + _TAPS_PER_PHASE - 1 - signals.shape[1]
    if short > 0:  # the last row of the product runs past the context: zeros there
        signals = np.pad(signals, ((0, 0), (0, short)))
    view = np.lib.stride_tricks.sliding_window_view(signals, _WINDOW, axis=1)
    windows = view[:, _ROW_OFFSET : _ROW_OFFSET + blocks * _FRAMES_PER_ROW : _FRAMES_PER_ROW]
    out = (windows.reshape(-1, _WINDOW) @ _BANDED).reshape(len(signals), -1)[:, : n * OVERSAMPLE]
    np.abs(out, out=out)
    return out


def _interpolated_block_peaks(padded: Frames, block: int) -> Frames:
    """Per block of ``block`` frames: max over channels and phases of |4x interpolation|.

    ``padded`` is ``(n + 2*ctx, ch)`` with ``n`` a multiple of ``block``.
    """
    n = len(padded) - 2 * _TAPS_PER_PHASE
    best = np.zeros(n // block, dtype=np.float32)
    for channel in range(padded.shape[1]):
        values = _abs_interpolated(padded[None, :, channel], n)
        np.maximum(best, values.reshape(n // block, -1).max(axis=1), out=best)
    return best


def block_true_peaks(
    frames: Frames, block: int, wanted: npt.NDArray[np.bool_], start: int = 0
) -> FloatArray:
    """4x-oversampled peak of each wanted block (others 0).

    Block ``i`` is ``frames[start + i*block : start + (i+1)*block]``; the frames around it
    (``_TAPS_PER_PHASE`` each side, zeros past the ends of ``frames``) are the filter context,
    so callers pass real neighbours to get the same values as over the whole signal. When most
    blocks are wanted the whole span is interpolated at once (cheaper than gathering windows).
    """
    peaks = np.zeros(len(wanted), dtype=np.float64)
    index = np.flatnonzero(wanted)
    if index.size == 0:
        return peaks
    ctx = _TAPS_PER_PHASE
    lo = start - ctx
    hi = start + len(wanted) * block + ctx
    padded = frames[max(0, lo) : hi]
    padded = np.pad(padded, ((max(0, -lo), max(0, hi - len(frames))), (0, 0)))
    if index.size * 4 > len(wanted):
        inter = _interpolated_block_peaks(padded, block)
        samples = np.abs(padded[ctx:-ctx]).reshape(len(wanted), -1).max(axis=1)
        peaks[index] = np.maximum(inter, samples)[index]
        return peaks
    offsets = np.arange(block + 2 * ctx)
    for batch in range(0, len(index), _BATCH):  # bounded memory however many are wanted
        some = index[batch : batch + _BATCH]
        windows = padded[some[:, None] * block + offsets[None, :]]  # (k, block+2ctx, ch)
        best = np.abs(windows[:, ctx:-ctx]).max(axis=(1, 2))
        for channel in range(windows.shape[2]):
            best = np.maximum(best, _abs_interpolated(windows[:, :, channel], block).max(axis=1))
        peaks[some] = best
    return peaks


class TruePeakTracker:
    """Running 4x true peak of a stream fed in whole blocks (with their sample peaks).

    Only blocks whose neighbourhood sample peak times ``bound`` could beat the running
    maximum are oversampled, so after the first loud second most blocks cost a
    ``max`` only. The last block of each feed waits for the next one (its right-hand context).
    """

    def __init__(self, block: int, channels: int, bound: float = SEARCH_BOUND) -> None:
        self.block = block
        self.bound = bound
        self.peak = 0.0
        self._tail = np.zeros((0, channels), dtype=np.float32)  # context + held block
        self._held_peak = np.zeros(0)
        self._prev_peak = np.zeros(0)

    def feed(self, frames: Frames, peaks: FloatArray | None = None) -> None:
        """Add frames (a whole number of blocks); ``peaks`` are their per-block |max|."""
        if not len(frames):
            return
        if peaks is None:
            peaks = np.abs(frames.reshape(-1, self.block * frames.shape[1])).max(axis=1)
        ctx = _TAPS_PER_PHASE
        data = np.concatenate([self._tail, frames])
        start = len(self._tail) - len(self._held_peak) * self.block  # first block to evaluate
        block_peaks = np.concatenate([self._prev_peak, self._held_peak, peaks])
        bound = neighbour_max(block_peaks)[len(self._prev_peak) : -1]
        wanted = bound * self.bound > self.peak
        if wanted.any():
            tps = block_true_peaks(
                data[: start + len(wanted) * self.block + ctx], self.block, wanted, start
            )
            self.peak = max(self.peak, float(tps.max()))
        self._tail = data[-(self.block + ctx) :]
        self._prev_peak = peaks[-2:-1] if len(peaks) > 1 else self._held_peak
        self._held_peak = peaks[-1:]

    def finish(self, rest: Frames) -> float:
        """Account for the held block and a partial last block; returns the true peak."""
        last = np.concatenate([self._tail, rest]) if len(rest) else self._tail
        if len(last):
            self.peak = max(self.peak, whole_true_peak(last))
        self._tail = self._tail[:0]
        self._held_peak = self._prev_peak = np.zeros(0)
        return self.peak
