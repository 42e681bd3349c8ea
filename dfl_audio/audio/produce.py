"""Produce the episode's MP3: plan the gains from the measurement, then encode once.

The order of the professional chain: the leveler brings the phrases together, one static
gain brings the whole program (intro and outro included) to the loudness target, and the
true-peak limiter is only a safety net. Because the measure pass metered exactly the frames
the encoder will read, the gain that lands the *MP3* on the target is solved before encoding
(with LAME's small level change, calibrated once per format, and the limiter's loss replayed
on the 10 ms profile). The MP3 is measured as it is written; a second encode happens only if
it missed (counted and reported, rare by design).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dfl_audio import mp3_calibration
from dfl_audio.audio import leveler, tuning
from dfl_audio.audio.arrays import F32Array, FloatArray, Frames
from dfl_audio.audio.bs1770 import db_to_lin, lin_to_db, subblock_loudness
from dfl_audio.audio.encode import Format, PassResult, Progress, encode_pass
from dfl_audio.audio.heap import release_free_memory
from dfl_audio.audio.leveler import LevelerPlan
from dfl_audio.audio.limiter import limited_loudness
from dfl_audio.audio.measure import Measurement, one_blas_thread
from dfl_audio.audio.meter import Profile, profile_of
from dfl_audio.audio.parked import ParkedArray
from dfl_audio.audio.probe import AudioProbe
from dfl_audio.audio.source import conditioned_chunks
from dfl_audio.models.show import AudioSettings
from dfl_audio.records import LevelerStats, LimiterStats

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EncodeResult:
    """The MP3 written and how it was made; loudness and true peak are the MP3's own."""

    path: Path
    duration: float
    gain_db: float  # the static loudness gain on the interview (after the leveler)
    output_lufs: float
    output_true_peak_dbtp: float
    pcm_true_peak_dbtp: float
    leveler: LevelerStats
    limiter: LimiterStats
    passes: int
    loudness_reencodes: int
    true_peak_reencodes: int
    mp3_level_offset_db: float
    intro_seconds: float = 0.0
    outro_seconds: float = 0.0
    warnings: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class Program:
    """The whole episode at 10 ms: intro, interview, outro. Only the interview's gain moves
    with the static gain; the clips arrive already matched to the target."""

    energy: F32Array
    peak: F32Array
    fixed_db: F32Array  # leveler gains on the interview, 0 on the clips
    moves: slice  # where the interview is: only its gain moves

    @classmethod
    def of(cls, main: Profile, plan: LevelerPlan, clips: list[Profile | None]) -> Program:
        """float32 throughout, and no copy of the interview's profile without clips: these
        arrays live through the encode (5 bytes per 10 ms each), so they stay small."""
        intro, outro = clips
        if intro is None and outro is None:
            return cls(main.energy, main.peak, plan.gain_db, slice(0, len(main.energy)))
        parts = [p for p in (intro, main, outro) if p is not None]
        fixed = [plan.gain_db if p is main else np.zeros(len(p.energy), np.float32) for p in parts]
        start = len(intro.energy) if intro is not None else 0
        return cls(
            energy=np.concatenate([p.energy for p in parts]),
            peak=np.concatenate([p.peak for p in parts]),
            fixed_db=np.concatenate(fixed).astype(np.float32),
            moves=slice(start, start + len(main.energy)),
        )

    def gains(self, static_db: float) -> FloatArray:
        out = self.fixed_db.astype(np.float64)
        out[self.moves] += static_db
        return out

    def interview_gains(self, static_db: float) -> F32Array:
        """The interview's own gain curve (dB per 10 ms) for the encoder."""
        out: F32Array = self.fixed_db[self.moves] + np.float32(static_db)
        return out

    def loudness(self, static_db: float, ceiling: float) -> float:
        """Predicted LUFS of the PCM the encoder gets, limiter included."""
        return limited_loudness(self.energy, self.peak, self.gains(static_db), ceiling)

    def plain_loudness(self, static_db: float) -> float:
        gain = 10 ** (self.gains(static_db) / 10)
        gain *= self.energy
        return subblock_loudness(gain)


def solve_static_gain(program: Program, target: float, ceiling: float) -> float:
    """The static gain (dB) whose predicted loudness is ``target``: a root on a monotone
    curve, first without the limiter (the least it can be), then with it."""
    low = solve_monotone(program.plain_loudness, target, -60.0, 60.0)
    high = low + tuning.MAX_EXTRA_GAIN_DB
    at_low = program.loudness(low, ceiling)
    if at_low >= target - 0.005:
        return low

    def limited(static_db: float) -> float:
        return program.loudness(static_db, ceiling)

    at_high = limited(high)
    if at_high < target:
        return high
    return solve_monotone(limited, target, low, high, (at_low, at_high))


def solve_monotone(
    func: Callable[[float], float],
    target: float,
    low: float,
    high: float,
    known: tuple[float, float] | None = None,
) -> float:
    """Where the nondecreasing ``func`` crosses ``target`` in ``[low, high]``, to 0.002 dB.

    Regula falsi with the Illinois step: loudness against gain is close to a straight line
    (slope 1 without the limiter, less with it), so a few evaluations land where bisection
    needed 14-16, and every one replays the limiter over the whole profile. The bracket is
    kept throughout, so a value that is not finite (all of a quiet profile under the
    absolute gate) or a flat stretch falls back to halving it. ``known`` are ``func`` at the
    ends when the caller has them; a crossing outside the range gives that end.

    >>> round(solve_monotone(lambda x: 2 * x + 1, 4.0, -10.0, 10.0), 3)
    1.5
    """
    f_low, f_high = known if known is not None else (func(low), func(high))
    f_low, f_high = f_low - target, f_high - target
    if f_low >= 0:
        return low
    if f_high < 0:
        return high
    stale = 0  # which end has stayed put twice: its value is halved (Illinois)
    for _ in range(60):
        if high - low < 0.002:
            break
        secant = math.isfinite(f_low) and math.isfinite(f_high)  # and f_low < 0 <= f_high
        middle = high - f_high * (high - low) / (f_high - f_low) if secant else (low + high) / 2
        if not low < middle < high:
            middle = (low + high) / 2
        f_middle = func(middle) - target
        if abs(f_middle) < 1e-4:
            return middle
        if f_middle < 0:
            low, f_low = middle, f_middle
            f_high = f_high / 2 if stale == -1 else f_high
            stale = -1
        else:
            high, f_high = middle, f_middle
            f_low = f_low / 2 if stale == 1 else f_low
            stale = 1
    return (low + high) / 2


@dataclass(frozen=True)
class GainPlan:
    """What one encode needs from the planning: the static gain, the interview's gain curve
    parked on disk (read a window at a time while encoding), and what is reported after."""

    static_db: float
    predicted_lufs: float  # of the PCM the encoder gets, limiter included
    curve: ParkedArray  # dB per 10 ms on the interview: leveler + static gain
    leveler_range_db: tuple[float, float]
    speech_seconds: float


def plan_gains(
    measurement: Measurement,
    settings: AudioSettings,
    clips: list[Profile | None],
    target: float,
    ceiling: float,
) -> GainPlan:
    """Level the measured profile and solve the static gain that lands ``target`` under
    ``ceiling``. The profile, the leveler's plan and the solver's arrays live only here:
    what the encode keeps is the parked curve (memory stays flat however long the episode)."""
    main = measurement.profile()
    plan = leveler.plan(main.energy) if settings.leveler else leveler.flat(len(main.energy))
    program = Program.of(main, plan, clips)
    static_db = solve_static_gain(program, target, ceiling)
    gains = GainPlan(
        static_db=static_db,
        predicted_lufs=program.loudness(static_db, ceiling),
        curve=ParkedArray(program.interview_gains(static_db), measurement.folder),
        leveler_range_db=plan.range_db(),
        speech_seconds=plan.speech_seconds,
    )
    del main, plan, program
    release_free_memory()
    return gains


def normalize_to_mp3(
    path: Path,
    dst: Path,
    probe: AudioProbe,
    measurement: Measurement,
    settings: AudioSettings,
    progress: Progress | None = None,
    *,
    intro: Frames | None = None,
    outro: Frames | None = None,
) -> EncodeResult:
    """Level, gain, limit and encode the measured source (and its clips) into ``dst``."""
    fmt = Format(settings.sample_rate, settings.channels, settings.bitrate)
    codec_db = mp3_calibration.mp3_level_offset(fmt.sample_rate, fmt.channels, fmt.bitrate_kbps)
    target = settings.loudness - codec_db  # what the PCM must measure for the MP3 to hit it
    clips = [profile_of(c, fmt.sample_rate) if c is not None else None for c in (intro, outro)]
    margin = tuning.mp3_margin_db(fmt.channels, fmt.bitrate_kbps, measurement.duration)
    ceiling = db_to_lin(settings.true_peak - margin)
    gains = plan_gains(measurement, settings, clips, target, ceiling)
    passes = loud_again = peak_again = 0
    while True:
        with one_blas_thread():
            try:
                done = encode_pass(
                    conditioned_chunks(
                        path, probe, fmt.sample_rate, fmt.channels, measurement.spool
                    ),
                    gains.curve,
                    dst,
                    fmt,
                    ceiling,
                    intro=intro,
                    outro=outro,
                    progress=progress,
                )
            finally:
                gains.curve.close()
        passes += 1
        log.debug(
            "%s: pass %d at %+.2f dB: predicted %.2f LUFS, MP3 %.2f LUFS %.2f dBTP",
            path,
            passes,
            gains.static_db,
            gains.predicted_lufs + codec_db,
            done.mp3_lufs,
            done.mp3_true_peak_dbtp,
        )
        over = done.mp3_true_peak_dbtp - (settings.true_peak - tuning.GUARD_TOLERANCE_DB)
        missed = settings.loudness - done.mp3_lufs
        if over > 0 and peak_again < tuning.MAX_GUARD_REENCODES:
            peak_again += 1
            margin += over + tuning.GUARD_SAFETY_DB
            ceiling = db_to_lin(settings.true_peak - margin)
            gains = plan_gains(measurement, settings, clips, target, ceiling)
            log.info(
                "%s: MP3 peaks at %.2f dBTP; encoding again %.2f dB under the ceiling",
                path,
                done.mp3_true_peak_dbtp,
                margin,
            )
            continue
        reachable = gains.predicted_lufs > target - tuning.LOUDNESS_TOLERANCE_LU
        if (
            abs(missed) > tuning.LOUDNESS_TOLERANCE_LU
            and loud_again < tuning.MAX_LOUDNESS_REENCODES
            and reachable  # short by design (the drive cap): another pass changes nothing
        ):
            loud_again += 1
            target += missed  # the model was off by this much: aim that much further
            gains = plan_gains(measurement, settings, clips, target, ceiling)
            log.info(
                "%s: MP3 at %.2f LUFS; encoding again at %+.2f dB",
                path,
                done.mp3_lufs,
                gains.static_db,
            )
            continue
        break
    return _result(
        dst,
        fmt,
        settings,
        done,
        gains,
        margin,
        codec_db,
        (passes, loud_again, peak_again),
        intro,
        outro,
    )


def _result(
    dst: Path,
    fmt: Format,
    settings: AudioSettings,
    done: PassResult,
    gains: GainPlan,
    margin: float,
    codec_db: float,
    counts: tuple[int, int, int],
    intro: Frames | None,
    outro: Frames | None,
) -> EncodeResult:
    low, high = gains.leveler_range_db
    speech_frames = max(1.0, gains.speech_seconds * fmt.sample_rate)
    if not settings.leveler:
        speech_frames = max(1.0, float(done.frames))
    warnings: tuple[str, ...] = ()
    if abs(done.mp3_lufs - settings.loudness) > 0.3:
        warnings += (
            f"loudness {done.mp3_lufs:.1f} LUFS instead of {settings.loudness:.1f}: reaching it "
            f"would need more than {tuning.MAX_EXTRA_GAIN_DB:.0f} dB of limiting (a very peaky "
            "recording; a compressor before publishing would help)",
        )
    if done.mp3_true_peak_dbtp > settings.true_peak:
        warnings += (
            f"true peak of the MP3 {done.mp3_true_peak_dbtp:.2f} dBTP, over the "
            f"{settings.true_peak:.1f} dBTP ceiling",
        )
    passes, loud_again, peak_again = counts
    return EncodeResult(
        path=dst,
        duration=done.frames / fmt.sample_rate,
        gain_db=gains.static_db,
        output_lufs=done.mp3_lufs,
        output_true_peak_dbtp=done.mp3_true_peak_dbtp,
        pcm_true_peak_dbtp=lin_to_db(done.pcm_true_peak),
        leveler=LevelerStats(
            enabled=settings.leveler,
            min_gain_db=low,
            max_gain_db=high,
            speech_seconds=gains.speech_seconds,
        ),
        limiter=LimiterStats(
            max_reduction_db=_reduction_db(done.limiter_min_gain),
            active_percent=min(100.0, 100 * done.limiter_frames / speech_frames),
            margin_db=margin,
        ),
        passes=passes,
        loudness_reencodes=loud_again,
        true_peak_reencodes=peak_again,
        mp3_level_offset_db=codec_db,
        intro_seconds=len(intro) / fmt.sample_rate if intro is not None else 0.0,
        outro_seconds=len(outro) / fmt.sample_rate if outro is not None else 0.0,
        warnings=warnings,
    )


def _reduction_db(min_gain: float) -> float:
    """The limiter's deepest cut in dB, never negative: a limiter that never acted (gain 1)
    reports 0.0, not -0.0.

    >>> _reduction_db(1.0), _reduction_db(0.5) > 6.0
    (0.0, True)
    """
    return max(0.0, -lin_to_db(min_gain)) if min_gain else 0.0
