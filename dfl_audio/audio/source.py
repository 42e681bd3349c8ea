"""The recording as conditioned float frames at the output rate and channel count.

One decode: the measure pass reads the source (a plain PCM WAV straight from the file, any
other format through an ffmpeg decoder that also resamples), conditions it (channels matched,
DC and rumble removed by a high-pass) and, unless the source is a WAV at the output rate that
can simply be read again, keeps the conditioned frames in a :class:`Spool`: an unlinked
temporary file, so nothing is left behind even if the process is killed. The encode pass then
reads exactly the frames the meter saw.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Literal, Protocol

import numpy as np

from dfl_audio import ffmpeg
from dfl_audio.audio import tuning
from dfl_audio.audio.arrays import Frames
from dfl_audio.audio.filters import IirFilter, highpass
from dfl_audio.audio.probe import AudioProbe
from dfl_audio.audio.wav import WavLayout, wav_chunks, wav_layout
from dfl_audio.errors import AudioError


class FrameSource(Protocol):
    """Anything that yields float32 ``(n, channels)`` chunks, with a decoder report after."""

    report: ffmpeg.DecodeReport | None

    def chunks(self, frames: int) -> Iterator[Frames]: ...


class WavReader:
    """A direct PCM reader with the face of :class:`ffmpeg.Decoder` (no decoder, no report)."""

    report: ffmpeg.DecodeReport | None = None

    def __init__(self, path: Path, layout: WavLayout) -> None:
        self._path, self._layout = path, layout

    def chunks(self, frames: int) -> Iterator[Frames]:
        return wav_chunks(self._path, self._layout, 0, self._layout.frames, frames)


def direct_wav(path: Path, probe: AudioProbe, sample_rate: int) -> WavLayout | None:
    """The layout of a source that can be read without a decoder at this output rate."""
    if probe.container != "wav" or not 1 <= probe.channels <= 2:
        return None
    layout = wav_layout(path)
    return layout if layout is not None and layout.sample_rate == sample_rate else None


@contextlib.contextmanager
def open_source(
    path: Path, probe: AudioProbe, sample_rate: int, channels: int
) -> Iterator[FrameSource]:
    """The source at ``sample_rate``: a WAV read directly has its own channels (at most 2);
    a decoder is asked for ``channels`` at once (a stereo source averaged to mono in ffmpeg,
    which halves what crosses the pipe and what Python filters)."""
    layout = direct_wav(path, probe, sample_rate)
    if layout is not None:
        yield WavReader(path, layout)
        return
    stereo_to_mono = channels == 1 and probe.channels == 2
    decoded = channels if stereo_to_mono else min(max(probe.channels, 1), 2)
    resample = sample_rate if sample_rate != probe.sample_rate else None
    fmt = _pipe_format(probe, resample)
    with ffmpeg.decode(
        path, decoded, resample, sample_format=fmt, mean_of_stereo=stereo_to_mono
    ) as decoder:
        yield decoder


def _pipe_format(probe: AudioProbe, resample: int | None) -> Literal["f32le", "s16le"]:
    """16-bit sources cross the pipe as 16-bit (half the bytes, no loss) unless resampled."""
    lossless = probe.codec in ("pcm_s16le", "flac") and probe.bits_per_sample == 16
    return "s16le" if lossless and resample is None else "f32le"


class Conditioner:
    """Matches the channel count (mean to mono, or mono doubled) and high-passes."""

    def __init__(self, sample_rate: int, channels: int) -> None:
        self.channels = channels
        self._highpass: IirFilter = highpass(sample_rate, tuning.HIGHPASS_HZ, channels)
        self._started = False

    def process(self, chunk: Frames) -> Frames:
        matched = match_channels(chunk, self.channels)
        if not self._started and len(matched):
            self._highpass.settle(matched[0])  # a DC offset must not start with a thump
            self._started = True
        return self._highpass.process(matched)


def match_channels(chunk: Frames, channels: int) -> Frames:
    """Downmix to mono by the channel mean, or duplicate mono into stereo."""
    if chunk.shape[1] == channels:
        return chunk
    if channels == 1:
        mono: Frames = chunk[:, :1] + chunk[:, 1:2]  # a sum and a halving: cheaper than mean
        mono *= np.float32(0.5)
        return mono
    return np.repeat(chunk, channels, axis=1)


class Spool:
    """Conditioned frames on disk between the two passes (float32, an unlinked temp file)."""

    def __init__(self, channels: int, folder: Path | None = None) -> None:
        self.channels = channels
        self.frames = 0
        # unlinked at once: the OS frees it when closed, or when the process dies
        self._file: IO[bytes] = tempfile.TemporaryFile(  # noqa: SIM115
            prefix="dfl-audio-spool-", dir=folder
        )

    def write(self, frames: Frames) -> None:
        try:
            self._file.write(np.ascontiguousarray(frames, dtype="<f4").tobytes())
        except OSError as exc:
            raise AudioError(f"cannot keep the decoded audio on disk: {exc}", original=exc) from exc
        self.frames += len(frames)

    def chunks(self, frames: int) -> Iterator[Frames]:
        """Read everything back, from the start, ``frames`` at a time."""
        self._file.flush()
        self._file.seek(0)
        width = 4 * self.channels
        while data := self._file.read(frames * width):
            yield np.frombuffer(data, dtype="<f4").reshape(-1, self.channels)

    def close(self) -> None:
        self._file.close()


def conditioned_chunks(
    path: Path, probe: AudioProbe, sample_rate: int, channels: int, spool: Spool | None
) -> Iterator[Frames]:
    """The encode pass's input: the spool when there is one, else the WAV read and
    conditioned again (the same frames the measure pass saw: the filter is deterministic)."""
    if spool is not None:
        yield from spool.chunks(tuning.CHUNK_FRAMES)
        return
    layout = direct_wav(path, probe, sample_rate)
    if layout is None:
        raise AudioError("the decoded audio was not kept (no spool)", path)
    conditioner = Conditioner(sample_rate, channels)
    for chunk in wav_chunks(path, layout):
        yield conditioner.process(chunk)
