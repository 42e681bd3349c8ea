"""The audio engine on the whole corpus, through the real CLI, judged on the final MP3.

Every generated recording (two voices 8 dB apart, a phone guest, 96 kHz, a music intro, a
clipped source, a noisy room, very quiet, hot, an 8 kHz MP3) is published at three output
settings, each in its own throwaway project, two at a time. The MP3 is re-measured by
ffmpeg's ``ebur128`` (the judge) and compared with its source by :mod:`voice_metrics`.

The targets (STANDARDS.md, "Loudness" and "Speech leveling"): -16 +/- 0.3 LUFS, true peak
<= -1 dBTP, one encode pass, voices levelled (two-voices: 8 dB apart in, <= 2 dB out)
without squashing the sentences. Squashing has a floor no chain can go under: a sentence
whose peak-to-loudness ratio (PLR) is larger than the headroom between -16 LUFS and the
-1 dBTP ceiling (15 dB) must lose the difference from its crest to be that loud. espeak-ng
speech has a PLR of ~18 dB (mono, where a channel carries all the loudness) and ~16-17 dB
(stereo), so for most of the corpus that floor is 1-5 dB. The tests hold the engine to no
more than 1 dB of crest loss beyond that floor plus its own MP3 margin (0.3-0.4 dB at the
common bitrates: the limiter aims that far under -1 dBTP so the MP3 stays under it in one
encode), and, where the floor is 0 (the source fits the headroom), to the issue's own
figures: crest loss <= 1 dB, limiter <= 6 dB and active < 5 % of speech time.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from corpus import NAMES, Recording
from corpus_project import (
    SETTINGS,
    WORKERS,
    Outcome,
    corpus_recordings,
    publish_and_judge,
    report_field,
)
from voice_metrics import Loudness, ebur128

from dfl_audio import audio
from dfl_audio.audio.tuning import mp3_margin_db
from dfl_audio.models.show import AudioSettings

__all__ = ["corpus_recordings"]

TARGET_LUFS = -16.0
LUFS_TOLERANCE = 0.3
CEILING_DBTP = -1.0
MATRIX_SETTINGS = ("shipped", "stereo128", "stereo192-48k")
CASES = [(name, setting) for name in NAMES for setting in MATRIX_SETTINGS]
# The clipped source has lost its crest already: its "loss" says nothing about the leveler.
CREST_CASES = [case for case in CASES if case[0] != "clipped"]
Matrix = dict[tuple[str, str], Outcome]


@pytest.fixture(scope="session")
def matrix(
    corpus_recordings: dict[str, Recording], tmp_path_factory: pytest.TempPathFactory
) -> Matrix:
    """Every (recording, setting) published and measured once, two at a time."""
    base = tmp_path_factory.mktemp("matrix")

    def one(case: tuple[str, str]) -> Outcome:
        name, setting = case
        return publish_and_judge(
            corpus_recordings[name], SETTINGS[setting], base / f"{name}-{setting}"
        )

    with ThreadPoolExecutor(WORKERS) as pool:
        return dict(zip(CASES, pool.map(one, CASES), strict=True))


def published(matrix: Matrix, name: str, setting: str) -> Outcome:
    outcome = matrix[name, setting]
    assert outcome.record is not None, f"publish failed: {outcome.error}"
    return outcome


@pytest.mark.parametrize(("name", "setting"), CASES)
def test_integrated_loudness_on_target(matrix: Matrix, name: str, setting: str) -> None:
    loudness = published(matrix, name, setting).loudness
    assert loudness is not None
    assert abs(loudness.integrated_lufs - TARGET_LUFS) <= LUFS_TOLERANCE, (
        f"I = {loudness.integrated_lufs:.2f} LUFS"
    )


@pytest.mark.parametrize(("name", "setting"), CASES)
def test_true_peak_under_ceiling(matrix: Matrix, name: str, setting: str) -> None:
    loudness = published(matrix, name, setting).loudness
    assert loudness is not None
    assert loudness.true_peak_dbtp <= CEILING_DBTP, f"TP = {loudness.true_peak_dbtp:.2f} dBTP"


@pytest.mark.parametrize(("name", "setting"), CASES)
def test_output_lines_up_with_the_source(matrix: Matrix, name: str, setting: str) -> None:
    """Gapless: the metrics below compare sentence by sentence in source time."""
    voices = published(matrix, name, setting).voices
    assert voices is not None
    assert voices.lag_samples == 0


@pytest.mark.parametrize(("name", "setting"), CREST_CASES)
def test_limiter_is_only_a_safety_net_where_the_source_fits(
    matrix: Matrix, name: str, setting: str
) -> None:
    outcome = published(matrix, name, setting)
    assert outcome.record is not None and outcome.voices is not None
    most = report_field(outcome.record, "limiter", "max_reduction_db")
    active = report_field(outcome.record, "limiter", "active_percent")
    assert most is not None and active is not None
    if outcome.voices.crest_floor_median_db > 0.0:
        pytest.skip(
            f"{outcome.voices.crest_floor_median_db:.1f} dB over the headroom: the limiter "
            "must work at -16 LUFS (see the module docstring)"
        )
    assert most <= 6.0, f"limiter max reduction {most:.1f} dB"
    assert active < 5.0, f"limiter active {active:.1f} % of speech"


def test_one_encode_pass_for_almost_all(matrix: Matrix) -> None:
    """Exact loudness in one pass; a rare fallback (at most one in the matrix) is allowed."""
    passes = {
        case: report_field(outcome.record, "passes")
        for case, outcome in matrix.items()
        if outcome.record is not None
    }
    if all(value is None for value in passes.values()):
        pytest.skip("the engine reports no audio_report.passes yet")
    more = {case: value for case, value in passes.items() if value != 1}
    assert len(more) <= 1, f"more than one pass: {more}"


@pytest.mark.parametrize("setting", MATRIX_SETTINGS)
def test_two_voices_are_levelled(matrix: Matrix, setting: str) -> None:
    voices = published(matrix, "two-voices", setting).voices
    assert voices is not None
    assert voices.voices_apart_src_db >= 6.0, "the corpus lost its 8 dB gap"
    assert voices.voices_apart_out_db <= 2.0, (
        f"voices {voices.voices_apart_src_db:.1f} dB apart in, {voices.voices_apart_out_db:.1f} out"
    )


@pytest.mark.parametrize(("name", "setting"), CREST_CASES)
def test_sentences_keep_their_shape(matrix: Matrix, name: str, setting: str) -> None:
    """At most 1 dB of crest loss beyond the floor, plus the engine's own MP3 margin (the
    limiter aims that far under -1 dBTP so LAME's overshoot stays under it in one encode)."""
    voices = published(matrix, name, setting).voices
    assert voices is not None
    chosen = SETTINGS[setting]
    allowed = voices.crest_floor_median_db + 1.0 + mp3_margin_db(chosen.channels, chosen.bitrate)
    if voices.crest_floor_median_db == 0.0:
        allowed = 1.0  # the source fits the headroom: the issue's own figure
    assert voices.crest_loss_median_db <= allowed, (
        f"median crest loss {voices.crest_loss_median_db:.1f} dB, where the target forces "
        f"{voices.crest_floor_median_db:.1f} (90th percentile {voices.crest_loss_p90_db:.1f})"
    )


def test_matrix_covers_every_source_format(corpus_recordings: dict[str, Recording]) -> None:
    kinds = {(r.sample_rate, r.channels, r.fmt, r.container) for r in corpus_recordings.values()}
    assert {rate for rate, *_ in kinds} >= {8000, 16000, 44100, 48000, 96000}
    assert {fmt for _, _, fmt, _ in kinds} >= {"s16", "s24", "s32", "f32"}
    assert {container for *_, container in kinds} == {"wav", "flac", "mp3"}
    assert {channels for _, channels, *_ in kinds} == {1, 2}


EVERY_SETTING = [
    (channels, bitrate, rate)
    for channels in (1, 2)
    for bitrate in (64, 96, 128, 160, 192)
    for rate in (44100, 48000)
]


@pytest.fixture(scope="module")
def every_setting(
    corpus_recordings: dict[str, Recording], tmp_path_factory: pytest.TempPathFactory
) -> dict[tuple[int, int, int], tuple[audio.EncodeResult, Loudness]]:
    """The two-voice recording encoded at every output format the show file allows (through
    the engine's API; the CLI matrix above covers the shipped and common settings)."""
    source = corpus_recordings["two-voices"].path
    folder = tmp_path_factory.mktemp("every-setting")
    done = {}
    for channels, bitrate, rate in EVERY_SETTING:
        settings = AudioSettings(channels=channels, bitrate=bitrate, sample_rate=rate)
        found = audio.probe(source)
        measured = audio.measure(source, found, settings)
        dst = folder / f"{channels}-{bitrate}-{rate}.mp3"
        try:
            result = audio.normalize_to_mp3(source, dst, found, measured, settings)
        finally:
            measured.close()
        done[channels, bitrate, rate] = (result, ebur128(["-i", str(dst)]))
    return done


@pytest.mark.parametrize(("channels", "bitrate", "rate"), EVERY_SETTING)
def test_every_allowed_setting_lands_on_target(
    every_setting: dict[tuple[int, int, int], tuple[audio.EncodeResult, Loudness]],
    channels: int,
    bitrate: int,
    rate: int,
) -> None:
    _, judged = every_setting[channels, bitrate, rate]
    assert abs(judged.integrated_lufs - TARGET_LUFS) <= LUFS_TOLERANCE
    assert judged.true_peak_dbtp <= CEILING_DBTP


def test_a_second_encode_is_rare_across_settings(
    every_setting: dict[tuple[int, int, int], tuple[audio.EncodeResult, Loudness]],
) -> None:
    """One encode is the rule; the counted fallback may fire on at most 10 % of the formats
    (it does at 64k stereo, where LAME's 11 kHz low-pass takes more of a voice's K-weighted
    energy than the calibration noise has there)."""
    again = {key: result.passes for key, (result, _) in every_setting.items() if result.passes > 1}
    assert len(again) <= len(EVERY_SETTING) // 10, f"encoded more than once: {again}"
    assert all(result.true_peak_reencodes == 0 for result, _ in every_setting.values())
