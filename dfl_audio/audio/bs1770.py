"""ITU-R BS.1770-4 in one home: the K-weighting filter and the gated integrated loudness.

Everything that turns samples into LUFS lives here, pure numpy over float frames shaped
``(n, channels)``. The K-weighting (a high-frequency shelf, then a 38 Hz high-pass) is run as
a cascade of two biquads in :class:`~dfl_audio.audio.filters.IirFilter`.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from dfl_audio.audio.arrays import FloatArray
from dfl_audio.audio.filters import IirFilter

ABSOLUTE_GATE_LUFS = -70.0
RELATIVE_GATE_LU = -10.0
LUFS_OFFSET = -0.691  # LUFS = -0.691 + 10 log10(sum of weighted channel mean squares)
BLOCKS_PER_SECOND = 100  # analysis resolution: 10 ms sub-blocks, ten to a segment


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


def energy_to_lufs(energy: float) -> float:
    """Loudness of a channel-summed mean square.

    >>> round(energy_to_lufs(1.0), 3)
    -0.691
    """
    return LUFS_OFFSET + 10 * math.log10(energy) if energy > 0 else -math.inf


def sub_block(sample_rate: int) -> int:
    """Frames in one 10 ms analysis sub-block.

    >>> sub_block(44100), sub_block(48000)
    (441, 480)
    """
    return max(1, round(sample_rate / BLOCKS_PER_SECOND))


def k_weighting_biquads(sample_rate: int) -> FloatArray:
    """The two BS.1770 K-weighting biquads (shelf, then high-pass) as ``[b0 b1 b2 1 a1 a2]``
    rows, derived from the analog prototypes (as libebur128 does) so 44.1 kHz is as exact as
    48 kHz."""
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


class KWeighting(IirFilter):
    """Streaming K-weighting of ``channels`` channels (the two biquads in cascade)."""

    def __init__(self, sample_rate: int, channels: int) -> None:
        super().__init__(k_weighting_biquads(sample_rate), channels)


def gated_loudness(segment_energy: FloatArray) -> float:
    """Integrated loudness (LUFS) from channel-summed mean squares of 100 ms segments.

    A gating block is 400 ms = four consecutive segments (75 % overlap); blocks below -70 LUFS
    and then below (their mean - 10 LU) are dropped. ``-inf`` when nothing passes.
    """
    blocks = block_energies(segment_energy)
    kept = blocks[gate_mask(blocks)]
    return energy_to_lufs(float(kept.mean())) if kept.size else -math.inf


def block_energies(segment_energy: FloatArray) -> FloatArray:
    """Mean square of every 400 ms gating block (hop 100 ms)."""
    if len(segment_energy) < 4:
        return np.zeros(0)
    return np.convolve(segment_energy, np.ones(4) / 4, mode="valid")


def gate_mask(blocks: FloatArray) -> npt.NDArray[np.bool_]:
    """Which gating blocks count: over the absolute gate, then over the relative one."""
    with np.errstate(divide="ignore"):
        levels = LUFS_OFFSET + 10 * np.log10(blocks)
    absolute = levels > ABSOLUTE_GATE_LUFS
    if not absolute.any():
        return absolute
    relative = energy_to_lufs(float(blocks[absolute].mean())) + RELATIVE_GATE_LU
    mask: npt.NDArray[np.bool_] = absolute & (levels > relative)
    return mask


def segments_from_subblocks(subblock_energy: FloatArray) -> FloatArray:
    """100 ms segment energies from 10 ms sub-block energies (a partial segment is dropped)."""
    usable = len(subblock_energy) - len(subblock_energy) % 10
    return np.asarray(subblock_energy[:usable].reshape(-1, 10).mean(axis=1), dtype=np.float64)


def subblock_loudness(subblock_energy: FloatArray) -> float:
    """Integrated loudness of a signal described by its 10 ms sub-block energies."""
    return gated_loudness(segments_from_subblocks(subblock_energy))
