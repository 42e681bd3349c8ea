"""The BS.1770-4 meter, true peak and limiter, against pyloudnorm and against themselves."""

from __future__ import annotations

import math
import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pyloudnorm
import pytest
from audio_fixtures import speech
from pydub import AudioSegment

from dfl_audio import loudness
from dfl_audio.loudness import (
    Limiter,
    LoudnessGate,
    LoudnessMeter,
    block_true_peaks,
    estimate_limited_loudness,
    gated_loudness,
    lin_to_db,
    true_peak,
)


def _meter(frames: np.ndarray, rate: int, chunk: int = 12345) -> LoudnessMeter:
    meter = LoudnessMeter(rate, frames.shape[1])
    for start in range(0, len(frames), chunk):
        meter.feed(frames[start : start + chunk].astype(np.float32))
    return meter


@pytest.fixture(scope="module")
def voice(tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    """Six seconds of espeak-ng speech at 48 kHz, mono float."""
    segment: AudioSegment = speech(tmp_path_factory.mktemp("voice"), 6.0).set_frame_rate(48000)
    samples = np.array(segment.get_array_of_samples(), dtype=np.float64) / 32768
    return samples[:, None]


def _signals(voice: np.ndarray) -> dict[str, tuple[np.ndarray, int]]:
    rng = np.random.default_rng(7)
    t = np.arange(48000 * 5) / 48000
    t44 = np.arange(44100 * 5) / 44100
    return {
        "sine 1 kHz stereo": (np.stack([0.5 * np.sin(2 * np.pi * 1000 * t)] * 2, axis=1), 48000),
        "noise stereo": (rng.standard_normal((len(t), 2)) * 0.05, 48000),
        "low + high tones 44.1k": (
            (0.3 * np.sin(2 * np.pi * 60 * t44) + 0.2 * np.sin(2 * np.pi * 9000 * t44))[:, None],
            44100,
        ),
        "speech mono": (voice, 48000),
        "speech stereo, quiet": (np.hstack([voice, 0.3 * voice]) * 0.1, 48000),
    }


@pytest.mark.parametrize(
    "name",
    [
        "sine 1 kHz stereo",
        "noise stereo",
        "low + high tones 44.1k",
        "speech mono",
        "speech stereo, quiet",
    ],
)
def test_meter_agrees_with_pyloudnorm(voice: np.ndarray, name: str) -> None:
    frames, rate = _signals(voice)[name]
    ours = _meter(frames, rate).result().integrated_lufs
    reference = pyloudnorm.Meter(rate).integrated_loudness(frames)
    assert ours == pytest.approx(reference, abs=0.1)


def test_meter_is_independent_of_chunking(voice: np.ndarray) -> None:
    frames = np.hstack([voice, -0.5 * voice])
    whole = _meter(frames, 48000, chunk=len(frames)).result()
    pieces = _meter(frames, 48000, chunk=777).result()
    assert pieces.integrated_lufs == pytest.approx(whole.integrated_lufs, abs=1e-9)
    assert pieces.true_peak == pytest.approx(whole.true_peak, abs=1e-6)
    assert pieces.true_peak == pytest.approx(true_peak(frames.astype(np.float32)), abs=1e-6)


def test_true_peak_finds_the_peak_between_samples() -> None:
    """A quarter-rate sine at 45 degrees: every sample is at 0.707 of the real peak."""
    t = np.arange(48000) / 48000
    frames = (0.5 * np.sin(2 * np.pi * 12000 * t + math.pi / 4))[:, None].astype(np.float32)
    sample_peak = lin_to_db(float(np.abs(frames).max()))
    stats = _meter(frames, 48000).result()
    assert sample_peak == pytest.approx(-9.03, abs=0.01)
    assert lin_to_db(stats.true_peak) == pytest.approx(-6.02, abs=0.1)
    assert lin_to_db(stats.sample_peak) == pytest.approx(sample_peak)


def test_block_true_peaks_match_the_whole_signal() -> None:
    rng = np.random.default_rng(3)
    frames = (rng.standard_normal((4800, 2)) * 0.2).astype(np.float32)
    wanted = np.zeros(10, dtype=bool)
    wanted[[0, 4, 9]] = True
    sparse = block_true_peaks(frames, 480, wanted)
    dense = block_true_peaks(frames, 480, np.ones(10, dtype=bool))
    for index in (0, 4, 9):
        block = frames[max(0, index * 480 - 12) : index * 480 + 492]
        assert sparse[index] == pytest.approx(dense[index], rel=1e-5)
        assert sparse[index] <= true_peak(block) + 1e-6
    assert sparse[1] == 0.0


def test_gating_ignores_silence_and_rejects_pure_silence() -> None:
    loud = np.full(50, 0.01)  # 5 s of segments at about -20.7 LUFS
    with_silence = np.concatenate([loud, np.zeros(100)])
    ungated = -0.691 + 10 * math.log10(with_silence.mean())
    assert gated_loudness(loud) == pytest.approx(-20.691)
    # Only the three 400 ms blocks straddling the edge still see part of the tone.
    assert gated_loudness(with_silence) == pytest.approx(-20.691, abs=0.2)
    assert ungated < -25
    assert gated_loudness(np.zeros(100)) == -math.inf


def _limit(
    frames: np.ndarray, chunk: int, gain: float, ceiling: float
) -> tuple[np.ndarray, Limiter]:
    limiter = Limiter(48000, frames.shape[1], gain, ceiling)
    parts = [limiter.process(frames[i : i + chunk]) for i in range(0, len(frames), chunk)]
    parts.append(limiter.flush())
    return np.concatenate(parts), limiter


def test_histogram_gate_equals_the_exact_gate_fed_in_any_chunks() -> None:
    """Quiet, loud, silent and near-threshold segments; the histogram keeps no per-block data
    but must agree with the exact gating within its 0.01 LU bins."""
    rng = np.random.default_rng(11)
    levels = np.concatenate(
        [rng.uniform(-80, -5, 3000), np.full(200, -200.0), rng.normal(-30, 0.02, 500)]
    )
    rng.shuffle(levels)
    energy = 10 ** ((levels + 0.691) / 10)
    exact = gated_loudness(energy)
    for chunk in (1, 7, 10, 4096):
        gate = LoudnessGate()
        for start in range(0, len(energy), chunk):
            gate.feed(energy[start : start + chunk])
        assert gate.loudness() == pytest.approx(exact, abs=0.01)
    assert LoudnessGate().loudness() == -math.inf


def test_limited_loudness_estimate_is_the_same_in_any_window(voice: np.ndarray) -> None:
    """The summary is read back from its file in windows; the windows must not show."""
    frames = np.vstack([voice, 0.2 * voice, voice[::-1]]).astype(np.float32)
    stats = _meter(np.hstack([frames, 0.5 * frames]), 48000).result()
    whole = estimate_limited_loudness(stats, 9.0, 10 ** (-2 / 20), window=1 << 20)
    for window in (10, 130, 1000):
        windowed = estimate_limited_loudness(stats, 9.0, 10 ** (-2 / 20), window=window)
        assert windowed == pytest.approx(whole, abs=1e-9)
    assert whole < stats.integrated_lufs + 9.0 - 0.5  # the limiter really worked here


def test_meter_memory_does_not_grow_with_duration() -> None:
    """Everything per 10 ms / 100 ms goes to the gate's histogram or the summary's file."""
    rng = np.random.default_rng(5)
    chunk = (rng.standard_normal((8000 * 30, 1)) * 0.1).astype(np.float32)  # 30 s at 8 kHz
    meter = LoudnessMeter(8000, 1)
    tracemalloc.start()
    try:
        for _ in range(4):  # 2 minutes in
            meter.feed(chunk)
        early = tracemalloc.get_traced_memory()[0]
        for _ in range(36):  # 20 minutes in
            meter.feed(chunk)
        late = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    stats = meter.result()
    assert len(stats.subblocks) == 40 * 30 * 100
    assert late - early < 64_000  # the in-RAM summary and segments grew 1.3 MB here
    assert -25 < stats.integrated_lufs < -15  # noise at -20 dBFS RMS, K-weighted


def test_limiter_holds_the_ceiling_without_edges_at_chunk_boundaries(voice: np.ndarray) -> None:
    frames = np.hstack([voice, 0.8 * voice]).astype(np.float32)
    ceiling = 10 ** (-2 / 20)
    one_shot, limiter = _limit(frames, len(frames), 4.0, ceiling)
    chunked, _ = _limit(frames, 4099, 4.0, ceiling)
    tiny, _ = _limit(frames, 333, 4.0, ceiling)
    assert len(one_shot) == len(frames)
    assert limiter.limited_blocks > 0
    np.testing.assert_array_equal(chunked, one_shot)
    np.testing.assert_array_equal(tiny, one_shot)
    assert true_peak(one_shot) <= ceiling * 1.0001
    # The gain curve is smooth: sample-to-sample change far below an audible click.
    loud = np.abs(frames[:, 0]) > 0.05
    gain = one_shot[loud, 0] / frames[loud, 0]
    assert gain.max() <= 4.0 + 1e-3
    steps = np.abs(np.diff(one_shot[:, 0] / np.where(loud, frames[:, 0], np.nan)))
    assert np.nanmax(steps[np.isfinite(steps)]) < 0.01 * 4.0


def test_limiter_is_a_plain_gain_when_nothing_reaches_the_ceiling(voice: np.ndarray) -> None:
    frames = (voice * 0.1).astype(np.float32)
    out, limiter = _limit(frames, 5000, 2.0, 0.9)
    np.testing.assert_allclose(out, frames * 2.0, rtol=1e-6)
    assert limiter.limited_blocks == 0
    assert limiter.min_gain == 1.0


def test_estimate_of_limited_loudness_is_close_to_the_real_limiter(voice: np.ndarray) -> None:
    frames = np.hstack([voice, voice]).astype(np.float32)
    stats = _meter(frames, 48000).result()
    ceiling = 10 ** (-2 / 20)
    limited, _ = _limit(frames, 8192, 10 ** (8 / 20), ceiling)
    actual = _meter(limited, 48000).result().integrated_lufs
    predicted = estimate_limited_loudness(stats, 8.0, ceiling)
    plain = stats.integrated_lufs + 8.0
    assert actual < plain - 0.5  # the limiter did cost loudness...
    assert predicted == pytest.approx(actual, abs=0.5)  # ...and the estimate saw it coming


def test_mono_loudness_is_the_channel_mean(voice: np.ndarray) -> None:
    frames = np.hstack([voice, voice])
    stats = _meter(frames, 48000).result()
    assert stats.mono_lufs == pytest.approx(stats.integrated_lufs - 10 * math.log10(2), abs=0.01)


def test_clipping_and_edge_silence_are_counted(tmp_path: Path) -> None:
    t = np.arange(48000 * 4) / 48000
    tone = np.clip(2 * np.sin(2 * np.pi * 440 * t), -1, 1)
    frames = np.concatenate([np.zeros(48000 * 2), tone, np.zeros(48000 * 3)])[:, None]
    stats = _meter(frames, 48000).result()
    assert stats.clipped_samples > 1000
    assert stats.leading_silence == pytest.approx(2.0, abs=0.1)
    assert stats.trailing_silence == pytest.approx(3.0, abs=0.15)  # filter ring-out


# --- the pieces that stand in for scipy.signal ------------------------------------------------


def test_oversampling_filter_is_scipys_firwin_design() -> None:
    from scipy import signal

    reference = signal.firwin(48, 0.25, window=("kaiser", 6.0)) * 4
    np.testing.assert_allclose(loudness._OS_FILTER, reference, rtol=0, atol=1e-7)


@pytest.mark.parametrize("kernel", ["compiled", "public"])
def test_chunked_k_weighting_equals_scipys_sosfilt(kernel: str) -> None:
    from scipy import signal

    rng = np.random.default_rng(11)
    frames = (rng.standard_normal((20000, 2)) * 0.3).astype(np.float32)
    sos = loudness.k_weighting_sos(44100)
    expected = signal.sosfilt(sos, frames.astype(np.float64), axis=0)
    filter_ = loudness._sos_kernel() if kernel == "compiled" else loudness._public_sosfilt
    zi = np.zeros((2, sos.shape[0], 2))
    pieces = []
    for start in range(0, len(frames), 7000):
        x = np.array(frames[start : start + 7000].T, dtype=np.float64, order="C")
        filter_(sos, x, zi)
        pieces.append(x.T)
    np.testing.assert_allclose(np.concatenate(pieces), expected, rtol=0, atol=1e-12)


def test_the_meter_does_not_import_scipy_signal() -> None:
    """scipy.signal costs ~0.9 s and ~80 MB to import; the meter needs none of it, even when
    several threads load the filter kernel at once (a race once made one fall back to it)."""
    code = (
        "import sys, threading, numpy as np; from dfl_audio.loudness import LoudnessMeter; "
        "t = np.arange(48000) / 48000; x = 0.1 * np.sin(2 * np.pi * 1000 * t); "
        "ts = [threading.Thread(target=LoudnessMeter, args=(44100, 1)) for _ in range(4)]; "
        "[t.start() for t in ts]; [t.join() for t in ts]; m = LoudnessMeter(48000, 2); "
        "m.feed(np.stack([x, x], 1).astype(np.float32)); "
        "print('scipy.signal' in sys.modules, round(m.result().integrated_lufs))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "-20"]  # a 1 kHz sine: K-weighting adds ~0.7 dB


def test_a_meter_split_in_two_equals_one_pass(voice: np.ndarray) -> None:
    """Warm-up before the split point, restart, then extend: what two threads do."""
    frames = np.hstack([voice, 0.5 * voice[::-1]]).astype(np.float32)
    whole = _meter(frames, 48000).result()
    mid, warm = 4800 * 27, 4800 * 10
    first = _meter(frames[:mid], 48000)
    second = _meter(frames[mid - warm : mid], 48000)
    second.restart()
    for start in range(mid, len(frames), 9999):
        second.feed(frames[start : start + 9999])
    first.extend(second)
    joined = first.result()
    assert joined.integrated_lufs == pytest.approx(whole.integrated_lufs, abs=1e-9)
    assert joined.mono_lufs == pytest.approx(whole.mono_lufs, abs=1e-9)
    assert joined.true_peak == pytest.approx(whole.true_peak, abs=1e-7)
    assert (joined.duration, joined.clipped_samples) == (whole.duration, whole.clipped_samples)
    np.testing.assert_array_equal(joined.subblock_energy_db, whole.subblock_energy_db)
