"""What a listener hears, measured independently of dfl_audio: the judge of the audio engine.

Everything is decoded by the system ffmpeg into float32 (mono mix, at the output's rate) and
measured in numpy, so a bug in the engine's own meters cannot hide here. The MP3 from LAME
via ffmpeg is gapless (the encoder delay is trimmed on decode), so the output lines up with
the source sample for sample; :func:`align` checks that by cross-correlation anyway and the
measures correct for whatever lag it finds (plus a known ``offset_s``, e.g. a prepended intro).
"""

from __future__ import annotations

import math
import re
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt
import pyloudnorm  # type: ignore[import-untyped]
from scipy import signal

Audio = npt.NDArray[np.float32]
ALIGN_WINDOW_S = 20.0
MAX_LAG_S = 0.5


class Span(Protocol):
    """A sentence of the ground truth: where it is in the source and who speaks."""

    @property
    def start_s(self) -> float: ...
    @property
    def end_s(self) -> float: ...
    @property
    def speaker(self) -> str: ...


@dataclass(frozen=True)
class Loudness:
    """ffmpeg's ``ebur128=peak=true`` summary of a file."""

    integrated_lufs: float
    true_peak_dbtp: float
    lra_lu: float


@dataclass(frozen=True)
class VoiceReport:
    """The listener-side measures of one output against its source."""

    lag_samples: int
    voices_apart_src_db: float
    voices_apart_out_db: float
    crest_loss_median_db: float
    crest_loss_p90_db: float
    crest_floor_median_db: float = 0.0  # the least any chain must take (see crest_floors)


def ffmpeg() -> str:
    """The system ffmpeg: the judge must not be the engine's own copy."""
    path = shutil.which("ffmpeg")
    if path is None:
        raise RuntimeError("ffmpeg not on PATH")
    return path


def ebur128(input_args: Sequence[str], *, true_peak: bool = True) -> Loudness:
    """``ebur128`` over ``input_args`` (``-i file`` or a raw-input spec): its summary."""
    filt = "ebur128=peak=true" if true_peak else "ebur128"
    cmd = [ffmpeg(), "-hide_banner", "-nostats", *input_args, "-map", "0:a:0"]
    done = subprocess.run(
        [*cmd, "-filter:a", filt, "-f", "null", "-"], capture_output=True, check=False
    )
    text = done.stderr.decode("utf-8", "replace")
    summary = text[text.rfind("Summary:") :]
    found = {
        key: re.search(pattern, summary)
        for key, pattern in {
            "i": r"I:\s+(-?[\d.]+|-inf) LUFS",
            "lra": r"LRA:\s+(-?[\d.]+) LU",
            "tp": r"Peak:\s+(-?[\d.]+|-inf) dBFS",
        }.items()
    }
    if done.returncode != 0 or found["i"] is None or found["lra"] is None:
        raise RuntimeError(f"ffmpeg ebur128 failed: {text[-800:]}")
    tp = found["tp"]
    return Loudness(
        integrated_lufs=float(found["i"].group(1)),
        true_peak_dbtp=float(tp.group(1)) if tp else math.nan,
        lra_lu=float(found["lra"].group(1)),
    )


def integrated_and_true_peak(path: Path) -> tuple[float, float]:
    """(I LUFS, true peak dBTP) of a file by ffmpeg ``ebur128=peak=true``."""
    measured = ebur128(["-i", str(path)])
    return measured.integrated_lufs, measured.true_peak_dbtp


def decode(path: Path, rate: int, *, start_s: float = 0.0, seconds: float | None = None) -> Audio:
    """The file as mono float32 at ``rate`` (ffmpeg's downmix and resampler)."""
    cmd = [ffmpeg(), "-v", "error", "-ss", f"{start_s:.6f}", "-i", str(path)]
    if seconds is not None:
        cmd += ["-t", f"{seconds:.6f}"]
    cmd += ["-map", "0:a:0", "-ac", "1", "-ar", str(rate), "-f", "f32le", "-"]
    done = subprocess.run(cmd, capture_output=True, check=True)
    return np.frombuffer(done.stdout, "<f4").copy()


def output_rate(path: Path) -> int:
    """Sample rate of the file's first audio stream, from ffmpeg's banner (no ffprobe)."""
    done = subprocess.run(
        [ffmpeg(), "-hide_banner", "-i", str(path)], capture_output=True, check=False
    )
    found = re.search(r"Audio: .*?, (\d+) Hz", done.stderr.decode("utf-8", "replace"))
    if found is None:
        raise RuntimeError(f"no audio stream in {path}")
    return int(found.group(1))


def align(source: Audio, output: Audio, rate: int, offset_s: float = 0.0) -> int:
    """Samples by which ``output`` lags ``source`` beyond ``offset_s`` (cross-correlation of
    the first :data:`ALIGN_WINDOW_S` s, searched within ±:data:`MAX_LAG_S`)."""
    offset = round(offset_s * rate)
    window = round(ALIGN_WINDOW_S * rate)
    max_lag = round(MAX_LAG_S * rate)
    src = source[:window].astype(np.float64)
    out = output[offset : offset + window + max_lag].astype(np.float64)
    if len(src) == 0 or len(out) == 0:
        return 0
    corr = signal.correlate(out, src, mode="full", method="fft")
    zero = len(src) - 1
    lo, hi = max(0, zero - max_lag), min(len(corr), zero + max_lag + 1)
    return int(np.argmax(corr[lo:hi]) + lo - zero)


def _slices(spans: Iterable[Span], rate: int, shift: int, length: int) -> list[slice]:
    """Sample ranges of ``spans`` moved by ``shift`` samples, clipped to the signal."""
    out = []
    for span in spans:
        start = max(0, round(span.start_s * rate) + shift)
        end = min(length, round(span.end_s * rate) + shift)
        if end > start:
            out.append(slice(start, end))
    return out


def speaker_loudness(
    audio: Audio, rate: int, spans: Sequence[Span], shift: int = 0
) -> dict[str, float]:
    """BS.1770 loudness (pyloudnorm) of each speaker's sentences joined end to end."""
    meter = pyloudnorm.Meter(rate)
    result: dict[str, float] = {}
    for speaker in sorted({span.speaker for span in spans}):
        mine = [span for span in spans if span.speaker == speaker]
        parts = [audio[part] for part in _slices(mine, rate, shift, len(audio))]
        if parts:
            joined = np.concatenate(parts).astype(np.float64)
            result[speaker] = float(meter.integrated_loudness(joined))
    return result


def voices_apart_db(audio: Audio, rate: int, spans: Sequence[Span], shift: int = 0) -> float:
    """Loudness gap between the loudest and the quietest speaker (0 with one speaker)."""
    levels = [v for v in speaker_loudness(audio, rate, spans, shift).values() if math.isfinite(v)]
    return max(levels) - min(levels) if len(levels) > 1 else 0.0


def crest_db(samples: Audio) -> float:
    """Crest factor: sample peak over RMS, in dB."""
    wide = samples.astype(np.float64)
    rms = math.sqrt(float(np.mean(wide**2)))
    peak = float(np.max(np.abs(wide)))
    return 20 * math.log10(peak / rms) if rms > 0 else math.nan


def crest_losses(
    source: Audio, output: Audio, rate: int, spans: Sequence[Span], shift: int = 0
) -> list[float]:
    """Per sentence: crest of the source minus crest of the output (dB; > 0 = squashed)."""
    src = _slices(spans, rate, 0, len(source))
    out = _slices(spans, rate, shift, len(output))
    losses = []
    for a, b in zip(src, out, strict=False):
        if a.stop - a.start == b.stop - b.start:
            losses.append(crest_db(source[a]) - crest_db(output[b]))
    return [loss for loss in losses if math.isfinite(loss)]


def crest_floors(
    source_path: Path,
    rate: int,
    channels: int,
    spans: Sequence[Span],
    target_lufs: float = -16.0,
    ceiling_dbtp: float = -1.0,
) -> list[float]:
    """Per sentence, the crest loss no processing can avoid: a sentence brought to the target
    loudness keeps its crest only if its true-peak-to-loudness ratio fits under the ceiling,
    so it must lose at least ``PLR - (ceiling - target)`` dB (0 when it fits). Measured in the
    output channel layout, since mono and stereo loudness differ by the channel sum."""
    cmd = [ffmpeg(), "-v", "error", "-i", str(source_path), "-map", "0:a:0"]
    cmd += ["-ac", str(channels), "-ar", str(rate), "-f", "f32le", "-"]
    done = subprocess.run(cmd, capture_output=True, check=True)
    frames = np.frombuffer(done.stdout, "<f4").reshape(-1, channels).astype(np.float64)
    meter = pyloudnorm.Meter(rate)
    headroom = ceiling_dbtp - target_lufs  # 15 dB between -16 LUFS and -1 dBTP
    floors = []
    for part in _slices(spans, rate, 0, len(frames)):
        sentence = frames[part]
        if len(sentence) < rate // 2:  # BS.1770 needs 400 ms blocks
            continue
        loudness = float(meter.integrated_loudness(sentence))
        # the ceiling is on the true peak: 4x oversampled (BS.1770 Annex 2), as ebur128 does
        peak = float(np.max(np.abs(signal.resample_poly(sentence, 4, 1, axis=0))))
        if math.isfinite(loudness) and peak > 0:
            floors.append(max(0.0, 20 * math.log10(peak) - loudness - headroom))
    return floors


def compare(
    source_path: Path,
    output_path: Path,
    spans: Sequence[Span],
    offset_s: float = 0.0,
    channels: int = 1,
) -> VoiceReport:
    """Voices apart and crest loss of ``output_path`` against ``source_path``."""
    rate = output_rate(output_path)
    source = decode(source_path, rate)
    output = decode(output_path, rate)
    lag = align(source, output, rate, offset_s)
    shift = round(offset_s * rate) + lag
    losses = crest_losses(source, output, rate, spans, shift) or [math.nan]
    return VoiceReport(
        lag_samples=lag,
        voices_apart_src_db=voices_apart_db(source, rate, spans),
        voices_apart_out_db=voices_apart_db(output, rate, spans, shift),
        crest_loss_median_db=float(np.median(losses)),
        crest_loss_p90_db=float(np.percentile(losses, 90)),
        crest_floor_median_db=float(
            np.median(crest_floors(source_path, rate, channels, spans) or [0])
        ),
    )
