"""Probe, measure and loudness-normalize a source into a podcast MP3.

The pipeline over :mod:`dfl_audio.ffmpeg` (processes and pipes) and :mod:`dfl_audio.loudness`
(the maths). Two streaming passes over the source: :func:`measure` reads it once for loudness,
true peak, clipping and silence; :func:`normalize_to_mp3` reads it again and pushes
gain-and-limited float32 chunks straight into the MP3 encoder. Memory stays bounded by the
chunk size (plus a 10 ms summary of about 36 KB per minute of audio).
"""

from __future__ import annotations

import logging
import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

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
    db_to_lin,
    estimate_limited_loudness,
    lin_to_db,
)
from dfl_audio.models import AudioSettings

log = logging.getLogger(__name__)

Progress = Callable[[float], None]

CHUNK_FRAMES = 1 << 16  # ~5.5 s at 48 kHz: 2 MiB of stereo float32 per chunk
MP3_MARGIN_DB = 1.75  # limit this far under the ceiling: LAME overshoots by up to ~1.7 dB
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

    ``output_*`` are measured on the PCM fed to the encoder, not on a decode of the MP3. The
    true peak is the limiter's: 4x oversampled wherever the peak could reach the ceiling,
    sample peak elsewhere, times the gain envelope. LAME changes the level by
    ``mp3_level_offset_db`` (about -0.45 dB at 128k CBR), which the gain already compensates,
    and adds a little peak overshoot, which the limiter's margin absorbs.
    :func:`measure_file_with_ffmpeg` checks the MP3 itself. ``warnings`` says when the target
    could not be reached without heavy limiting (very peaky sources)."""

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
    """Decode the whole source once and meter it; raises AudioError if corrupt or silent."""
    channels = min(max(probe.channels, 1), 2)
    meter: LoudnessMeter | None = None
    with (
        _one_blas_thread(),
        ffmpeg.decode(path, channels, sample_format=_pipe_format(probe, None)) as decoder,
    ):
        for chunk in decoder.chunks(CHUNK_FRAMES):
            if meter is None:
                meter = LoudnessMeter(probe.sample_rate, channels)
            meter.feed(chunk)
            if progress:
                progress(meter.frames / probe.sample_rate)
        report = decoder.report
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

    The limiter aims ``MP3_MARGIN_DB`` under the true-peak ceiling so the limit holds after
    MP3 encoding. If limiting lowered the loudness more than predicted, the encode is redone
    once with the corrected gain (rare: heavy clipping or extreme crest factors).
    """
    _point_pydub_at_ffmpeg()
    codec_db = ffmpeg.mp3_level_offset(settings.sample_rate, settings.channels, settings.bitrate)
    target = settings.loudness - codec_db  # what the PCM must measure for the MP3 to hit it
    ceiling = db_to_lin(settings.true_peak - MP3_MARGIN_DB)
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
    warnings = result.warnings
    if abs(result.output_lufs - target) > 0.5:
        warnings += (
            f"loudness {result.output_lufs + codec_db:.1f} LUFS instead of "
            f"{settings.loudness:.1f}: reaching it would need more than "
            f"{MAX_EXTRA_GAIN_DB:.0f} dB of extra limiting",
        )
    return replace(result, mp3_level_offset_db=codec_db, warnings=warnings)


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
    """One streaming pass: decode -> channels -> gain + limiter -> meter -> MP3 encoder."""
    rate, channels = settings.sample_rate, settings.channels
    source_channels = min(max(probe.channels, 1), 2)
    resample = rate if rate != probe.sample_rate else None
    limiter = Limiter(rate, channels, db_to_lin(gain_db), ceiling)
    meter = LoudnessMeter(rate, channels, summary=False, true_peak=False)
    with (
        _one_blas_thread(),
        ffmpeg.decode(
            path, source_channels, resample, sample_format=_pipe_format(probe, resample)
        ) as decoder,
        ffmpeg.encode_mp3(
            dst, sample_rate=rate, channels=channels, bitrate_kbps=settings.bitrate
        ) as encoder,
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
    stats = meter.result()
    return EncodeResult(
        path=dst,
        duration=stats.duration,
        gain_db=gain_db,
        limited=limiter.limited_blocks > 0,
        output_lufs=stats.integrated_lufs,
        output_true_peak_dbtp=lin_to_db(limiter.peak_out),
        limiter_max_reduction_db=-lin_to_db(limiter.min_gain),
    )


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
