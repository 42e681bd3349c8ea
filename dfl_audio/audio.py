"""Probe, measure and loudness-normalize a source into a podcast MP3.

The pipeline over :mod:`dfl_audio.ffmpeg` (processes and pipes) and :mod:`dfl_audio.loudness`
(the maths). Two streaming passes over the source: :func:`measure` reads it once for loudness,
true peak, clipping and silence (plain PCM WAV straight from the file, as two halves on two
threads; anything else through an ffmpeg decoder); :func:`normalize_to_mp3` reads it again
and pushes gain-and-limited chunks straight into the MP3 encoder, while the growing MP3 is
decoded alongside to check its own true peak. Memory stays bounded by the chunk size (plus a
10 ms summary of about 36 KB per minute of audio)."""

from __future__ import annotations

import contextlib
import logging
import math
import os
import re
import struct
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import BinaryIO, Literal

import mutagen
import numpy as np
import numpy.typing as npt
from pydub import AudioSegment
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

from dfl_audio import ffmpeg
from dfl_audio.errors import AudioError
from dfl_audio.loudness import (
    ABSOLUTE_GATE_LUFS,
    Limiter,
    LoudnessMeter,
    LoudnessStats,
    TruePeakTracker,
    db_to_lin,
    estimate_limited_loudness,
    lin_to_db,
)
from dfl_audio.models import AudioSettings

log = logging.getLogger(__name__)

Progress = Callable[[float], None]

CHUNK_FRAMES = 1 << 16  # ~5.5 s at 48 kHz: 2 MiB of stereo float32 per chunk
MP3_MARGIN_DB = 1.75  # limit this far under the ceiling (mono: LAME's overshoot is ~0 there)
# Joint-stereo coding overshoots most: +1.2 dB over 10 min, +1.7 over 60 min of heavily
# limited speech at 128k. A first encode that lands under the ceiling saves a re-encode.
STEREO_MP3_MARGIN_DB = 2.0
GUARD_SAFETY_DB = 0.15  # widen the margin by the measured excess plus this, when over
# Our 48-tap meter reads up to ~0.08 dB under longer interpolators (ffmpeg's ebur128 read
# -0.98 dBTP where we read -1.06 on a 60 min MP3), so the guard keeps this much in hand.
GUARD_TOLERANCE_DB = 0.1
MAX_GUARD_REENCODES = 2
WATCH_FRAMES = 1 << 14  # small: this thread's temporaries add to peak memory
WARMUP_SEGMENTS = 10  # 1 s of filter warm-up before the second half of a split measure
TRUNCATION_TOLERANCE = 0.95  # decoded / declared duration below this means cut short
LOUDNESS_TOLERANCE_LU = 0.25  # re-encode with a corrected gain if the PCM misses by more
MAX_PASSES = 2
MAX_EXTRA_GAIN_DB = 20.0  # past the plain gain, what we add to make up for limiting, at most
CLIPPING_WARN_RATIO = 1e-4
SILENCE_WARN_SECONDS = 5.0

_MUTAGEN_CONTAINERS = {
    "WAVE": ("wav", "pcm"),
    "FLAC": ("flac", "flac"),
    "MP3": ("mp3", "mp3"),
    "EasyMP3": ("mp3", "mp3"),
    "MP4": ("mp4", "aac"),
    "EasyMP4": ("mp4", "aac"),
    "OggOpus": ("ogg", "opus"),
    "OggVorbis": ("ogg", "vorbis"),
    "OggFLAC": ("ogg", "flac"),
}


@dataclass(frozen=True)
class AudioProbe:
    """Stream facts of a source; ``duration`` is what the container declares."""

    path: Path
    codec: str
    container: str
    sample_rate: int
    channels: int
    duration: float
    bits_per_sample: int | None


@dataclass(frozen=True)
class Measurement:
    """What one decode of the source measured (BS.1770-4 loudness, 4x true peak).

    ``mono_lufs`` is the loudness of the channel mean (a mono downmix); ``summary`` is the
    compact 10 ms data the encoder uses to predict how much a limiter will lower loudness.
    """

    integrated_lufs: float
    true_peak_dbtp: float
    sample_peak_dbfs: float
    clipped_samples: int
    leading_silence: float
    trailing_silence: float
    duration: float
    warnings: tuple[str, ...]
    mono_lufs: float = -math.inf
    summary: LoudnessStats | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class EncodeResult:
    """The MP3 written.

    ``output_true_peak_dbtp`` is measured on the MP3 itself: while LAME encodes, the growing
    file is decoded by ffmpeg and run through our 4x true-peak meter. If it is over the
    ceiling less :data:`GUARD_TOLERANCE_DB` (what our meter may read under others), the
    encode is redone with the limiter aiming lower by the excess (plus
    :data:`GUARD_SAFETY_DB`), so the limit holds on what listeners get; ``guard_reencodes``
    counts those, ``limiter_margin_db`` is the margin of the final encode.
    ``pcm_true_peak_dbtp`` is the limiter's own figure for the PCM fed to LAME.
    ``output_lufs`` is measured on that PCM; LAME changes the level by
    ``mp3_level_offset_db`` (about -0.45 dB at 128k CBR), which the gain already compensates.
    :func:`measure_file_with_ffmpeg` checks the MP3 independently. ``warnings`` says when the
    target could not be reached without heavy limiting (very peaky sources)."""

    path: Path
    duration: float
    gain_db: float
    limited: bool
    output_lufs: float
    output_true_peak_dbtp: float
    limiter_max_reduction_db: float = 0.0
    passes: int = 1
    mp3_level_offset_db: float = 0.0
    warnings: tuple[str, ...] = ()
    pcm_true_peak_dbtp: float = -math.inf
    limiter_margin_db: float = MP3_MARGIN_DB
    guard_reencodes: int = 0


# --- probe ---------------------------------------------------------------------------------


def probe(path: Path) -> AudioProbe:
    """Check the file is readable audio and read its stream facts (no full decode)."""
    path = Path(path)
    _check_readable(path)
    tagged = _mutagen_facts(path)
    described = ffmpeg.describe(path)
    facts = _parse_ffmpeg(described, path)
    if tagged is not None:
        facts = _merge(facts, tagged)
    if facts.duration <= 0:
        raise AudioError("no audio: the stream has zero duration", path)
    if facts.sample_rate <= 0 or facts.channels <= 0:
        raise AudioError("no audio: unknown sample rate or channel count", path)
    if facts.container == "wav":
        _check_wav_length(path, facts)
    return facts


def _check_readable(path: Path) -> None:
    if not path.exists():
        raise AudioError("file not found", path)
    if not path.is_file():
        raise AudioError("not a regular file", path)
    try:
        with path.open("rb") as handle:
            first = handle.read(1)
    except OSError as exc:
        raise AudioError(f"cannot read the file: {exc.strerror}", path, exc) from exc
    if not first:
        raise AudioError("empty file (0 bytes)", path)


def _mutagen_facts(path: Path) -> AudioProbe | None:
    """Stream facts from mutagen where it knows the format (None when it does not)."""
    try:
        parsed = mutagen.File(path)
    except Exception as exc:  # mutagen raises many types for broken headers
        log.debug("mutagen could not parse %s: %s", path, exc)
        return None
    if parsed is None or type(parsed).__name__ not in _MUTAGEN_CONTAINERS:
        return None
    container, codec = _MUTAGEN_CONTAINERS[type(parsed).__name__]
    info = parsed.info
    bits = getattr(info, "bits_per_sample", None)
    return AudioProbe(
        path=path,
        codec=codec,
        container=container,
        sample_rate=int(getattr(info, "sample_rate", 0) or 0),
        channels=int(getattr(info, "channels", 0) or 0),
        duration=float(getattr(info, "length", 0.0) or 0.0),
        bits_per_sample=int(bits) if bits else None,
    )


def _parse_ffmpeg(text: str, path: Path) -> AudioProbe:
    """Facts from ``ffmpeg -i`` output; the errors name what kind of non-audio this is."""
    container = _search(r"Input #0, ([^,\s]+)", text)
    if container is None:
        last = text.strip().splitlines()[-1] if text.strip() else "unknown format"
        raise AudioError(f"not an audio file (ffmpeg: {last.split(': ')[-1]})", path)
    audio = _search(r"Stream #0:\d+.*?: Audio: (.*)", text)
    if audio is None:
        if "Video:" in text:
            raise AudioError("no audio stream (video or image only)", path)
        raise AudioError("no audio stream", path)
    parts = [part.strip() for part in audio.split(",")]
    codec = parts[0].split()[0]
    rate = next((int(p.split()[0]) for p in parts if p.endswith(" Hz")), 0)
    layout = parts[2] if len(parts) > 2 else ""
    return AudioProbe(
        path=path,
        codec=codec,
        container=container,
        sample_rate=rate,
        channels=_layout_channels(layout),
        duration=_ffmpeg_duration(text),
        bits_per_sample=None,
    )


def _search(pattern: str, text: str) -> str | None:
    match = re.search(pattern, text)
    return match.group(1) if match else None


def _layout_channels(layout: str) -> int:
    """Channel count of an ffmpeg layout name.

    >>> _layout_channels("stereo"), _layout_channels("mono"), _layout_channels("5.1(side)")
    (2, 1, 6)
    """
    named = {"mono": 1, "stereo": 2, "2.1": 3, "quad": 4, "5.0": 5, "5.1": 6, "7.1": 8}
    base = layout.split("(")[0].strip()
    if base in named:
        return named[base]
    count = _search(r"(\d+) channels", layout)
    return int(count) if count else 2


def _ffmpeg_duration(text: str) -> float:
    match = re.search(r"Duration: (\d+):(\d+):(\d+(?:\.\d+)?)", text)
    if not match:
        return 0.0
    hours, minutes, seconds = match.groups()
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def _merge(fromffmpeg: AudioProbe, tagged: AudioProbe) -> AudioProbe:
    """Prefer mutagen's numbers where it has them; ffmpeg's codec name is more precise."""
    return AudioProbe(
        path=fromffmpeg.path,
        codec=fromffmpeg.codec or tagged.codec,
        container=tagged.container,
        sample_rate=tagged.sample_rate or fromffmpeg.sample_rate,
        channels=tagged.channels or fromffmpeg.channels,
        duration=tagged.duration or fromffmpeg.duration,
        bits_per_sample=tagged.bits_per_sample,
    )


def _check_wav_length(path: Path, facts: AudioProbe) -> None:
    """A WAV whose header promises more data than the file holds was cut short."""
    bits = facts.bits_per_sample or 16
    bytes_per_second = facts.sample_rate * facts.channels * bits / 8
    if bytes_per_second <= 0:
        return
    possible = os.path.getsize(path) / bytes_per_second
    if facts.duration > possible + 0.05 and facts.duration < 0xFFFFFFF0 / bytes_per_second:
        raise AudioError(
            f"truncated WAV: header says {facts.duration:.2f} s but the file holds at most "
            f"{possible:.2f} s",
            path,
        )


# --- measure -------------------------------------------------------------------------------


def measure(path: Path, probe: AudioProbe, progress: Progress | None = None) -> Measurement:
    """Decode the whole source once and meter it; raises AudioError if corrupt or silent.

    PCM WAV is read directly and metered as two halves on two threads (nothing else runs
    during this pass); anything else is decoded by ffmpeg through a pipe.
    """
    channels = min(max(probe.channels, 1), 2)
    layout = _wav_layout(path, probe)
    meter: LoudnessMeter | None = None
    report: ffmpeg.DecodeReport | None = None
    with _one_blas_thread():
        if layout is not None:
            meter = _measure_wav(path, layout, progress)
        else:
            meter, report = _measure_decoded(path, probe, channels, progress)
    _check_decode(path, probe, report, meter.frames / probe.sample_rate if meter else 0.0)
    assert meter is not None
    stats = meter.result()
    if stats.integrated_lufs < ABSOLUTE_GATE_LUFS:
        raise AudioError("silent: integrated loudness is below -70 LUFS", path)
    return Measurement(
        integrated_lufs=stats.integrated_lufs,
        true_peak_dbtp=lin_to_db(stats.true_peak),
        sample_peak_dbfs=lin_to_db(stats.sample_peak),
        clipped_samples=stats.clipped_samples,
        leading_silence=stats.leading_silence,
        trailing_silence=stats.trailing_silence,
        duration=stats.duration,
        warnings=_warnings(stats, channels * probe.sample_rate),
        mono_lufs=stats.mono_lufs,
        summary=stats,
    )


def _measure_decoded(
    path: Path, probe: AudioProbe, channels: int, progress: Progress | None
) -> tuple[LoudnessMeter | None, ffmpeg.DecodeReport | None]:
    meter: LoudnessMeter | None = None
    with ffmpeg.decode(path, channels, sample_format=_pipe_format(probe, None)) as decoder:
        for chunk in decoder.chunks(CHUNK_FRAMES):
            if meter is None:
                meter = LoudnessMeter(probe.sample_rate, channels)
            meter.feed(chunk)
            if progress:
                progress(meter.frames / probe.sample_rate)
    return meter, decoder.report


def _measure_wav(path: Path, layout: WavLayout, progress: Progress | None) -> LoudnessMeter:
    """Meter [0, mid) here and [mid, end) on a second thread (after a 1 s warm-up just before
    ``mid`` that primes its filters), then join the two; the result is the single-pass one."""
    rate, channels = layout.sample_rate, layout.channels
    segment = LoudnessMeter(rate, channels).sub * 10
    warm = WARMUP_SEGMENTS * segment
    mid = layout.frames // 2 // segment * segment
    first = LoudnessMeter(rate, channels)
    second = LoudnessMeter(rate, channels)
    failure: list[BaseException] = []
    split = mid >= warm + CHUNK_FRAMES
    stop = threading.Event()  # set when this thread fails or is interrupted

    def later_half() -> None:
        try:
            for chunk in _wav_chunks(path, layout, mid - warm, mid):
                second.feed(chunk)
            second.restart()
            for chunk in _wav_chunks(path, layout, mid, layout.frames):
                if stop.is_set():
                    return
                second.feed(chunk)
        except BaseException as exc:  # re-raised in the caller's thread
            failure.append(exc)

    helper = threading.Thread(target=later_half, daemon=True) if split else None
    if helper is not None:
        helper.start()
    done = 0.0
    try:
        for chunk in _wav_chunks(path, layout, 0, mid if split else layout.frames):
            first.feed(chunk)
            if progress:
                done = max(done, (first.frames + second.frames) / rate)
                progress(done)
    except BaseException:
        stop.set()
        raise
    finally:
        if helper is not None:
            helper.join()
    if failure:
        raise failure[0]
    if helper is not None:
        first.extend(second)
    if progress:
        progress(first.frames / rate)
    return first


# --- direct PCM WAV reading ------------------------------------------------------------------

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


def _wav_layout(path: Path, probe: AudioProbe) -> WavLayout | None:
    """The data chunk of a 1-2 channel PCM/float WAV, or None (then ffmpeg decodes)."""
    if probe.container != "wav" or not 1 <= probe.channels <= 2:
        return None
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


def _wav_chunks(
    path: Path, layout: WavLayout, start: int, stop: int, frames: int = CHUNK_FRAMES
) -> Iterator[npt.NDArray[np.float32]]:
    """Float32 frames ``[start, stop)`` in chunks of ``frames``, read from disk as needed."""
    width = 3 if layout.dtype == "i3" else np.dtype(layout.dtype).itemsize
    scale = np.float32(_WAV_SCALE[layout.dtype])
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


class _WavDecoder:
    """A direct PCM reader with the face of :class:`ffmpeg.Decoder` (no report: no decoder)."""

    report: ffmpeg.DecodeReport | None = None

    def __init__(self, path: Path, layout: WavLayout) -> None:
        self._path, self._layout = path, layout

    def chunks(self, frames: int) -> Iterator[npt.NDArray[np.float32]]:
        return _wav_chunks(self._path, self._layout, 0, self._layout.frames, frames)


@contextlib.contextmanager
def _open_source(
    path: Path, probe: AudioProbe, channels: int, resample: int | None
) -> Iterator[ffmpeg.Decoder | _WavDecoder]:
    """The source as float frames: read directly if plain PCM WAV at the right rate."""
    layout = _wav_layout(path, probe) if resample is None else None
    if layout is not None and layout.channels == channels:
        yield _WavDecoder(path, layout)
        return
    fmt = _pipe_format(probe, resample)
    with ffmpeg.decode(path, channels, resample, sample_format=fmt) as decoder:
        yield decoder


def _one_blas_thread() -> threadpool_limits:
    """Our small matmuls (true-peak interpolation) run fastest on one BLAS thread, and the
    other core belongs to the ffmpeg child (decoder in the measure pass, LAME when encoding)."""
    return threadpool_limits(limits=1, user_api="blas")


def _pipe_format(probe: AudioProbe, resample: int | None) -> Literal["f32le", "s16le"]:
    """16-bit sources cross the pipe as 16-bit (half the bytes, no loss) unless resampled."""
    lossless = probe.codec in ("pcm_s16le", "flac") and probe.bits_per_sample == 16
    return "s16le" if lossless and resample is None else "f32le"


def _check_decode(
    path: Path,
    probe: AudioProbe,
    report: ffmpeg.DecodeReport | None,
    decoded: float,
) -> None:
    """ffmpeg is the judge: decode errors, nothing decoded, or far less than declared."""
    if report is not None and (report.returncode != 0 or report.errors):
        detail = report.errors[-1] if report.errors else f"exit {report.returncode}"
        raise AudioError(f"corrupt or truncated audio: ffmpeg: {detail}", path)
    if decoded <= 0:
        raise AudioError("no decodable audio", path)
    if decoded < probe.duration * TRUNCATION_TOLERANCE - 0.1:
        raise AudioError(
            f"truncated: decodes to {decoded:.2f} s but the file declares {probe.duration:.2f} s",
            path,
        )


def _warnings(stats: LoudnessStats, samples_per_second: int) -> tuple[str, ...]:
    """Problems worth a look that do not stop publishing: clipping, long edge silence."""
    found = []
    samples = stats.duration * samples_per_second
    if stats.clipped_samples > max(16, CLIPPING_WARN_RATIO * samples):
        found.append(f"heavy clipping: {stats.clipped_samples} samples at full scale")
    if stats.leading_silence >= SILENCE_WARN_SECONDS:
        found.append(f"long leading silence: {stats.leading_silence:.1f} s")
    if stats.trailing_silence >= SILENCE_WARN_SECONDS:
        found.append(f"long trailing silence: {stats.trailing_silence:.1f} s")
    return tuple(found)


# --- normalize + encode --------------------------------------------------------------------


def normalize_to_mp3(
    path: Path,
    dst: Path,
    probe: AudioProbe,
    measurement: Measurement,
    settings: AudioSettings,
    progress: Progress | None = None,
) -> EncodeResult:
    """Gain (and, only if needed, limit) the source to the target and encode a CBR MP3.

    The limiter aims ``MP3_MARGIN_DB`` (stereo: ``STEREO_MP3_MARGIN_DB``) under the true-peak
    ceiling so the limit usually holds
    after MP3 encoding; the MP3's own true peak is measured during the encode, and if it is
    over, the encode is redone with the margin widened by the excess. If limiting lowered the
    loudness more than predicted, the encode is redone with a corrected gain (rare: heavy
    clipping or extreme crest factors).
    """
    _point_pydub_at_ffmpeg()
    codec_db = ffmpeg.mp3_level_offset(settings.sample_rate, settings.channels, settings.bitrate)
    target = settings.loudness - codec_db  # what the PCM must measure for the MP3 to hit it
    margin = STEREO_MP3_MARGIN_DB if settings.channels == 2 else MP3_MARGIN_DB
    result = _encode_at_margin(path, dst, probe, measurement, settings, target, margin, progress)
    guarded = 0
    limit = settings.true_peak - GUARD_TOLERANCE_DB
    while result.output_true_peak_dbtp > limit and guarded < MAX_GUARD_REENCODES:
        excess = result.output_true_peak_dbtp - limit
        margin += excess + GUARD_SAFETY_DB
        guarded += 1
        log.info(
            "%s: the MP3 peaks at %.2f dBTP, over %.1f; re-encoding %.2f dB under the ceiling",
            path,
            result.output_true_peak_dbtp,
            settings.true_peak,
            margin,
        )
        again = _encode_at_margin(path, dst, probe, measurement, settings, target, margin, progress)
        result = replace(again, passes=result.passes + again.passes)
    warnings = result.warnings
    if abs(result.output_lufs - target) > 0.5:
        warnings += (
            f"loudness {result.output_lufs + codec_db:.1f} LUFS instead of "
            f"{settings.loudness:.1f}: reaching it would need more than "
            f"{MAX_EXTRA_GAIN_DB:.0f} dB of extra limiting",
        )
    if result.output_true_peak_dbtp > limit:
        warnings += (
            f"true peak of the MP3 {result.output_true_peak_dbtp:.2f} dBTP, over the "
            f"{settings.true_peak:.1f} dBTP ceiling after {guarded} re-encodes",
        )
    return replace(
        result,
        mp3_level_offset_db=codec_db,
        warnings=warnings,
        limiter_margin_db=margin,
        guard_reencodes=guarded,
    )


def _encode_at_margin(
    path: Path,
    dst: Path,
    probe: AudioProbe,
    measurement: Measurement,
    settings: AudioSettings,
    target: float,
    margin: float,
    progress: Progress | None,
) -> EncodeResult:
    """Solve the gain for a limiter ``margin`` dB under the ceiling, encode, and redo once
    with a corrected gain if the limiter took more loudness than the summary predicted."""
    ceiling = db_to_lin(settings.true_peak - margin)
    predict = _predictor(probe, measurement, settings.channels, ceiling)
    plain_db = target - _source_loudness(probe, measurement, settings.channels)
    gain_db = _solve_gain(predict, plain_db, target)
    result = _encode_pass(path, dst, probe, settings, gain_db, ceiling, progress)
    while (
        result.limited
        and abs(result.output_lufs - target) > LOUDNESS_TOLERANCE_LU
        and result.passes < MAX_PASSES
    ):
        slope = max(0.1, (predict(gain_db + 0.5) - predict(gain_db)) / 0.5)
        step = (target - result.output_lufs) / slope
        gain_db = min(gain_db + step, plain_db + MAX_EXTRA_GAIN_DB)
        log.info("%s: limiter missed the loudness target; re-encoding at %+.2f dB", path, gain_db)
        again = _encode_pass(path, dst, probe, settings, gain_db, ceiling, progress)
        result = replace(again, passes=result.passes + 1)
    return result


def _point_pydub_at_ffmpeg() -> None:
    """pydub must use our ffmpeg (imageio's on a fresh machine), never search PATH itself."""
    AudioSegment.converter = ffmpeg.ffmpeg_info().path


def _source_loudness(probe: AudioProbe, measurement: Measurement, channels: int) -> float:
    """Loudness of the source as the encoder will get it (after up/downmix)."""
    if channels == 1 and probe.channels >= 2:
        return measurement.mono_lufs
    if channels == 2 and probe.channels == 1:
        return measurement.integrated_lufs + 10 * math.log10(2)
    return measurement.integrated_lufs


def _predictor(
    probe: AudioProbe, measurement: Measurement, channels: int, ceiling: float
) -> Callable[[float], float]:
    """Predicted output loudness for a gain in dB: plain gain, or the limiter replayed on the
    10 ms summary when the gain would push the true peak over the ceiling."""
    mono = channels == 1 and probe.channels >= 2
    basis = _source_loudness(probe, measurement, channels)
    summary = measurement.summary
    if summary is None:
        return lambda gain_db: basis + gain_db
    offset = basis - estimate_limited_loudness(summary, 0.0, math.inf, mono=mono)
    fits = lin_to_db(ceiling) - measurement.true_peak_dbtp

    def predict(gain_db: float) -> float:
        if gain_db <= fits:
            return basis + gain_db
        return estimate_limited_loudness(summary, gain_db, ceiling, mono=mono) + offset

    return predict


def _solve_gain(predict: Callable[[float], float], plain_db: float, target: float) -> float:
    """The gain whose predicted loudness is the target (secant steps; the curve is monotone
    but flattens as the limiter works harder, so plain fixed-point steps converge slowly)."""
    low = high = plain_db  # limiting only ever lowers loudness: never less than this
    while predict(high) < target - 0.01 and high < low + MAX_EXTRA_GAIN_DB:
        high = min(low + MAX_EXTRA_GAIN_DB, high + max(1.0, target - predict(high)))
    for _ in range(30):  # bisection on a monotone curve, then done
        if high - low < 0.005:
            break
        middle = (low + high) / 2
        if predict(middle) < target:
            low = middle
        else:
            high = middle
    return high


def _encode_pass(
    path: Path,
    dst: Path,
    probe: AudioProbe,
    settings: AudioSettings,
    gain_db: float,
    ceiling: float,
    progress: Progress | None,
) -> EncodeResult:
    """One streaming pass: source -> channels -> gain + limiter -> meter -> MP3 encoder, with
    the growing MP3 decoded and true-peak metered alongside."""
    rate, channels = settings.sample_rate, settings.channels
    source_channels = min(max(probe.channels, 1), 2)
    resample = rate if rate != probe.sample_rate else None
    limiter = Limiter(rate, channels, db_to_lin(gain_db), ceiling)
    meter = LoudnessMeter(rate, channels, summary=False, true_peak=False)
    dst.unlink(missing_ok=True)  # the MP3 watch must never read an older file
    with (
        _one_blas_thread(),
        _open_source(path, probe, source_channels, resample) as decoder,
        ffmpeg.encode_mp3(
            dst, sample_rate=rate, channels=channels, bitrate_kbps=settings.bitrate
        ) as encoder,
        _Mp3PeakWatch(dst, rate, channels) as watch,
    ):
        for chunk in decoder.chunks(CHUNK_FRAMES):
            _push(limiter.process(_match_channels(chunk, channels)), meter, encoder)
            if progress:
                progress(meter.frames / rate)
        _push(limiter.flush(), meter, encoder)
        if progress:
            progress(meter.frames / rate)
        _check_decode(path, probe, decoder.report, meter.frames / rate)
        encoder.finish()
        mp3_peak = watch.result()
    stats = meter.result()
    return EncodeResult(
        path=dst,
        duration=stats.duration,
        gain_db=gain_db,
        limited=limiter.limited_blocks > 0,
        output_lufs=stats.integrated_lufs,
        output_true_peak_dbtp=lin_to_db(mp3_peak),
        limiter_max_reduction_db=-lin_to_db(limiter.min_gain),
        pcm_true_peak_dbtp=lin_to_db(limiter.peak_out),
    )


class _Mp3PeakWatch:
    """Decodes the MP3 while LAME is still writing it and tracks its 4x true peak (a thread
    plus an ffmpeg decoder; the decoder is light next to LAME and runs on the other core)."""

    def __init__(self, dst: Path, rate: int, channels: int) -> None:
        self._dst = dst
        self._channels = channels
        self._block = max(1, round(rate / 100))
        self._written = threading.Event()
        self._peak = 0.0
        self._failure: BaseException | None = None
        self._report: ffmpeg.DecodeReport | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> _Mp3PeakWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._written.set()  # on an error the encoder is gone: the follower reaches the end
        self._thread.join()

    def _run(self) -> None:
        try:
            tracker = TruePeakTracker(self._block, self._channels)
            rest = np.zeros((0, self._channels), dtype=np.float32)
            with ffmpeg.decode_growing(self._dst, self._channels, self._written) as decoder:
                for chunk in decoder.chunks(WATCH_FRAMES):
                    data = np.concatenate([rest, chunk]) if len(rest) else chunk
                    usable = len(data) - len(data) % self._block
                    tracker.feed(data[:usable])
                    rest = data[usable:]
            self._report = decoder.report
            self._peak = tracker.finish(rest)
        except BaseException as exc:  # handed to the caller's thread by result()
            self._failure = exc

    def result(self) -> float:
        """Linear true peak of the finished MP3 (call after the encoder has finished)."""
        self._written.set()
        self._thread.join()
        if self._failure is not None:
            raise AudioError("cannot check the MP3", self._dst, self._failure)
        report = self._report
        if report is None or report.returncode != 0 or report.errors:
            detail = report.errors[-1] if report and report.errors else "no decode"
            raise AudioError(f"the encoded MP3 does not decode cleanly: {detail}", self._dst)
        return self._peak


def _push(frames: npt.NDArray[np.float32], meter: LoudnessMeter, encoder: ffmpeg.Encoder) -> None:
    if len(frames):
        meter.feed(frames)
        encoder.write(frames)


def _match_channels(chunk: npt.NDArray[np.float32], channels: int) -> npt.NDArray[np.float32]:
    """Downmix to mono by the channel mean, or duplicate mono into stereo."""
    if chunk.shape[1] == channels:
        return chunk
    if channels == 1:
        mono: npt.NDArray[np.float32] = chunk.mean(axis=1, dtype=np.float32, keepdims=True)
        return mono
    return np.repeat(chunk, channels, axis=1)


def measure_file_with_ffmpeg(path: Path) -> tuple[float, float]:
    """(integrated LUFS, true peak dBTP) by ffmpeg's ``ebur128=peak=true``: the independent
    check of a finished MP3 used by tests and benchmarks."""
    return ffmpeg.ebur128(Path(path))
