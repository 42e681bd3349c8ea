"""Per-10 ms arrays parked on disk while the encoder runs, so memory stays flat with length.

An hour is 360,000 sub-blocks. The profile, the leveler's plan and the gain curve, held
through a three-hour encode, cost ~20 MB that grows with the episode. Parked in an unlinked
temp file (beside the spool), they cost nothing until they are read back: whole for the gain
planning, or a window at a time for the encoder's gain curve.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import IO, Any

import numpy as np
import numpy.typing as npt

from dfl_audio.errors import AudioError


class ParkedArray:
    """One 1-D array in an unlinked temp file; read back whole or a slice at a time."""

    def __init__(self, values: npt.NDArray[Any], folder: Path | None = None) -> None:
        data = np.ascontiguousarray(values)
        self.dtype = data.dtype
        self.length = len(data)
        # unlinked at once: the OS frees it when closed, or when the process dies
        self._file: IO[bytes] = tempfile.TemporaryFile(  # noqa: SIM115
            prefix="dfl-audio-parked-", dir=folder
        )
        try:
            self._file.write(data.tobytes())
            self._file.flush()
        except OSError as exc:
            self._file.close()
            message = f"cannot keep the audio analysis on disk: {exc}"
            raise AudioError(message, original=exc) from exc

    def __len__(self) -> int:
        return self.length

    def read(self, start: int = 0, stop: int | None = None) -> npt.NDArray[Any]:
        """Elements ``[start, stop)`` (clipped to the array) as a new, writable array.

        >>> parked = ParkedArray(np.arange(5, dtype=np.float32))
        >>> parked.read(1, 3).tolist(), parked.read(3).tolist(), len(parked.read(9))
        ([1.0, 2.0], [3.0, 4.0], 0)
        >>> parked.close()
        """
        start = min(max(0, start), self.length)
        stop = self.length if stop is None else min(max(start, stop), self.length)
        size = self.dtype.itemsize
        self._file.seek(start * size)
        data = self._file.read((stop - start) * size)
        if len(data) != (stop - start) * size:
            raise AudioError("the audio analysis kept on disk was cut short")
        out: npt.NDArray[Any] = np.frombuffer(data, dtype=self.dtype).copy()
        return out

    def close(self) -> None:
        self._file.close()
