"""Curves kept per block (a gain per 10 ms, a limiter envelope per 5 ms) made per sample.

Both the loudness gain and the limiter's envelope are straight lines between block centres;
laying whole segments out as rows of an outer product is ~3x cheaper than ``np.interp``'s
per-sample search, and this runs on every sample of every episode.
"""

from __future__ import annotations

import numpy as np

from dfl_audio.audio.arrays import F32Array, FloatArray


def interpolate_blocks(knots: FloatArray | F32Array, block: int, first: int, n: int) -> F32Array:
    """Values at frames ``[first, first + n)`` of a curve whose ``knots[k]`` sits at the
    centre of block ``k`` (frame ``(k + 0.5) * block``), held flat beyond the first and last.

    Segment ``k`` runs from the centre of block ``k`` to that of ``k + 1``, i.e. from frame
    ``k*block + block//2``; for an even block the centres fall between frames.

    >>> interpolate_blocks(np.array([0.0, 1.0]), 4, 0, 8).tolist()
    [0.0, 0.0, 0.125, 0.375, 0.625, 0.875, 1.0, 1.0]
    """
    ramp = ((np.arange(block) + (0.0 if block % 2 else 0.5)) / block).astype(np.float32)
    half = block // 2
    k0 = (first - half) // block
    k1 = (first + n - 1 - half) // block
    segments = np.arange(k0, k1 + 2)  # held at both ends: indices clip to the first / last
    values = knots[np.clip(segments, 0, len(knots) - 1)].astype(np.float32)
    left, right = values[:-1], values[1:]
    rows = np.multiply((right - left)[:, None], ramp[None, :])  # in single precision, as
    rows += left[:, None]  # the frames it scales: half the memory traffic of double
    offset = first - half - k0 * block
    out: F32Array = rows.reshape(-1)[offset : offset + n]
    return out
