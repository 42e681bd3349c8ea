"""ffmpeg on an MP3 that LAME is still writing: the encode's check runs beside the encode.

A feeder thread follows the growing file into an ffmpeg child; the child decodes it once,
reads its true peak in C and hands the decoded frames back, so the MP3 is measured while it is
made instead of after.
"""

from __future__ import annotations

import contextlib
import logging
import re
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

import numpy as np
import numpy.typing as npt

from dfl_audio.errors import AudioError
from dfl_audio.ffmpeg import Decoder, base_command, grow_pipe, spawn, stop_child

log = logging.getLogger(__name__)

_FOLLOW_BYTES = 1 << 16
_FOLLOW_POLL = 0.02  # seconds between looks at a file that has not grown


class GrowingDecode:
    """An MP3 that another process is still writing, decoded once by an ffmpeg child.

    A feeder thread follows the file into the child until ``finished`` is set and the end is
    reached, so the check of an encode runs alongside it on the other core. The child splits
    the decode: PCM to :meth:`chunks`, through the caller's biquads if any (the loudness
    meter's K-weighting runs in C, so the caller only sums squares), and ffmpeg's own
    true-peak reading, the resampling ``ebur128=peak=true`` does (192 kHz), for
    :meth:`true_peak_dbtp`.
    """

    def __init__(self, path: Path, decoder: Decoder) -> None:
        self._path, self._decoder = path, decoder

    def chunks(self, frames: int) -> Iterator[npt.NDArray[np.float32]]:
        """Float frames of the MP3 as they are decoded, until its end."""
        return self._decoder.chunks(frames)

    def true_peak_dbtp(self) -> float:
        """The whole MP3's true peak (call after :meth:`chunks` reached the end)."""
        report = self._decoder.report
        text = "\n".join(report.errors) if report is not None else ""
        found = re.findall(r"Peak level dB:\s+(-?[\d.]+|-inf)", text)
        if report is None or report.returncode != 0 or not found:
            last = text.strip().splitlines()[-1:] or ["no output"]
            raise AudioError(f"ffmpeg gave no true peak for the MP3: {last[0]}", self._path)
        return float(found[-1])


# What ebur128=peak=true does inside, then the peak of the result. ebur128 resamples in double
# precision; single precision reads the same peak to 1e-6 dB (checked on three MP3s, one of
# them limited to the ceiling) for 40 % less CPU, on the core LAME shares with the engine.
_TRUE_PEAK_FILTER = (
    "aresample=192000:osf=fltp:internal_sample_fmt=fltp,"
    "astats=measure_perchannel=none:measure_overall=Peak_level"
)


def biquad_chain(biquads: Sequence[Sequence[float]]) -> str:
    """ffmpeg filters for ``[b0 b1 b2 a0 a1 a2]`` rows, in order, in double precision (exact
    coefficients: ``repr`` round-trips a float).

    >>> biquad_chain([[1.0, 0.0, 0.0, 1.0, 0.5, 0.0]])
    'biquad=b0=1.0:b1=0.0:b2=0.0:a0=1.0:a1=0.5:a2=0.0:precision=f64'
    """
    names = ("b0", "b1", "b2", "a0", "a1", "a2")
    return ",".join(
        "biquad="
        + ":".join(f"{name}={float(value)!r}" for name, value in zip(names, row, strict=True))
        + ":precision=f64"
        for row in biquads
    )


@contextlib.contextmanager
def decode_growing(
    path: Path,
    finished: threading.Event,
    channels: int,
    pcm_biquads: Sequence[Sequence[float]] = (),
) -> Iterator[GrowingDecode]:
    """Decode an MP3 as it is written (see :class:`GrowingDecode`); the PCM handed back goes
    through ``pcm_biquads`` first (none: the decoded frames as they are)."""
    pcm = f"[pcm]{biquad_chain(pcm_biquads)}[out]" if pcm_biquads else "[pcm]anull[out]"
    cmd = [*base_command(), "-nostats", "-v", "info", "-f", "mp3", "-i", "pipe:0"]
    cmd += ["-filter_complex", f"[0:a]asplit[pcm][tp];[tp]{_TRUE_PEAK_FILTER}[peak];{pcm}"]
    cmd += ["-map", "[peak]", "-f", "null", "-"]
    cmd += ["-map", "[out]", "-ac", str(channels), "-c:a", "pcm_f32le", "-f", "f32le", "pipe:1"]
    proc = spawn(cmd, path, stdin=True, stdout=True, background=True)
    stop = threading.Event()
    feeder = threading.Thread(target=_follow, args=(path, proc, finished, stop), daemon=True)
    decoder: Decoder | None = None
    try:
        assert proc.stdout is not None
        grow_pipe(proc.stdout)
        decoder = Decoder(proc, channels, "f32le")
        feeder.start()
        yield GrowingDecode(path, decoder)
    finally:
        stop.set()
        finished.set()
        if feeder.is_alive():
            feeder.join(timeout=10)
        stop_child(proc)
        if decoder is not None:
            decoder.close()


def _follow(
    path: Path, proc: subprocess.Popen[bytes], finished: threading.Event, stop: threading.Event
) -> None:
    """Copy ``path`` into the child's stdin as it grows; close stdin at its final end."""
    stdin = proc.stdin
    assert stdin is not None
    try:
        with _open_when_created(path, finished, stop) as source:
            while source is not None and not stop.is_set():
                done = finished.is_set()  # read before looking, so no tail is missed
                data = source.read(_FOLLOW_BYTES)
                if data:
                    stdin.write(data)
                elif done:
                    break
                else:
                    time.sleep(_FOLLOW_POLL)
    except OSError as exc:  # the decoder went away: its report says why
        log.debug("following %s stopped: %s", path, exc)
    finally:
        with contextlib.suppress(OSError):
            stdin.close()


@contextlib.contextmanager
def _open_when_created(
    path: Path, finished: threading.Event, stop: threading.Event
) -> Iterator[BinaryIO | None]:
    while not stop.is_set():
        done = finished.is_set()
        try:
            handle = path.open("rb")
        except FileNotFoundError:
            if done:
                break
            time.sleep(_FOLLOW_POLL)
            continue
        with handle:
            yield handle
        return
    yield None
