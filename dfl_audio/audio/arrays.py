"""The array shapes the engine passes around, named once."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Frames = npt.NDArray[np.float32]  # audio, shaped (n, channels), nominally within [-1, 1]
FloatArray = npt.NDArray[np.float64]  # per-block measures: energies, peaks, gains
F32Array = npt.NDArray[np.float32]  # per-block measures kept compactly
BoolArray = npt.NDArray[np.bool_]
