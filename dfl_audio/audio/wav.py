"""Plain PCM WAV read straight from the file: no decoder for the commonest source.

A 1-2 channel 16/24/32-bit integer or 32-bit float WAV is its own perfect decode; reading it
with numpy avoids an ffmpeg child and a pipe. Anything else (other codecs, more channels, a
header we do not understand) returns ``None`` from :func:`wav_layout` and goes to ffmpeg.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import numpy.typing as npt

from dfl_audio.audio.arrays import Frames
from dfl_audio.audio.tuning import CHUNK_FRAMES

_WAV_DTYPES = {(1, 16): "<i2", (1, 24): "i3", (1, 32): "<i4", (3, 32): "<f4"}
_WAV_SCALE = {"<i2": 1 / 32768, "i3": 1 / 8388608, "<i4": 1 / 2147483648, "<f4": 1.0}


@dataclass(frozen=True)
class WavLayout:
    """Where the samples of a plain PCM WAV are: read without any decoder."""

    offset: int
    frames: int
    channels: int
    sample_rate: int
    dtype: str  # a key of _WAV_SCALE; "i3" is packed 24-bit


def wav_layout(path: Path) -> WavLayout | None:
    """The data chunk of a 1-2 channel PCM/float WAV, or None (then ffmpeg decodes)."""
    try:
        with path.open("rb") as handle:
            return _parse_riff(handle, os.path.getsize(path))
    except (OSError, struct.error):
        return None


def _parse_riff(handle: BinaryIO, size: int) -> WavLayout | None:
    head = handle.read(12)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    fmt: tuple[int, int, int, int, int] | None = None
    while True:
        header = handle.read(8)
        if len(header) < 8:
            return None
        kind, length = header[:4], struct.unpack("<I", header[4:])[0]
        if kind == b"fmt ":
            body = handle.read(length + length % 2)
            tag, channels, rate, _, align, bits = struct.unpack("<HHIIHH", body[:16])
            if tag == 0xFFFE and len(body) >= 26:  # WAVE_FORMAT_EXTENSIBLE: subformat GUID
                tag = struct.unpack("<H", body[24:26])[0]
            fmt = (tag, channels, rate, align, bits)
        elif kind == b"data":
            if fmt is None:
                return None
            tag, channels, rate, align, bits = fmt
            dtype = _WAV_DTYPES.get((tag, bits))
            if dtype is None or align != channels * bits // 8 or not 1 <= channels <= 2:
                return None
            offset = handle.tell()
            frames = min(length, size - offset) // align
            return WavLayout(offset, frames, channels, rate, dtype)
        else:
            handle.seek(length + length % 2, os.SEEK_CUR)


def wav_chunks(
    path: Path,
    layout: WavLayout,
    start: int = 0,
    stop: int | None = None,
    frames: int = CHUNK_FRAMES,
) -> Iterator[Frames]:
    """Float32 frames ``[start, stop)`` in chunks of ``frames``, read from disk as needed."""
    width = 3 if layout.dtype == "i3" else np.dtype(layout.dtype).itemsize
    scale = np.float32(_WAV_SCALE[layout.dtype])
    stop = layout.frames if stop is None else stop
    with path.open("rb") as handle:
        handle.seek(layout.offset + start * width * layout.channels)
        for first in range(start, stop, frames):
            count = min(frames, stop - first) * layout.channels
            if layout.dtype == "i3":
                raw = np.fromfile(handle, dtype=np.uint8, count=count * 3).reshape(-1, 3)
                chunk = _int24(raw).astype(np.float32) * scale
            else:
                chunk = np.fromfile(handle, dtype=layout.dtype, count=count).astype(np.float32)
                if layout.dtype != "<f4":
                    chunk *= scale
            yield chunk.reshape(-1, layout.channels)


def _int24(raw: npt.NDArray[np.uint8]) -> npt.NDArray[np.int32]:
    """Packed little-endian 24-bit samples (rows of 3 bytes) as int32."""
    value = raw[:, 0].astype(np.int32) | raw[:, 1].astype(np.int32) << 8
    value |= raw[:, 2].astype(np.int8).astype(np.int32) << 16
    return value
