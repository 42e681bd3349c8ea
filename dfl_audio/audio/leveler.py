"""The speech leveler: one slow, gated gain per phrase, so unequal voices end up alike.

Modelled on what Auphonic's Adaptive Leveler is described to do (STANDARDS.md): find the
speech, measure each phrase, move each phrase toward the speech level of the whole file, keep
the gain still *inside* a phrase (so a sentence keeps its shape and crest factor), glide it
in the pauses between phrases, and never chase breaths or noise. It works offline on the
meter's 10 ms profile, so it can look both ways: a phrase's gain is known before its first
syllable, and a gain change is spread over the pause that precedes it.

Everything here is pure numpy on the profile; the encoder applies :attr:`LevelerPlan.gain_db`
sample by sample (linear interpolation between 10 ms sub-block centres).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from dfl_audio.audio import tuning
from dfl_audio.audio.arrays import BoolArray, FloatArray
from dfl_audio.audio.bs1770 import ABSOLUTE_GATE_LUFS, LUFS_OFFSET, subblock_loudness
from dfl_audio.audio.meter import energy_db, seconds_to_subblocks


@dataclass(frozen=True)
class Phrase:
    """Sub-blocks ``[start, stop)`` of one stretch of speech, and its level in dB."""

    start: int
    stop: int
    level_db: float

    @property
    def length(self) -> int:
        return self.stop - self.start


@dataclass(frozen=True)
class LevelerPlan:
    """The gain of every 10 ms sub-block (dB) and what it is made of."""

    gain_db: npt.NDArray[np.float32]
    speech: BoolArray  # sub-blocks inside phrases (speech, or music: anything levelled)
    speech_level_db: float  # the level phrases are moved toward (10 log10 energy)
    phrases: int

    @property
    def speech_seconds(self) -> float:
        return float(self.speech.sum()) / 100

    def range_db(self) -> tuple[float, float]:
        """Smallest and largest gain applied to speech (0, 0 when there is none)."""
        if not self.speech.any():
            return 0.0, 0.0
        applied = self.gain_db[self.speech]
        return float(applied.min()), float(applied.max())


def flat(blocks: int) -> LevelerPlan:
    """No levelling: 0 dB everywhere (``audio.leveler: false``, or already produced audio)."""
    return LevelerPlan(np.zeros(blocks, np.float32), np.zeros(blocks, bool), 0.0, 0)


def plan(energy: FloatArray | npt.NDArray[np.float32]) -> LevelerPlan:
    """Level the speech described by a 10 ms K-weighted energy profile."""
    blocks = len(energy)
    if blocks == 0:
        return flat(0)
    wide = np.asarray(energy, dtype=np.float64)  # one double copy, shared by every step
    speech_db = _speech_level(wide)
    phrases = _phrases(_activity(wide, speech_db), wide)
    phrases = [p for p in phrases if p.level_db > speech_db - tuning.NOT_SPEECH_UNDER_DB]
    if not phrases:
        return flat(blocks)
    targets = _phrase_gains(phrases, speech_db)
    gain = _gain_curve(blocks, phrases, targets, wide, speech_db)
    speech = np.zeros(blocks, dtype=bool)
    for phrase in phrases:
        speech[phrase.start : phrase.stop] = True
    return LevelerPlan(gain.astype(np.float32), speech, speech_db, len(phrases))


def _speech_level(energy: FloatArray) -> float:
    """The file's gated loudness as a plain energy level: what a phrase is moved toward."""
    lufs = subblock_loudness(energy)
    if not np.isfinite(lufs):
        return float(energy_db(np.array([energy.mean()]))[0])
    return lufs - LUFS_OFFSET


def _moving_mean(values: FloatArray, width: int) -> FloatArray:
    """Centred moving average (the edges average what they have)."""
    if width <= 1:
        return values
    sums = np.concatenate([[0.0], np.cumsum(values)])
    index = np.arange(len(values))
    low = np.maximum(index - width // 2, 0)
    high = np.minimum(index - width // 2 + width, len(values))
    out: FloatArray = (sums[high] - sums[low]) / (high - low)
    return out


def _activity(energy: FloatArray, speech_db: float) -> BoolArray:
    """Sub-blocks whose 50 ms level is clearly over the noise floor and near the speech."""
    smooth = energy_db(_moving_mean(energy, seconds_to_subblocks(tuning.ACTIVITY_WINDOW_S)))
    audible = smooth[smooth > -150]
    floor = float(np.percentile(audible, tuning.NOISE_PERCENTILE)) if audible.size else -200.0
    threshold = max(
        floor + tuning.ACTIVITY_OVER_NOISE_DB,
        speech_db - tuning.ACTIVITY_UNDER_SPEECH_DB,
        ABSOLUTE_GATE_LUFS - LUFS_OFFSET,
    )
    active: BoolArray = smooth > threshold
    return active


def _runs(mask: BoolArray) -> list[tuple[int, int]]:
    """``[start, stop)`` of every run of True.

    >>> _runs(np.array([0, 1, 1, 0, 1], dtype=bool))
    [(1, 3), (4, 5)]
    """
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    starts = np.flatnonzero(edges == 1)
    stops = np.flatnonzero(edges == -1)
    return list(zip(starts.tolist(), stops.tolist(), strict=True))


def _phrases(active: BoolArray, energy: FloatArray) -> list[Phrase]:
    """Runs of activity with short gaps bridged and clicks dropped, each with its level."""
    bridged = active.copy()
    gap = seconds_to_subblocks(tuning.PHRASE_GAP_S)
    runs = _runs(active)
    for (_, stop), (start, _) in itertools.pairwise(runs):
        if start - stop < gap:
            bridged[stop:start] = True
    shortest = seconds_to_subblocks(tuning.MIN_PHRASE_S)
    found = []
    for start, stop in _runs(bridged):
        if stop - start >= shortest:
            level = float(energy_db(np.array([energy[start:stop].mean()]))[0])
            found.append(Phrase(start, stop, level))
    return found


def _phrase_gains(phrases: list[Phrase], speech_db: float) -> FloatArray:
    """Each phrase's gain toward the speech level; short phrases never above their
    neighbours (a "yeah" or a laugh is not measured well enough to be raised on its own)."""
    wanted = np.clip(
        tuning.STRENGTH * (speech_db - np.array([p.level_db for p in phrases])),
        -tuning.MAX_CUT_DB,
        tuning.MAX_BOOST_DB,
    )
    trusted = seconds_to_subblocks(tuning.TRUSTED_PHRASE_S)
    reliable = np.array([p.length >= trusted for p in phrases])
    gains = wanted.copy()
    for index in np.flatnonzero(~reliable):
        around = [
            wanted[j] for j in (index - 1, index + 1) if 0 <= j < len(phrases) and reliable[j]
        ]
        ceiling = max(around) if around else 0.0
        gains[index] = min(wanted[index], ceiling)
    return gains


def _gain_curve(
    blocks: int, phrases: list[Phrase], targets: FloatArray, energy: FloatArray, speech_db: float
) -> FloatArray:
    """Phrase gains held inside phrases, glided (raised cosine) across the pauses between
    them, held before the first and after the last; long phrases follow a sliding window."""
    gain = np.empty(blocks)
    window = seconds_to_subblocks(tuning.WINDOW_S)
    first, last = phrases[0], phrases[-1]
    gain[: first.start] = targets[0]
    gain[last.stop :] = targets[-1]
    for index, phrase in enumerate(phrases):
        span = slice(phrase.start, phrase.stop)
        if phrase.length > window:
            local = energy_db(_moving_mean(energy[span], window))
            wanted = tuning.STRENGTH * (speech_db - local)
            gain[span] = np.clip(wanted, -tuning.MAX_CUT_DB, tuning.MAX_BOOST_DB)
        else:
            gain[span] = targets[index]
    for before, after in itertools.pairwise(phrases):
        pause = after.start - before.stop
        if pause > 0:
            ramp = 0.5 - 0.5 * np.cos(np.pi * (np.arange(pause) + 0.5) / pause)
            start, end = gain[before.stop - 1], gain[after.start]
            gain[before.stop : after.start] = start + (end - start) * ramp
    smoothed: FloatArray = _moving_mean(gain, seconds_to_subblocks(tuning.GAIN_SMOOTHING_S))
    return smoothed
