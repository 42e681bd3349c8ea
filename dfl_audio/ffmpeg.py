"""The one place that finds and runs ffmpeg.

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
import functools
import json
import logging
import os
import queue
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO, Literal, cast

import numpy as np
import numpy.typing as npt

from dfl_audio.errors import AudioError
from dfl_audio.fsutil import atomic_write_bytes

log = logging.getLogger(__name__)

ENV_VAR = "DFL_AUDIO_FFMPEG"
CACHE_ENV_VAR = "DFL_AUDIO_CACHE"  # folder for the encoder calibration (else XDG cache)
_PIPE_BYTES = 1 << 20  # ask Linux for 1 MiB pipes so both ends keep busy
_F_SETPIPE_SZ = 1031
_STDERR_LINES = 40


@dataclass(frozen=True)
class FfmpegInfo:
    """Which ffmpeg we run, for ``dfl-audio doctor``; ``forced`` when set by the env var."""

    path: str
    version: str
    source: Literal["system", "imageio-ffmpeg"]
    forced: bool = False


@functools.cache
def ffmpeg_info() -> FfmpegInfo:
    """Locate ffmpeg: ``$DFL_AUDIO_FFMPEG``, else the system one on PATH, else imageio's."""
    forced = os.environ.get(ENV_VAR)
    if forced:
        return _info_for(forced, forced=True)
    system = shutil.which("ffmpeg")
    if system:
        return _info_for(system, forced=False)
    return _info_for(_imageio_exe(), forced=False)


def _imageio_exe() -> str:
    try:
        import imageio_ffmpeg

        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except Exception as exc:  # the wheel raises RuntimeError when its binary is missing
        raise AudioError(
            "ffmpeg not found: install ffmpeg or the imageio-ffmpeg package", original=exc
        ) from exc


def _info_for(path: str, *, forced: bool) -> FfmpegInfo:
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise AudioError(f"ffmpeg is not an executable file (from ${ENV_VAR}?)", path)
    try:
        done = subprocess.run(
            [path, "-hide_banner", "-version"], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise AudioError(f"cannot run ffmpeg: {exc}", path, exc) from exc
    first = done.stdout.splitlines()[0] if done.stdout else ""
    match = re.match(r"ffmpeg version (\S+)", first)
    if done.returncode != 0 or not match:
        raise AudioError("not a working ffmpeg (-version failed)", path)
    source: Literal["system", "imageio-ffmpeg"] = (
        "imageio-ffmpeg" if "imageio_ffmpeg" in path else "system"
    )
    return FfmpegInfo(path=path, version=match.group(1), source=source, forced=forced)


def _base() -> list[str]:
    return [ffmpeg_info().path, "-hide_banner", "-nostdin"]


def describe(path: Path) -> str:
    """ffmpeg's own description of an input (``ffmpeg -i``; stderr text, exit code ignored)."""
    try:
        done = subprocess.run(
            [*_base(), "-i", str(path)], capture_output=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise AudioError(f"ffmpeg could not read the file: {exc}", path, exc) from exc
    return done.stderr.decode("utf-8", "replace")


def _grow_pipe(handle: IO[bytes]) -> None:
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


def _stop(proc: subprocess.Popen[bytes]) -> None:
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
        self._reader = threading.Thread(target=self._read_all, args=(frames * width,))
        self._reader.daemon = True
        self._reader.start()
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
    cmd = [*_base(), "-v", "error", "-i", str(path), "-map", "0:a:0", "-vn", "-sn", "-dn"]
    if mean_of_stereo:
        cmd += ["-af", "pan=mono|c0=0.5*c0+0.5*c1"]
    else:
        cmd += ["-ac", str(channels)]
    if sample_rate:
        cmd += ["-ar", str(sample_rate)]
    codec = "pcm_s16le" if sample_format == "s16le" else "pcm_f32le"
    cmd += ["-f", sample_format, "-acodec", codec, "pipe:1"]
    proc = _spawn(cmd, path, stdin=False)
    decoder: Decoder | None = None
    try:
        assert proc.stdout is not None
        _grow_pipe(proc.stdout)
        decoder = Decoder(proc, channels, sample_format)
        yield decoder
    finally:
        _stop(proc)
        if decoder is not None:
            decoder.close()


_FOLLOW_BYTES = 1 << 16
_FOLLOW_POLL = 0.02  # seconds between looks at a file that has not grown


class GrowingDecode:
    """An MP3 that another process is still writing, decoded once by an ffmpeg child.

    A feeder thread follows the file into the child until ``finished`` is set and the end is
    reached, so the check of an encode runs alongside it on the other core. The child splits
    the decode: raw PCM to :meth:`chunks` (the caller meters its loudness), and ffmpeg's own
    true-peak reading, the very resampling ``ebur128=peak=true`` does (192 kHz, double
    precision), for :meth:`true_peak_dbtp`; without ``ebur128``'s loudness pass, the check
    costs half the CPU.
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


_TRUE_PEAK_FILTER = (  # what ebur128=peak=true does inside, then the peak of the result
    "aresample=192000:osf=dbl:internal_sample_fmt=dblp,"
    "astats=measure_perchannel=none:measure_overall=Peak_level"
)


@contextlib.contextmanager
def decode_growing(path: Path, finished: threading.Event, channels: int) -> Iterator[GrowingDecode]:
    """Decode an MP3 as it is written (see :class:`GrowingDecode`)."""
    cmd = [*_base(), "-nostats", "-v", "info", "-f", "mp3", "-i", "pipe:0"]
    cmd += ["-filter_complex", f"[0:a]asplit[pcm][tp];[tp]{_TRUE_PEAK_FILTER}[peak]"]
    cmd += ["-map", "[peak]", "-f", "null", "-"]
    cmd += ["-map", "[pcm]", "-ac", str(channels), "-c:a", "pcm_f32le", "-f", "f32le", "pipe:1"]
    proc = _spawn(cmd, path, stdin=True, stdout=True)
    stop = threading.Event()
    feeder = threading.Thread(target=_follow, args=(path, proc, finished, stop), daemon=True)
    decoder: Decoder | None = None
    try:
        assert proc.stdout is not None
        _grow_pipe(proc.stdout)
        decoder = Decoder(proc, channels, "f32le")
        feeder.start()
        yield GrowingDecode(path, decoder)
    finally:
        stop.set()
        finished.set()
        if feeder.is_alive():
            feeder.join(timeout=10)
        _stop(proc)
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
    cmd = [*_base(), "-v", "error", "-f", "s16le", "-ar", str(sample_rate)]
    cmd += ["-ac", str(channels), "-i", "pipe:0", "-c:a", "libmp3lame", "-b:a", f"{bitrate_kbps}k"]
    cmd += ["-map_metadata", "-1", "-id3v2_version", "0", "-write_xing", "1", "-y", str(dst)]
    proc = _spawn(cmd, dst, stdin=True)
    encoder: Encoder | None = None
    try:
        assert proc.stdin is not None
        _grow_pipe(proc.stdin)
        encoder = Encoder(proc, dst)
        yield encoder
    finally:
        _stop(proc)
        if encoder is not None:
            encoder.abort()


def _spawn(
    cmd: list[str], path: Path, *, stdin: bool, stdout: bool | None = None
) -> subprocess.Popen[bytes]:
    """A child with stderr piped; stdin or stdout piped (by default, one of the two)."""
    log.debug("running %s", " ".join(cmd))
    piped_out = not stdin if stdout is None else stdout
    try:
        return subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE if piped_out else subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
    except OSError as exc:
        raise AudioError(f"cannot start ffmpeg: {exc}", path, exc) from exc


_EBUR128_OPTIONS = "peak=true:framelog=verbose"  # per-frame lines only at -v verbose


def ebur128(path: Path) -> tuple[float, float]:
    """(integrated LUFS, true peak dBTP) of a file by ffmpeg's own ``ebur128=peak=true``."""
    cmd = [*_base(), "-nostats", "-v", "info", "-i", str(path), "-map", "0:a:0"]
    cmd += ["-filter:a", f"ebur128={_EBUR128_OPTIONS}", "-f", "null", "-"]
    try:
        done = subprocess.run(cmd, capture_output=True, timeout=3600, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise AudioError(f"ffmpeg ebur128 failed: {exc}", path, exc) from exc
    return _ebur128_summary(done.stderr.decode("utf-8", "replace"), done.returncode, path)


def _ebur128_summary(text: str, returncode: int, path: Path) -> tuple[float, float]:
    summary = text[text.rfind("Summary:") :]
    lufs = re.search(r"I:\s+(-?[\d.]+|-inf) LUFS", summary)
    peak = re.search(r"Peak:\s+(-?[\d.]+|-inf) dBFS", summary)
    if returncode != 0 or "Summary:" not in text or not lufs or not peak:
        last = text.strip().splitlines()[-1:] or ["no output"]
        raise AudioError(f"ffmpeg ebur128 gave no summary: {last[0]}", path)
    return float(lufs.group(1)), float(peak.group(1))


@functools.cache
def mp3_level_offset(sample_rate: int, channels: int, bitrate_kbps: int) -> float:
    """dB the MP3 encoder changes the level by (LAME's CBR modes lower it ~0.45 dB at 128k).

    Measured by a 1 s round trip of speech-band noise through pipes, so the loudness target
    holds on the MP3 itself whatever LAME build is installed. The ~0.3 s round trip (two
    ffmpeg starts) is done once per ffmpeg build and setting, then kept in a small JSON file
    (``$DFL_AUDIO_CACHE`` or the XDG cache folder); an unreadable cache is just remeasured.
    """
    info = ffmpeg_info()
    key = f"{info.path}|{info.version}|{sample_rate}|{channels}|{bitrate_kbps}"
    cache = _cache_file()
    known = _read_cache(cache)
    cached = known.get(key)
    if isinstance(cached, float):
        return cached
    offset = _calibrate(sample_rate, channels, bitrate_kbps)
    known[key] = offset
    with contextlib.suppress(OSError):
        atomic_write_bytes(cache, json.dumps(known, indent=1, sort_keys=True).encode())
    return offset


def _cache_file() -> Path:
    folder = os.environ.get(CACHE_ENV_VAR)
    if not folder:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
        folder = os.path.join(base, "dfl-audio")
    return Path(folder) / "mp3-level-offset.json"


def _read_cache(path: Path) -> dict[str, object]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _calibrate(sample_rate: int, channels: int, bitrate_kbps: int) -> float:
    """The round trip itself: encode band-limited noise, decode it, compare the levels."""
    rng = np.random.default_rng(1770)
    noise = rng.standard_normal((sample_rate, channels))
    spectrum = np.fft.rfft(noise, axis=0)
    freqs = np.fft.rfftfreq(len(noise), 1 / sample_rate)[:, None]
    spectrum *= (freqs > 100) & (freqs < 6000)
    signal_ = np.fft.irfft(spectrum, n=len(noise), axis=0)
    signal_ *= 0.05 / np.sqrt(np.mean(signal_**2))
    pcm = signal_.astype("<f4").tobytes()
    fmt = ["-f", "f32le", "-ar", str(sample_rate), "-ac", str(channels)]
    encode = [*_base(), "-v", "error", *fmt, "-i", "pipe:0", "-c:a", "libmp3lame"]
    encode += ["-b:a", f"{bitrate_kbps}k", "-f", "mp3", "pipe:1"]
    decode = [*_base(), "-v", "error", "-f", "mp3", "-i", "pipe:0", *fmt, "pipe:1"]
    try:
        mp3 = subprocess.run(encode, input=pcm, capture_output=True, check=True, timeout=60)
        back = subprocess.run(decode, input=mp3.stdout, capture_output=True, check=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as exc:
        raise AudioError(f"cannot calibrate the MP3 encoder: {exc}", original=exc) from exc
    decoded = np.frombuffer(back.stdout, dtype="<f4").astype(np.float64)
    middle = decoded[len(decoded) // 6 : -len(decoded) // 6]
    reference = signal_.reshape(-1)[len(decoded) // 6 : -len(decoded) // 6]
    return float(10 * np.log10(np.mean(middle**2) / np.mean(reference**2)))
