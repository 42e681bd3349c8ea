"""Plain PCM WAV read straight from the file: no decoder for the commonest source.

A 1-2 channel 16/24/32-bit integer or 32-bit float WAV is its own perfect decode; reading it
with numpy avoids an ffmpeg child and a pipe. Anything else (other codecs, more channels, a
header we do not understand) returns ``None`` from :func:`wav_layout` and goes to ffmpeg.
A WAV written to a pipe (sizes 0xFFFFFFFF, "unknown") is read to the end of the file, as
ffmpeg reads it; :func:`wav_data` tells that apart from a copy cut short.
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

# Sizes a writer puts in the header when it cannot seek back to fill them in (its output is a
# pipe): ffmpeg's and most tools' "unknown", and SoX's MS_UNSPEC. The data then runs to the
# end of the file.
UNKNOWN_SIZE = 0xFFFFFFFF
SOX_UNKNOWN_SIZE = 0x7FFFF000


@dataclass(frozen=True)
class WavFormat:
    """The ``fmt `` chunk: what one frame of the data chunk is."""

    tag: int  # 1 PCM, 3 float (WAVE_FORMAT_EXTENSIBLE resolved to its subformat)
    channels: int
    sample_rate: int
    block_align: int  # bytes per frame
    bits: int


@dataclass(frozen=True)
class WavData:
    """Where a RIFF WAVE file's samples are, and how much of them the file really holds."""

    format: WavFormat
    offset: int  # of the first sample byte
    declared: int  # the data chunk's size field
    available: int  # sample bytes from offset to the end of the file
    streamed: bool  # written to a pipe: sizes unknown, the data runs to the end of the file

    @property
    def size(self) -> int:
        """Sample bytes to read: all there are when streamed, else what the header says."""
        return self.available if self.streamed else min(self.declared, self.available)

    @property
    def truncated(self) -> bool:
        """The header promises more than the file holds (a copy cut short)."""
        return not self.streamed and self.declared > self.available

    def seconds(self, size: int) -> float:
        """How long ``size`` bytes of this data play."""
        return size // self.format.block_align / self.format.sample_rate


@dataclass(frozen=True)
class WavLayout:
    """Where the samples of a plain PCM WAV are: read without any decoder."""

    offset: int
    frames: int
    channels: int
    sample_rate: int
    dtype: str  # a key of _WAV_SCALE; "i3" is packed 24-bit


def wav_data(path: Path) -> WavData | None:
    """The data chunk of a RIFF WAVE file of any codec, or None when the header is not one."""
    try:
        with path.open("rb") as handle:
            return _parse_riff(handle, os.path.getsize(path))
    except (OSError, struct.error):
        return None


def wav_layout(path: Path) -> WavLayout | None:
    """The data chunk of a 1-2 channel PCM/float WAV, or None (then ffmpeg decodes)."""
    data = wav_data(path)
    if data is None:
        return None
    fmt = data.format
    dtype = _WAV_DTYPES.get((fmt.tag, fmt.bits))
    if dtype is None or fmt.block_align != fmt.channels * fmt.bits // 8:
        return None
    if not 1 <= fmt.channels <= 2 or fmt.sample_rate <= 0:
        return None
    frames = data.size // fmt.block_align
    return WavLayout(data.offset, frames, fmt.channels, fmt.sample_rate, dtype)


def _parse_riff(handle: BinaryIO, size: int) -> WavData | None:
    head = handle.read(12)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    riff_size = struct.unpack("<I", head[4:8])[0]
    fmt: WavFormat | None = None
    while True:
        header = handle.read(8)
        if len(header) < 8:
            return None
        kind, length = header[:4], struct.unpack("<I", header[4:])[0]
        if kind == b"fmt ":
            fmt = _parse_fmt(handle.read(length + length % 2))
        elif kind == b"data":
            if fmt is None or fmt.block_align <= 0:
                return None
            offset = handle.tell()
            available = max(0, size - offset)
            return WavData(fmt, offset, length, available, _streamed(riff_size, length, available))
        else:
            handle.seek(length + length % 2, os.SEEK_CUR)


def _parse_fmt(body: bytes) -> WavFormat:
    tag, channels, rate, _, align, bits = struct.unpack("<HHIIHH", body[:16])
    if tag == 0xFFFE and len(body) >= 26:  # WAVE_FORMAT_EXTENSIBLE: subformat GUID
        tag = struct.unpack("<H", body[24:26])[0]
    return WavFormat(tag, channels, rate, align, bits)


def _streamed(riff_size: int, declared: int, available: int) -> bool:
    """Sizes written as "unknown" by a writer whose output was a pipe.

    >>> _streamed(UNKNOWN_SIZE, UNKNOWN_SIZE, 1000), _streamed(UNKNOWN_SIZE, 5000, 1000)
    (True, True)
    >>> _streamed(36 + 5000, 5000, 1000), _streamed(UNKNOWN_SIZE, 800, 1000)
    (False, False)
    >>> _streamed(SOX_UNKNOWN_SIZE + 36, SOX_UNKNOWN_SIZE, 1000)
    True
    """
    if declared == UNKNOWN_SIZE:
        return True
    past_the_end = declared > available
    return past_the_end and (riff_size == UNKNOWN_SIZE or declared == SOX_UNKNOWN_SIZE)


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
