"""Loudness and peaks per ITU-R BS.1770-4, and a look-ahead peak limiter.

Pure numpy (plus scipy's compiled biquad kernel) over float32 frames shaped ``(n, channels)``;
no I/O, so every piece is fed in chunks and carries its state across chunk edges (filter
state, partial blocks, look-ahead).

Speed matters (hours of audio): the K-weighting is one vectorized ``sosfilt`` per chunk,
energies are summed per 10 ms sub-block, and 4x oversampling for true peak runs only on the
sub-blocks whose *sample* peak could reach the level of interest. :data:`TP_OVERSHOOT_BOUND`
is a strict bound of our interpolator (not a rule of thumb), so a skipped block can never hold
a higher true peak than the ones measured.
"""

from __future__ import annotations

import functools
import importlib.machinery
import importlib.util
import math
import shutil
import sys
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
import numpy.typing as npt

Frames = npt.NDArray[np.float32]
FloatArray = npt.NDArray[np.float64]

ABSOLUTE_GATE_LUFS = -70.0
RELATIVE_GATE_LU = -10.0
SILENCE_LUFS = -60.0  # a 100 ms segment quieter than this counts as silence
OVERSAMPLE = 4
CLIP_LEVEL = 0.999  # |x| at or above this, twice in a row, is a clipped sample
_TAPS_PER_PHASE = 12
_BATCH = 64  # sub-blocks oversampled per numpy call


def db_to_lin(db: float) -> float:
    """Amplitude ratio of a level in dB.

    >>> round(db_to_lin(-6.0206), 4)
    0.5
    """
    return float(10 ** (db / 20))


def lin_to_db(value: float) -> float:
    """Level in dB of an amplitude ratio; ``-inf`` for zero.

    >>> lin_to_db(1.0)
    0.0
    >>> lin_to_db(0.0)
    -inf
    """
    return 20 * math.log10(value) if value > 0 else -math.inf


def k_weighting_sos(sample_rate: int) -> FloatArray:
    """The two BS.1770 K-weighting biquads (shelf, then high-pass) for any sample rate.

    Derived from the analog prototypes (as libebur128 does), so 44.1 kHz is as exact as 48 kHz.
    """
    f0, gain_db, q = 1681.974450955533, 3.999843853973347, 0.7071752369554196
    k = math.tan(math.pi * f0 / sample_rate)
    vh = 10 ** (gain_db / 20)
    vb = vh**0.4996667741545416
    a0 = 1 + k / q + k * k
    shelf = [
        (vh + vb * k / q + k * k) / a0,
        2 * (k * k - vh) / a0,
        (vh - vb * k / q + k * k) / a0,
        1.0,
        2 * (k * k - 1) / a0,
        (1 - k / q + k * k) / a0,
    ]
    f0, q = 38.13547087602444, 0.5003270373238773
    k = math.tan(math.pi * f0 / sample_rate)
    a0 = 1 + k / q + k * k
    highpass = [1.0, -2.0, 1.0, 1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0]
    return np.array([shelf, highpass], dtype=np.float64)


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


SosKernel = Callable[[FloatArray, FloatArray, FloatArray], None]


_KERNEL_LOCK = threading.Lock()


@functools.cache
def _sos_kernel() -> SosKernel:
    """scipy's compiled cascaded-biquad kernel, in place on ``x (signals, n)`` and
    ``zi (signals, sections, 2)``, loaded without importing ``scipy.signal``.

    Importing scipy.signal costs ~0.9 s and ~80 MB (it pulls in scipy.stats) for the one
    function the meter needs. The extension is registered under its own name, so a later
    ``import scipy.signal`` reuses it. If this scipy lays its files out differently, the
    public ``sosfilt`` is used instead (same numbers, slower start).
    """
    name = "scipy.signal._sosfilt"
    with _KERNEL_LOCK:  # two meter threads may ask at once; an extension loads only once
        try:
            module = sys.modules.get(name) or _load_extension(name)
            kernel: SosKernel = module._sosfilt
            return kernel
        except (ImportError, AttributeError, OSError):
            return _public_sosfilt


def _load_extension(name: str) -> Any:
    import scipy

    folder = Path(scipy.__file__).parent / "signal"
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        path = folder / f"_sosfilt{suffix}"
        if path.exists():
            loader = importlib.machinery.ExtensionFileLoader(name, str(path))
            spec = importlib.util.spec_from_file_location(name, path, loader=loader)
            if spec is None:
                break
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            try:
                loader.exec_module(module)
            except BaseException:
                del sys.modules[name]
                raise
            return module
    raise ImportError(f"no {name} extension next to scipy")


def _public_sosfilt(sos: FloatArray, x: FloatArray, zi: FloatArray) -> None:
    from scipy import signal

    out, final = signal.sosfilt(sos, x, axis=-1, zi=np.moveaxis(zi, 0, 1))
    x[...] = out
    zi[...] = np.moveaxis(final, 1, 0)


_OS_FILTER = _oversampling_filter()
# An interpolated value is a weighted sum of 12 neighbours, so it is at most the largest L1
# norm of a polyphase branch (about 1.79, +5 dB) times the largest |sample| within 12 frames.
TP_OVERSHOOT_BOUND = float(max(np.abs(_OS_FILTER[p::OVERSAMPLE]).sum() for p in range(4))) * 1.001


def neighbour_max(peaks: FloatArray, before: float = 0.0, after: float = 0.0) -> FloatArray:
    """Each block's peak maxed with its neighbours' (blocks are longer than the filter context).

    >>> neighbour_max(np.array([1.0, 0.0, 0.0, 3.0]))
    array([1., 1., 3., 3.])
    """
    left = np.concatenate([[before], peaks[:-1]])
    right = np.concatenate([peaks[1:], [after]])
    out: FloatArray = np.maximum(peaks, np.maximum(left, right))
    return out


def true_peak(frames: Frames) -> float:
    """Linear true peak (max over channels) of a whole array, 4x oversampled.

    The reference implementation (scipy's ``upfirdn``, imported only here); the streaming
    code uses :func:`block_true_peaks`.
    """
    from scipy import signal

    if frames.size == 0:
        return 0.0
    up = signal.upfirdn(_OS_FILTER, frames.T.astype(np.float64), up=OVERSAMPLE, axis=-1)
    return max(float(np.max(np.abs(up))), float(np.max(np.abs(frames))))


def _whole_true_peak(frames: Frames) -> float:
    """True peak of a short array with silence on both sides (the ring-out included)."""
    if frames.size == 0:
        return 0.0
    ctx = _TAPS_PER_PHASE
    padded = np.pad(frames, ((ctx, ctx), (0, 0)))
    return float(block_true_peaks(padded, len(padded), np.ones(1, dtype=bool))[0])


# Polyphase form of the interpolator: column p holds the taps of output phase p, reversed, so
# row i of ``windows(x, 12) @ _PHASES`` is the 4 interpolated values at input time i + 5.125.
_PHASES = np.stack([_OS_FILTER[p::OVERSAMPLE][::-1] for p in range(OVERSAMPLE)], axis=1)
_ROW_OFFSET = _TAPS_PER_PHASE - 5  # padded index of frame 0 (ctx) minus the 5-frame delay


def _interpolated_block_peaks(padded: Frames, block: int) -> Frames:
    """Per block of ``block`` frames: max over channels and phases of |4x interpolation|.

    ``padded`` is ``(n + 2*ctx, ch)`` with ``n`` a multiple of ``block``. A BLAS matmul over a
    sliding view is several times faster than ``upfirdn`` here.
    """
    n = len(padded) - 2 * _TAPS_PER_PHASE
    best = np.zeros(n // block, dtype=np.float32)
    for channel in range(padded.shape[1]):
        column = np.ascontiguousarray(padded[:, channel])
        view = np.lib.stride_tricks.sliding_window_view(column, _TAPS_PER_PHASE)
        rows = view[_ROW_OFFSET : _ROW_OFFSET + n] @ _PHASES  # (n, 4), C-contiguous
        np.abs(rows, out=rows)
        np.maximum(best, rows.reshape(n // block, -1).max(axis=1), out=best)
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
            view = np.lib.stride_tricks.sliding_window_view(windows[:, :, channel], ctx, axis=1)
            rows = view[:, _ROW_OFFSET : _ROW_OFFSET + block] @ _PHASES  # (k, block, 4)
            best = np.maximum(best, np.abs(rows).max(axis=(1, 2)))
        peaks[some] = best
    return peaks


class TruePeakTracker:
    """Running 4x true peak of a stream fed in whole blocks (with their sample peaks).

    Only blocks whose neighbourhood sample peak times :data:`TP_OVERSHOOT_BOUND` could beat
    the running maximum are oversampled, so after the first loud second most blocks cost a
    ``max`` only. The last block of each feed waits for the next one (its right-hand context).
    """

    def __init__(self, block: int, channels: int) -> None:
        self.block = block
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
        wanted = bound * TP_OVERSHOOT_BOUND > self.peak
        if wanted.any():
            tps = block_true_peaks(
                data[: start + len(wanted) * self.block + ctx], self.block, wanted, start
            )
            self.peak = max(self.peak, float(tps.max()))
        self._tail = data[-(self.block + ctx) :]
        self._prev_peak = peaks[-2:-1] if len(peaks) > 1 else self._held_peak
        self._held_peak = peaks[-1:]

    def adopt(self, later: TruePeakTracker) -> None:
        """Continue from where ``later`` (which ran on the frames after ours) stopped."""
        self._tail, self._held_peak, self._prev_peak = (
            later._tail,
            later._held_peak,
            later._prev_peak,
        )

    def finish(self, rest: Frames) -> float:
        """Account for the held block and a partial last block; returns the true peak."""
        last = np.concatenate([self._tail, rest]) if len(rest) else self._tail
        if len(last):
            self.peak = max(self.peak, _whole_true_peak(last))
        self._tail = self._tail[:0]
        self._held_peak = self._prev_peak = np.zeros(0)
        return self.peak


def gated_loudness(segment_energy: FloatArray) -> float:
    """Integrated loudness (LUFS) from channel-weighted mean squares of 100 ms segments.

    A gating block is 400 ms = four consecutive segments (75% overlap); blocks below -70 LUFS
    and then below (ungated mean - 10 LU) are dropped. ``-inf`` when nothing passes.
    """
    if len(segment_energy) < 4:
        return -math.inf
    kernel = np.ones(4) / 4
    blocks = np.convolve(segment_energy, kernel, mode="valid")
    with np.errstate(divide="ignore"):
        levels = -0.691 + 10 * np.log10(blocks)
    kept = blocks[levels > ABSOLUTE_GATE_LUFS]
    if kept.size == 0:
        return -math.inf
    relative = -0.691 + 10 * math.log10(float(kept.mean())) + RELATIVE_GATE_LU
    with np.errstate(divide="ignore"):
        final = kept[-0.691 + 10 * np.log10(kept) > relative]
    if final.size == 0:
        return -math.inf
    return -0.691 + 10 * math.log10(float(final.mean()))


@dataclass
class _Blocker:
    """Splits a stream into fixed-size blocks, carrying the remainder to the next chunk."""

    size: int
    channels: int
    rest: Frames = field(init=False)

    def __post_init__(self) -> None:
        self.rest = np.zeros((0, self.channels), dtype=np.float32)

    def whole_blocks(self, frames: Frames) -> Frames:
        data = np.concatenate([self.rest, frames]) if len(self.rest) else frames
        usable = len(data) - len(data) % self.size
        self.rest = data[usable:]
        return data[:usable]


_HIST_STEP_LU = 0.01  # bin width of the block-loudness histogram
_HIST_BINS = 10_000  # -70 .. +30 LUFS; louder blocks land in the top bin (their sums stay exact)


class LoudnessGate:
    """Integrated loudness gated from a fine histogram of 400 ms block loudness.

    As ffmpeg's ebur128 does, but each 0.01 LU bin keeps the *sum* of its blocks' energies as
    well as their count, so the absolute gate and the means are exact and only blocks within
    0.01 LU of the relative threshold can be misjudged. Memory is fixed (160 KB) however long
    the stream: nothing per block is kept. Fed 100 ms segment energies in any chunking.
    """

    def __init__(self) -> None:
        self._tail = np.zeros(0)  # the last three segments: the next block's start
        self._count = np.zeros(_HIST_BINS, dtype=np.int64)
        self._sum = np.zeros(_HIST_BINS, dtype=np.float64)
        self.segments = 0

    def feed(self, segment_energy: FloatArray) -> None:
        data = np.concatenate([self._tail, segment_energy]) if len(self._tail) else segment_energy
        if len(data) >= 4:
            blocks = np.convolve(data, np.ones(4) / 4, mode="valid")
            with np.errstate(divide="ignore"):
                levels = -0.691 + 10 * np.log10(blocks)
            kept = levels > ABSOLUTE_GATE_LUFS
            index = ((levels[kept] - ABSOLUTE_GATE_LUFS) / _HIST_STEP_LU).astype(np.int64)
            index = np.minimum(index, _HIST_BINS - 1)
            np.add.at(self._count, index, 1)
            np.add.at(self._sum, index, blocks[kept])
        self._tail = np.array(data[-3:], dtype=np.float64)
        self.segments += len(segment_energy)

    def restart(self) -> None:
        """Forget the blocks so far but keep the last segments (blocks crossing the split)."""
        self._count[:] = 0
        self._sum[:] = 0.0
        self.segments = 0

    def merge(self, later: LoudnessGate) -> None:
        """Add the blocks of ``later``, which was restarted at exactly our end."""
        self._count += later._count
        self._sum += later._sum
        self._tail = later._tail
        self.segments += later.segments

    def loudness(self) -> float:
        """Gated integrated loudness (LUFS); ``-inf`` when nothing passes the gates."""
        total = int(self._count.sum())
        if total == 0:
            return -math.inf
        relative = -0.691 + 10 * math.log10(float(self._sum.sum()) / total) + RELATIVE_GATE_LU
        with np.errstate(divide="ignore", invalid="ignore"):
            bin_levels = -0.691 + 10 * np.log10(self._sum / np.maximum(self._count, 1))
        kept = (self._count > 0) & (bin_levels > relative)
        count = int(self._count[kept].sum())
        if count == 0:
            return -math.inf
        return -0.691 + 10 * math.log10(float(self._sum[kept].sum()) / count)


def _spill_file() -> IO[bytes]:
    """An unlinked temporary file; it lives as long as the summary that owns it."""
    return tempfile.TemporaryFile(prefix="dfl-audio-summary-")


class SubblockSummary:
    """The 10 ms summary (sample peak, energy, mono energy; float16 dB, 6 bytes a sub-block),
    appended to an unlinked temporary file and read back in bounded windows.

    It is ~2 MB an hour; kept in RAM (with a doubling array and float64 copies to use it) it
    made the process grow with the length of the episode. The file is created on the first
    append and removed by the OS when this object is collected.
    """

    COLUMNS = 3

    def __init__(self) -> None:
        self._file: IO[bytes] | None = None
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def append(self, records: npt.NDArray[np.float16]) -> None:
        """Add ``(n, 3)`` records: peak, energy, mono energy in dB."""
        self._file = self._file or _spill_file()
        self._file.seek(0, 2)
        self._file.write(np.ascontiguousarray(records, dtype="<f2").tobytes())
        self._count += len(records)

    def extend(self, later: SubblockSummary) -> None:
        """Append all of ``later``'s records (copied file to file, in bounded pieces)."""
        if later._file is None or not len(later):
            return
        self._file = self._file or _spill_file()
        later._file.flush()
        later._file.seek(0)
        self._file.seek(0, 2)
        shutil.copyfileobj(later._file, self._file, 1 << 20)
        self._count += len(later)

    def read(self, start: int, stop: int) -> npt.NDArray[np.float16]:
        """Records ``[start, stop)`` as an ``(n, 3)`` float16 array."""
        stop = min(stop, self._count)
        if self._file is None or stop <= start:
            return np.zeros((0, self.COLUMNS), dtype=np.float16)
        width = 2 * self.COLUMNS
        self._file.flush()
        self._file.seek(start * width)
        raw = self._file.read((stop - start) * width)
        return np.frombuffer(raw, dtype="<f2").reshape(-1, self.COLUMNS).astype(np.float16)

    def column(self, index: int) -> npt.NDArray[np.float16]:
        """One whole column (for tests and short inputs: this one is in RAM)."""
        return np.ascontiguousarray(self.read(0, self._count)[:, index])


@dataclass
class LoudnessStats:
    """What one streaming pass over a signal found."""

    integrated_lufs: float
    mono_lufs: float
    true_peak: float  # linear
    sample_peak: float  # linear
    clipped_samples: int
    leading_silence: float
    trailing_silence: float
    duration: float
    subblocks: SubblockSummary = field(default_factory=SubblockSummary, compare=False)

    @property
    def subblock_peak_db(self) -> npt.NDArray[np.float16]:
        return self.subblocks.column(0)

    @property
    def subblock_energy_db(self) -> npt.NDArray[np.float16]:
        return self.subblocks.column(1)

    @property
    def subblock_mono_energy_db(self) -> npt.NDArray[np.float16]:
        return self.subblocks.column(2)


class LoudnessMeter:
    """Streaming BS.1770-4 meter: integrated loudness, true peak, clipping, edge silence.

    Also keeps a compact 10 ms summary (peak and energy in float16 dB, about 36 KB per
    minute, on disk: :class:`SubblockSummary`) so :func:`estimate_limited_loudness` can
    predict what a limiter will remove.
    ``mono_lufs`` is the loudness of the channel mean (what a mono downmix would measure).
    """

    def __init__(
        self, sample_rate: int, channels: int, *, summary: bool = True, true_peak: bool = True
    ) -> None:
        self.sample_rate = sample_rate
        self.channels = channels
        self.sub = max(1, round(sample_rate / 100))
        self._sos = k_weighting_sos(sample_rate)
        self._kernel = _sos_kernel()
        self._zi = np.zeros((channels, self._sos.shape[0], 2), dtype=np.float64)
        self._blocker = _Blocker(self.sub * 10, channels)
        self._peaks = TruePeakTracker(self.sub, channels)
        self._gate = LoudnessGate()
        self._mono_gate = LoudnessGate()
        self._loud_first = -1  # first and last 100 ms segment above SILENCE_LUFS (-1: none)
        self._loud_last = -1
        self._summary = summary
        self._want_true_peak = true_peak
        self._subblocks = SubblockSummary()
        self._sample_peak = 0.0
        self._clipped = 0
        self._prev_clipped = np.zeros(channels, dtype=bool)
        self.frames = 0

    def feed(self, frames: Frames) -> None:
        """Add ``(n, channels)`` float32 frames."""
        self.frames += len(frames)
        self._count_clipping(frames)
        whole = self._blocker.whole_blocks(frames)
        if len(whole):
            self._measure(whole)

    def restart(self) -> None:
        """Forget the totals but keep the filter, clipping and true-peak context.

        Feed a warm-up just before a split point, ``restart``, then feed from the split: the
        meter then measures the second part exactly as a single pass would (the K-weighting's
        memory is far shorter than a second), so two threads can meter two halves.
        """
        if len(self._blocker.rest):
            raise ValueError("restart only on a segment boundary")
        self.frames = 0
        self._clipped = 0
        self._sample_peak = 0.0
        self._gate.restart()
        self._mono_gate.restart()
        self._loud_first = self._loud_last = -1
        self._subblocks = SubblockSummary()

    def extend(self, later: LoudnessMeter) -> None:
        """Append what ``later`` (restarted at exactly our end) measured; ``later`` is spent.

        Our held last block is evaluated by ``later`` (its warm-up ended with it), so our
        true peak needs no flush.
        """
        if len(self._blocker.rest):
            raise ValueError("extend only on a segment boundary")
        self.frames += later.frames
        self._clipped += later._clipped
        self._sample_peak = max(self._sample_peak, later._sample_peak)
        if later._loud_first >= 0:
            offset = self._gate.segments
            if self._loud_first < 0:
                self._loud_first = offset + later._loud_first
            self._loud_last = offset + later._loud_last
        self._gate.merge(later._gate)
        self._mono_gate.merge(later._mono_gate)
        self._subblocks.extend(later._subblocks)
        self._peaks.peak = max(self._peaks.peak, later._peaks.peak)
        self._peaks.adopt(later._peaks)
        self._blocker = later._blocker
        self._prev_clipped = later._prev_clipped

    def _count_clipping(self, frames: Frames) -> None:
        if not len(frames):
            return
        hot = np.abs(frames) >= CLIP_LEVEL
        if not hot.any():
            self._prev_clipped[:] = False
            return
        pairs = hot[1:] & hot[:-1]
        self._clipped += int(pairs.sum()) + int((hot[0] & self._prev_clipped).sum())
        self._prev_clipped = hot[-1].copy()

    def _measure(self, frames: Frames) -> None:
        weighted = np.array(frames.T, dtype=np.float64, order="C")  # (ch, n)
        self._kernel(self._sos, weighted, self._zi)
        nsub = len(frames) // self.sub
        squares = weighted.reshape(self.channels, nsub, self.sub)
        energy = np.einsum("kij,kij->ik", squares, squares) / self.sub  # (nsub, ch)
        mono = weighted.mean(axis=0).reshape(nsub, self.sub)
        mono_energy = np.einsum("ij,ij->i", mono, mono) / self.sub
        total = energy.sum(axis=1)
        segments = total.reshape(-1, 10).mean(axis=1)
        self._note_loud(segments)
        self._gate.feed(segments)
        self._mono_gate.feed(mono_energy.reshape(-1, 10).mean(axis=1))
        peaks = np.abs(frames.reshape(nsub, self.sub, self.channels)).max(axis=(1, 2))
        self._sample_peak = max(self._sample_peak, float(peaks.max()))
        if self._want_true_peak:
            self._peaks.feed(frames, peaks)
        if self._summary:
            records = np.stack([_db16(peaks * peaks), _db16(total), _db16(mono_energy)], axis=1)
            self._subblocks.append(records)

    def _note_loud(self, segments: FloatArray) -> None:
        """Remember the first and last non-silent segment (for the edge silence)."""
        with np.errstate(divide="ignore"):
            loud = np.flatnonzero(-0.691 + 10 * np.log10(segments) > SILENCE_LUFS)
        if loud.size:
            offset = self._gate.segments
            if self._loud_first < 0:
                self._loud_first = offset + int(loud[0])
            self._loud_last = offset + int(loud[-1])

    def result(self) -> LoudnessStats:
        """Finish: the partial last segment is metered for peaks only (BS.1770 blocks)."""
        rest = self._blocker.rest
        if len(rest):
            peak = float(np.abs(rest).max())
            self._sample_peak = max(self._sample_peak, peak)
        found_tp = self._peaks.finish(rest) if self._want_true_peak else 0.0
        lead, trail = _edge_silence(
            self._loud_first, self._loud_last, self.frames / self.sample_rate
        )
        return LoudnessStats(
            integrated_lufs=self._gate.loudness(),
            mono_lufs=self._mono_gate.loudness(),
            true_peak=max(found_tp, self._sample_peak),
            sample_peak=self._sample_peak,
            clipped_samples=self._clipped,
            leading_silence=lead,
            trailing_silence=trail,
            duration=self.frames / self.sample_rate,
            subblocks=self._subblocks,
        )


def _db16(power: FloatArray) -> npt.NDArray[np.float16]:
    with np.errstate(divide="ignore"):
        db: npt.NDArray[np.float16] = np.maximum(10 * np.log10(power), -200.0).astype(np.float16)
        return db


def _edge_silence(first: int, last: int, duration: float) -> tuple[float, float]:
    """Seconds of silence at each end, from the first and last 100 ms segment above
    :data:`SILENCE_LUFS` (-1 when there is none)."""
    if first < 0:
        return duration, duration
    lead = float(first) * 0.1
    trail = max(0.0, duration - (float(last) + 1) * 0.1)
    return lead, trail


# --- limiter -------------------------------------------------------------------------------


@dataclass(frozen=True)
class LimiterShape:
    """Timing of the gain envelope, in seconds.

    Around each over-ceiling block the gain is held down from ``lookahead`` before it to
    ``hold`` after it, and the held curve is smoothed with a Hann window spanning both; so the
    gain glides down over about ``lookahead + hold`` before a peak and back up after it. The
    envelope never exceeds the required gain at any block (proof: the smoothing window lies
    inside the hold window), and it is C1-smooth, so there are no clicks.
    """

    block: float = 0.005
    lookahead: float = 0.005
    hold: float = 0.020


def envelope(required: FloatArray, look: int, hold: int) -> FloatArray:
    """Smoothed gain per block from the required gain per block (padded with 1.0 outside).

    ``held[j] = min(required[j - hold - 1 : j + look + 2])`` then a Hann window over
    ``held[b - look : b + hold + 1]``: every held value in that window (and in the windows of
    the blocks either side) is at most ``required[b]``, so the envelope never lets a block
    (or the interpolation into its neighbours) exceed the ceiling.
    """
    n = len(required)
    padded = np.concatenate([np.ones(hold + 1), required, np.ones(look + 1)])
    held = np.lib.stride_tricks.sliding_window_view(padded, look + hold + 3).min(axis=1)
    window = np.hanning(look + hold + 3)[1:-1]
    window /= window.sum()
    smooth_in = np.concatenate([np.ones(look), held, np.ones(hold)])
    env = np.correlate(smooth_in, window, mode="valid")
    return np.asarray(np.minimum(env[:n], 1.0))


class Limiter:
    """Streaming gain + true-peak look-ahead limiter.

    ``process`` returns frames delayed by a fixed look-ahead; ``flush`` returns the rest, so
    the output has exactly as many frames as the input. The required gain per block comes from
    the 4x-oversampled peak of the block after ``gain``; blocks whose sample peak cannot reach
    the ceiling even with :data:`TP_OVERSHOOT_BOUND` are not oversampled. All state (pending
    frames, required gains of recent blocks) is carried between calls, so chunking the input
    differently gives the same output.
    """

    def __init__(
        self,
        sample_rate: int,
        channels: int,
        gain: float,
        ceiling: float,
        shape: LimiterShape | None = None,
    ) -> None:
        shape = shape or LimiterShape()
        self.gain = gain
        self.ceiling = ceiling
        self.channels = channels
        self.block = max(8, round(sample_rate * shape.block))
        self.look = max(1, math.ceil(shape.lookahead * sample_rate / self.block))
        self.hold = max(1, math.ceil(shape.hold * sample_rate / self.block))
        self.context = self.look + self.hold + 3  # blocks of required gain each side of a block
        self._pending = np.zeros((0, channels), dtype=np.float32)  # starts at block _emitted
        self._emitted = 0  # blocks emitted
        self._req = np.ones(0)  # required gain of blocks [_req_start, _req_start + len)
        self._req_start = 0
        self._peaks = np.zeros(0)  # 4x true peak where computed, else sample peak, per block
        self.peak_out = 0.0
        self.limited_blocks = 0
        self.min_gain = 1.0

    def process(self, frames: Frames) -> Frames:
        """Feed frames; returns the frames that are now final (delayed by the look-ahead)."""
        self._pending = np.concatenate([self._pending, frames]) if len(self._pending) else frames
        return self._emit(final=False)

    def flush(self) -> Frames:
        """Emit everything left, assuming silence (gain 1) after the end."""
        return self._emit(final=True)

    def _emit(self, final: bool) -> Frames:
        frames = len(self._pending)
        if final:
            tail = -frames % self.block
            pad = np.zeros((tail, self.channels), dtype=np.float32)
            self._pending = np.concatenate([self._pending, pad])
        avail = self._emitted + len(self._pending) // self.block  # absolute blocks present
        known = avail if final else avail - 1  # a block's true peak needs the next block
        self._add_required(known)
        end = avail if final else known - self.context - 1
        if end <= self._emitted:
            return np.zeros((0, self.channels), dtype=np.float32)
        out = self._apply(self._emitted, end)
        if final:
            out = out[:frames]
        self._pending = self._pending[(end - self._emitted) * self.block :]
        self._emitted = end
        drop = max(0, end - self.context - 1 - self._req_start)
        self._req, self._req_start = self._req[drop:], self._req_start + drop
        self._peaks = self._peaks[drop:]
        return out

    def _add_required(self, known: int) -> None:
        """Compute the required gain of blocks up to ``known`` (absolute, exclusive)."""
        first = self._req_start + len(self._req)
        if known <= first:
            return
        rel0 = first - self._emitted
        nblocks = known - first
        first_frame = rel0 * self.block
        lo = max(0, rel0 - 1)  # neighbours bound the filter context
        hi = min(len(self._pending) // self.block, rel0 + nblocks + 1)
        span = self._pending[lo * self.block : hi * self.block]
        around = np.abs(span).reshape(hi - lo, -1).max(axis=1)
        peaks = around[rel0 - lo : rel0 - lo + nblocks]
        bound = neighbour_max(around)[rel0 - lo : rel0 - lo + nblocks]
        wanted = bound * (self.gain * TP_OVERSHOOT_BOUND) > self.ceiling
        required = np.ones(nblocks)
        if wanted.any():
            tps = block_true_peaks(self._pending, self.block, wanted, first_frame)
            peaks = np.where(wanted, tps, peaks)
            over = tps * self.gain > self.ceiling
            required[over] = self.ceiling / (tps[over] * self.gain)
            self.limited_blocks += int(over.sum())
        self._req = np.concatenate([self._req, required])
        self._peaks = np.concatenate([self._peaks, peaks])

    def _apply(self, begin: int, end: int) -> Frames:
        """Gain-limited frames of blocks [begin, end)."""
        lo = begin - self.context - 1
        hi = end + self.context + 1
        req = np.ones(hi - lo)
        have_lo = max(lo, self._req_start)
        have_hi = min(hi, self._req_start + len(self._req))
        if have_hi > have_lo:
            req[have_lo - lo : have_hi - lo] = self._req[
                have_lo - self._req_start : have_hi - self._req_start
            ]
        frames = self._pending[: (end - begin) * self.block]
        peaks = self._peaks[begin - self._req_start : end - self._req_start]
        if req.min() >= 1.0:
            self.peak_out = max(self.peak_out, float(peaks.max()) * self.gain)
            return (frames * np.float32(self.gain)).astype(np.float32, copy=False)
        env = envelope(req, self.look, self.hold)
        inner = slice(begin - lo - 1, end - lo + 1)  # the blocks, plus one either side
        env = env[inner]
        self.min_gain = min(self.min_gain, float(env.min()))
        env_max = np.maximum(np.maximum(env[:-2], env[1:-1]), env[2:])
        self.peak_out = max(self.peak_out, float((peaks * env_max).max()) * self.gain)
        centers = (np.arange(len(env)) - 0.5) * self.block
        points = np.arange(len(frames)) + 0.5
        gains = np.interp(points, centers, env) * self.gain
        out: Frames = (frames * gains[:, None]).astype(np.float32)
        return out


def _summary_timing(shape: LimiterShape) -> tuple[int, int]:
    """Look-ahead and hold in 10 ms sub-blocks giving the limiter's dip width in time.

    >>> _summary_timing(LimiterShape())
    (0, 1)
    """
    look = math.ceil(shape.lookahead / shape.block)
    hold = math.ceil(shape.hold / shape.block)
    window = (look + hold + 3) * shape.block  # seconds held around a peak
    spare = max(0, round(window / 0.01) - 3)
    ahead = min(spare, round(look * shape.block / 0.01))
    return ahead, spare - ahead


def estimate_limited_loudness(
    stats: LoudnessStats,
    gain_db: float,
    ceiling: float,
    *,
    mono: bool = False,
    shape: LimiterShape | None = None,
    window: int = 1 << 16,
) -> float:
    """Predicted integrated loudness after ``gain_db`` and a limiter at linear ``ceiling``.

    Replays the limiter coarsely on the 10 ms summary (sample peaks, so it slightly
    under-limits); callers check the real output and correct if the prediction was off. The
    summary is read ``window`` sub-blocks at a time (plus the envelope's reach on each side)
    and gated through a :class:`LoudnessGate`, so memory does not grow with the duration.
    """
    summary = stats.subblocks
    usable = len(summary) - len(summary) % 10
    if usable == 0:
        return -math.inf
    gain = db_to_lin(gain_db)
    look, hold = _summary_timing(shape or LimiterShape())
    reach = 2 * (look + hold + 3)  # an envelope value depends on +-(look + hold + 2) blocks
    step = max(10, window - window % 10)
    gate = LoudnessGate()
    for start in range(0, usable, step):
        stop = min(start + step, usable)
        lo, hi = max(0, start - reach), min(usable, stop + reach)
        records = summary.read(lo, hi)
        peaks = 10 ** (records[:, 0].astype(np.float64) / 20)
        with np.errstate(divide="ignore"):
            required = np.minimum(1.0, ceiling / np.maximum(peaks * gain, 1e-12))
        env = envelope(required, look, hold) if required.min() < 1.0 else required
        inner = slice(start - lo, stop - lo)
        energy_db = records[inner, 2 if mono else 1].astype(np.float64)
        energy = 10 ** (energy_db / 10) * (gain * env[inner]) ** 2
        gate.feed(energy.reshape(-1, 10).mean(axis=1))
    return gate.loudness()
