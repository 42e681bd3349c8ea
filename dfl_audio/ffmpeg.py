"""The one place that runs ffmpeg (:mod:`.ffmpeg_growing` and :mod:`.ffmpeg_judge` run theirs
through it; :mod:`.ffmpeg_locate` finds which ffmpeg).

ffmpeg is the decoder of truth and the MP3 encoder. On a fresh machine without a system
ffmpeg we fall back to the static binary in the ``imageio-ffmpeg`` wheel, which has libmp3lame
but no ffprobe, so nothing here uses ffprobe. Audio moves through pipes in bounded chunks:
no intermediate file, never the whole signal in memory. Every subprocess is killed and
reaped in a ``finally`` so Ctrl-C or an exception leaves no child behind.
"""

from __future__ import annotations

import collections
import contextlib
import fcntl
import logging
import os
import queue
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO, Literal, cast

import numpy as np
import numpy.typing as npt

from dfl_audio.errors import AudioError
from dfl_audio.ffmpeg_locate import ffmpeg_info

log = logging.getLogger(__name__)

_PIPE_BYTES = 1 << 20  # ask Linux for 1 MiB pipes so both ends keep busy
_F_SETPIPE_SZ = 1031
_STDERR_LINES = 40


def base_command() -> list[str]:
    return [ffmpeg_info().path, "-hide_banner", "-nostdin"]


class Description:
    """ffmpeg's own description of an input (``ffmpeg -i``), under way: the caller does its
    own work while ffmpeg starts (most of the run), then :meth:`text` waits for it."""

    def __init__(self, path: Path) -> None:
        self._path = path
        try:
            self._proc = subprocess.Popen(
                [*base_command(), "-i", str(path)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
        except OSError as exc:
            raise AudioError(f"ffmpeg could not read the file: {exc}", path, exc) from exc

    def text(self) -> str:
        """The description (stderr text; the exit code is ignored)."""
        try:
            _, err = self._proc.communicate(timeout=60)
        except subprocess.TimeoutExpired as exc:
            raise AudioError(f"ffmpeg could not read the file: {exc}", self._path, exc) from exc
        return err.decode("utf-8", "replace")

    def close(self) -> None:
        stop_child(self._proc)
        if self._proc.stderr is not None:
            with contextlib.suppress(OSError):
                self._proc.stderr.close()


@contextlib.contextmanager
def describing(path: Path) -> Iterator[Description]:
    """Start ``ffmpeg -i path``; the child is reaped however the block ends."""
    description = Description(path)
    try:
        yield description
    finally:
        description.close()


def grow_pipe(handle: IO[bytes]) -> None:
    with contextlib.suppress(OSError):
        fcntl.fcntl(handle.fileno(), _F_SETPIPE_SZ, _PIPE_BYTES)


class _StderrTail:
    """Drains a child's stderr in a thread (so it never blocks), keeping the last lines."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.lines: collections.deque[str] = collections.deque(maxlen=_STDERR_LINES)
        self.count = 0
        self._thread = threading.Thread(target=self._drain, args=(stream,), daemon=True)
        self._thread.start()

    def _drain(self, stream: IO[bytes]) -> None:
        for raw in stream:
            line = raw.decode("utf-8", "replace").strip()
            if line:
                self.lines.append(line)
                self.count += 1

    def join(self) -> list[str]:
        self._thread.join(timeout=10)
        return list(self.lines)


def stop_child(proc: subprocess.Popen[bytes]) -> None:
    """Kill (if still running) and reap a child; safe to call twice."""
    if proc.poll() is None:
        proc.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)
    for stream in (proc.stdin, proc.stdout):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()


@dataclass
class DecodeReport:
    """How a finished decode went: exit code and ffmpeg's error lines (``-v error``)."""

    returncode: int
    errors: list[str]

    @property
    def failed(self) -> bool:
        return self.returncode != 0 or bool(self.errors)

    def reason(self, path: Path) -> str:
        """What went wrong, in words: ffmpeg's own line, or what its map error means."""
        if any("matches no streams" in line for line in self.errors):
            return "no audio stream in the file"
        lines = [line for line in self.errors if not line.startswith("To ignore this")]
        detail = lines[-1] if lines else f"ffmpeg exited with {self.returncode}"
        return "ffmpeg: " + detail.removeprefix(f"{path}: ")  # the error names the file


class Decoder:
    """Streams float32 frames ``(n, channels)`` from an ffmpeg child writing raw PCM.

    A reader thread keeps up to two chunks ready, so waiting for the pipe overlaps with our
    numpy work (the GIL is released while reading).
    """

    def __init__(self, proc: subprocess.Popen[bytes], channels: int, sample_format: str) -> None:
        self._proc = proc
        self.channels = channels
        self._int16 = sample_format == "s16le"
        assert proc.stdout is not None and proc.stderr is not None
        self._stdout = cast(BinaryIO, proc.stdout)
        self._stderr = _StderrTail(proc.stderr)
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=2)
        self._closed = threading.Event()
        self._reader: threading.Thread | None = None
        self.report: DecodeReport | None = None

    def chunks(self, frames: int) -> Iterator[npt.NDArray[np.float32]]:
        """Yield chunks of ``frames`` frames (the last may be shorter)."""
        width = self.channels * (2 if self._int16 else 4)
        reader = threading.Thread(target=self._read_all, args=(frames * width,), daemon=True)
        reader.start()
        self._reader = reader  # only once started: close() joins it (Ctrl-C may land in start)
        while (data := self._queue.get()) is not None:
            usable = len(data) - len(data) % width
            if usable:
                yield self._frames(data[:usable])
        self.report = DecodeReport(self._proc.wait(), self._stderr.join())

    def _frames(self, data: bytes) -> npt.NDArray[np.float32]:
        if self._int16:
            ints = np.frombuffer(data, dtype="<i2").reshape(-1, self.channels)
            return ints.astype(np.float32) * np.float32(1 / 32768)
        return np.frombuffer(data, dtype="<f4").reshape(-1, self.channels)

    def _read_all(self, size: int) -> None:
        while not self._closed.is_set():
            data = self._read(size)
            if data:
                self._put(data)
            if len(data) < size:
                break
        self._put(None)

    def _put(self, item: bytes | None) -> None:
        while not self._closed.is_set():
            with contextlib.suppress(queue.Full):
                self._queue.put(item, timeout=0.2)
                return

    def close(self) -> None:
        self._closed.set()
        if self._reader is not None:
            self._reader.join(timeout=10)

    def _read(self, size: int) -> bytes:
        buf = bytearray(size)
        view = memoryview(buf)
        got = 0
        while got < size:
            n = self._stdout.readinto(view[got:])  # type: ignore[attr-defined]
            if not n:
                break
            got += n
        return bytes(buf) if got == size else bytes(buf[:got])


@contextlib.contextmanager
def decode(
    path: Path,
    channels: int,
    sample_rate: int | None = None,
    *,
    sample_format: Literal["f32le", "s16le"] = "f32le",
    mean_of_stereo: bool = False,
) -> Iterator[Decoder]:
    """Decode the first audio stream to raw PCM (``channels``; ``sample_rate`` if given).

    ``s16le`` halves the bytes through the pipe; use it only for 16-bit sources.
    ``mean_of_stereo`` makes mono as the plain mean of a stereo source's channels (ffmpeg's
    own ``-ac 1`` weights them for a centre speaker), done in C before the pipe.
    """
    cmd = [*base_command(), "-v", "error", "-i", str(path), "-map", "0:a:0", "-vn", "-sn", "-dn"]
    if mean_of_stereo:
        cmd += ["-af", "pan=mono|c0=0.5*c0+0.5*c1"]
    else:
        cmd += ["-ac", str(channels)]
    if sample_rate:
        cmd += ["-ar", str(sample_rate)]
    codec = "pcm_s16le" if sample_format == "s16le" else "pcm_f32le"
    cmd += ["-f", sample_format, "-acodec", codec, "pipe:1"]
    proc = spawn(cmd, path, stdin=False)
    decoder: Decoder | None = None
    try:
        assert proc.stdout is not None
        grow_pipe(proc.stdout)
        decoder = Decoder(proc, channels, sample_format)
        yield decoder
    finally:
        stop_child(proc)
        if decoder is not None:
            decoder.close()


class Encoder:
    """Writes float32 frames to an ``ffmpeg ... libmp3lame`` child from a writer thread.

    The thread lets our numpy work overlap with the encoder (the queue holds at most a few
    chunks, so memory stays bounded).
    """

    def __init__(self, proc: subprocess.Popen[bytes], dst: Path) -> None:
        assert proc.stdin is not None and proc.stderr is not None
        self._proc = proc
        self._dst = dst
        self._stdin = proc.stdin
        self._stderr = _StderrTail(proc.stderr)
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=4)
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._pump, daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        while (item := self._queue.get()) is not None:
            if self._failure is not None:
                continue
            try:
                self._stdin.write(item)
            except (BrokenPipeError, OSError) as exc:
                self._failure = exc

    def write(self, frames: npt.NDArray[np.float32]) -> None:
        """Queue float frames in [-1, 1) as 16-bit PCM (LAME encodes s16 input fastest)."""
        if self._failure is not None:
            self._raise("the MP3 encoder stopped early", self._failure)
        scaled = np.multiply(frames, np.float32(32768))
        np.rint(scaled, out=scaled)
        np.minimum(scaled, np.float32(32767), out=scaled)
        np.maximum(scaled, np.float32(-32768), out=scaled)
        self._queue.put(scaled.astype("<i2").tobytes())

    def finish(self) -> None:
        """Close the input, wait for the encoder, and raise if it failed."""
        self._queue.put(None)
        self._thread.join()
        with contextlib.suppress(OSError):
            self._stdin.close()
        code = self._proc.wait()
        if code != 0 or self._failure is not None:
            self._raise(f"MP3 encoder failed (exit {code})", self._failure)

    def abort(self) -> None:
        """After the child is gone: drop queued chunks and let the writer thread end."""
        self._failure = self._failure or RuntimeError("aborted")
        with contextlib.suppress(queue.Empty):
            while True:
                self._queue.get_nowait()
        self._queue.put(None)
        self._thread.join(timeout=10)

    def _raise(self, message: str, original: BaseException | None) -> None:
        lines = self._stderr.join()
        detail = f": {lines[-1]}" if lines else ""
        raise AudioError(message + detail, self._dst, original)


@contextlib.contextmanager
def encode_mp3(
    dst: Path, *, sample_rate: int, channels: int, bitrate_kbps: int
) -> Iterator[Encoder]:
    """An MP3 encoder fed frames on stdin; CBR libmp3lame, no tags (tags.py adds them)."""
    cmd = [*base_command(), "-v", "error", "-f", "s16le", "-ar", str(sample_rate)]
    cmd += ["-ac", str(channels), "-i", "pipe:0", "-c:a", "libmp3lame", "-b:a", f"{bitrate_kbps}k"]
    cmd += ["-map_metadata", "-1", "-id3v2_version", "0", "-write_xing", "1", "-y", str(dst)]
    proc = spawn(cmd, dst, stdin=True)
    encoder: Encoder | None = None
    try:
        assert proc.stdin is not None
        grow_pipe(proc.stdin)
        encoder = Encoder(proc, dst)
        yield encoder
    finally:
        stop_child(proc)
        if encoder is not None:
            encoder.abort()


def spawn(
    cmd: list[str],
    path: Path,
    *,
    stdin: bool,
    stdout: bool | None = None,
    background: bool = False,
) -> subprocess.Popen[bytes]:
    """A child with stderr piped; stdin or stdout piped (by default, one of the two).

    ``background``: the child yields the CPU to the rest (see :func:`_yield_cpu`).
    """
    log.debug("running %s", " ".join(cmd))
    piped_out = not stdin if stdout is None else stdout
    try:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE if piped_out else subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
    except OSError as exc:
        raise AudioError(f"cannot start ffmpeg: {exc}", path, exc) from exc
    if background:
        _yield_cpu(proc.pid)
    return proc


BACKGROUND_NICENESS = 10  # below our own priority (19 is the lowest)


def _yield_cpu(pid: int) -> None:
    """Lower a child's scheduling priority: the check of a growing MP3 must never take the
    core from LAME, the one core-bound stage of a publish (the check catches up when LAME is
    done). Our own threads keep theirs: a starved thread holding the GIL would stall the
    feeding of LAME. Lowering a priority needs no privilege; where refused, nothing changes."""
    with contextlib.suppress(OSError):
        ours = os.getpriority(os.PRIO_PROCESS, 0)
        os.setpriority(os.PRIO_PROCESS, pid, min(19, ours + BACKGROUND_NICENESS))
