"""The engine's pure pieces: meter against pyloudnorm, filters against scipy, true peak,
limiter, leveler, the per-sample gain curve and the gain solver."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyloudnorm
import pytest
from audio_fixtures import speech
from hypothesis import given
from hypothesis import strategies as st
from pydub import AudioSegment

from dfl_audio.audio import leveler, truepeak
from dfl_audio.audio.bs1770 import KWeighting, gated_loudness, k_weighting_biquads, lin_to_db
from dfl_audio.audio.encode import Format, GainCurve, Mp3Check
from dfl_audio.audio.filters import highpass
from dfl_audio.audio.limiter import Limiter, limited_loudness, sliding_min
from dfl_audio.audio.meter import ClipCounter, LoudnessMeter, Meter, Profile, profile_of
from dfl_audio.audio.parked import ParkedArray
from dfl_audio.audio.produce import Program, solve_monotone, solve_static_gain
from dfl_audio.audio.truepeak import block_true_peaks


def _profile(frames: np.ndarray, rate: int, chunk: int = 12345) -> Profile:
    meter = Meter(rate, frames.shape[1])
    for start in range(0, len(frames), chunk):
        meter.feed(frames[start : start + chunk].astype(np.float32))
    return meter.profile()


def reference_true_peak(frames: np.ndarray) -> float:
    """4x true peak by scipy's upfirdn with the same interpolator (the slow reference)."""
    from scipy import signal

    up = signal.upfirdn(truepeak.OS_FILTER, frames.T.astype(np.float64), up=4, axis=-1)
    return max(float(np.max(np.abs(up))), float(np.max(np.abs(frames))))


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
    ours = _profile(frames, rate).integrated_lufs()
    reference = pyloudnorm.Meter(rate).integrated_loudness(frames)
    assert ours == pytest.approx(reference, abs=0.1)


@pytest.mark.parametrize("name", ["noise stereo", "low + high tones 44.1k", "speech mono"])
@pytest.mark.parametrize("chunk", [999, 65536])
def test_loudness_meter_agrees_with_pyloudnorm_in_any_chunking(
    voice: np.ndarray, name: str, chunk: int
) -> None:
    """The MP3 check's meter: loudness alone, the same figure as the full meter's."""
    frames, rate = _signals(voice)[name]
    meter = LoudnessMeter(rate, frames.shape[1])
    for start in range(0, len(frames), chunk):
        meter.feed(frames[start : start + chunk].astype(np.float32))
    reference = pyloudnorm.Meter(rate).integrated_loudness(frames)
    assert meter.integrated_lufs() == pytest.approx(reference, abs=0.1)
    # the full meter counts a partial last 100 ms segment; this one, like ebur128, does not
    assert meter.integrated_lufs() == pytest.approx(
        _profile(frames, rate).integrated_lufs(), abs=0.05
    )


@pytest.mark.parametrize(("rate", "channels"), [(44100, 1), (48000, 2)])
def test_mp3_check_k_weights_in_ffmpeg_as_the_meter_does(
    voice: np.ndarray, tmp_path: Path, rate: int, channels: int
) -> None:
    """The check lets ffmpeg's biquads K-weight the decoded MP3: the same loudness, to a
    thousandth of a LU, as the engine's own K-weighting of the very same decoded frames."""
    frames = np.hstack([voice, 0.3 * voice])[:, :channels]
    src = tmp_path / "in.f32"
    frames.astype("<f4").tofile(src)
    mp3 = tmp_path / "out.mp3"
    pcm = ["-f", "f32le", "-ar", "48000", "-ac", str(channels), "-i", str(src)]
    encode = ["-ar", str(rate), "-c:a", "libmp3lame", "-b:a", "128k", str(mp3)]
    subprocess.run(["ffmpeg", "-v", "error", *pcm, *encode], check=True)
    decoded = subprocess.run(  # read from a pipe, as the check follows the growing file
        ["ffmpeg", "-v", "error", "-f", "mp3", "-i", "-", "-f", "f32le", "-c:a", "pcm_f32le", "-"],
        input=mp3.read_bytes(),
        check=True,
        capture_output=True,
    ).stdout
    meter = LoudnessMeter(rate, channels)
    meter.feed(np.frombuffer(decoded, dtype="<f4").reshape(-1, channels))
    with Mp3Check(mp3, Format(rate, channels, 128)) as check:
        measured = check.result()
    assert measured.lufs == pytest.approx(meter.integrated_lufs(), abs=1e-3)
    assert measured.true_peak_dbtp > lin_to_db(float(np.abs(frames).max())) - 1.0


def test_the_mp3_check_runs_below_lame_in_priority(
    voice: np.ndarray, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check's ffmpeg child yields the CPU to the encoder (niced), so LAME never waits."""
    from dfl_audio import ffmpeg, ffmpeg_growing

    src = tmp_path / "in.f32"
    voice.astype("<f4").tofile(src)
    mp3 = tmp_path / "out.mp3"
    pcm = ["-f", "f32le", "-ar", "48000", "-ac", "1", "-i", str(src)]
    subprocess.run(["ffmpeg", "-v", "error", *pcm, "-c:a", "libmp3lame", str(mp3)], check=True)
    niceness: list[int] = []
    real_spawn = ffmpeg_growing.spawn

    def spawn_and_look(*args: object, **kwargs: object) -> subprocess.Popen[bytes]:
        proc = real_spawn(*args, **kwargs)  # type: ignore[arg-type]
        niceness.append(os.getpriority(os.PRIO_PROCESS, proc.pid))
        return proc

    monkeypatch.setattr(ffmpeg_growing, "spawn", spawn_and_look)
    with Mp3Check(mp3, Format(48000, 1, 128)) as check:
        check.result()
    ours = os.getpriority(os.PRIO_PROCESS, 0)
    assert niceness == [min(19, ours + ffmpeg.BACKGROUND_NICENESS)]


def test_meter_is_independent_of_chunking(voice: np.ndarray) -> None:
    frames = np.hstack([voice, -0.5 * voice])
    whole = _profile(frames, 48000, chunk=len(frames))
    pieces = _profile(frames, 48000, chunk=777)
    np.testing.assert_allclose(pieces.energy, whole.energy, rtol=1e-5)
    np.testing.assert_array_equal(pieces.peak, whole.peak)
    assert pieces.true_peak == pytest.approx(whole.true_peak, abs=1e-6)
    assert pieces.true_peak == pytest.approx(reference_true_peak(frames), abs=1e-6)


def test_true_peak_finds_the_peak_between_samples() -> None:
    """A quarter-rate sine at 45 degrees: every sample is at 0.707 of the real peak."""
    t = np.arange(48000) / 48000
    frames = (0.5 * np.sin(2 * np.pi * 12000 * t + math.pi / 4))[:, None].astype(np.float32)
    profile = _profile(frames, 48000)
    assert lin_to_db(profile.sample_peak) == pytest.approx(-9.03, abs=0.01)
    assert lin_to_db(profile.true_peak) == pytest.approx(-6.02, abs=0.1)


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
        assert sparse[index] <= reference_true_peak(block) + 1e-6
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


def test_clipping_and_edge_silence_are_counted() -> None:
    t = np.arange(48000 * 4) / 48000
    tone = np.clip(2 * np.sin(2 * np.pi * 440 * t), -1, 1)
    frames = np.concatenate([np.zeros(48000 * 2), tone, np.zeros(48000 * 3)])[:, None]
    clips = ClipCounter(1)
    for start in range(0, len(frames), 5000):
        clips.feed(frames[start : start + 5000].astype(np.float32))
    lead, trail = _profile(frames, 48000).edge_silence()
    assert clips.count > 1000
    assert lead == pytest.approx(2.0, abs=0.1)
    assert trail == pytest.approx(3.0, abs=0.15)  # filter ring-out


# --- the filters that stand in for scipy.signal ------------------------------------------------


def test_oversampling_filter_is_scipys_firwin_design() -> None:
    from scipy import signal

    reference = signal.firwin(48, 0.25, window=("kaiser", 6.0)) * 4
    np.testing.assert_allclose(truepeak.OS_FILTER, reference, rtol=0, atol=1e-7)


@pytest.mark.parametrize("rate", [44100, 48000, 16000])
def test_chunked_k_weighting_equals_scipys_sosfilt(rate: int) -> None:
    from scipy import signal

    rng = np.random.default_rng(11)
    frames = (rng.standard_normal((20000, 2)) * 0.3).astype(np.float32)
    expected = signal.sosfilt(k_weighting_biquads(rate), frames.astype(np.float64), axis=0)
    weighting = KWeighting(rate, 2)
    pieces = [weighting.process(frames[i : i + 7000]) for i in range(0, len(frames), 7000)]
    # float32 out (the recursion itself runs in double, the output products in single)
    np.testing.assert_allclose(np.concatenate(pieces), expected, rtol=0, atol=2e-6)


@pytest.mark.parametrize("chunk", [5, 33, 4096, 140000])
def test_the_block_filter_equals_sosfilt_in_any_chunking(chunk: int) -> None:
    """Partial blocks, whole groups and inputs over one round of products (131072 frames):
    the block solution is the recursion itself, in stereo, to within 2e-6 (the output products
    run in single precision: under a tenth of a 16-bit step; a broken carry is off by 1e-3)."""
    from scipy import signal

    rng = np.random.default_rng(7)
    frames = (rng.standard_normal((150000, 2)) * 0.3).astype(np.float32)
    frames[:, 1] += 0.2  # a DC offset: the poles near 1 carry it for thousands of frames
    frames = frames[: 20 * chunk] if chunk < 100 else frames
    sos = k_weighting_biquads(44100)
    expected = signal.sosfilt(sos, frames.astype(np.float64), axis=0)
    weighting = KWeighting(44100, 2)
    pieces = [weighting.process(frames[i : i + chunk]) for i in range(0, len(frames), chunk)]
    np.testing.assert_allclose(np.concatenate(pieces), expected, rtol=0, atol=2e-6)


def test_a_settled_highpass_starts_where_sosfilt_zi_does() -> None:
    """``settle`` is scipy's steady state (``sosfilt_zi``) scaled to the first frame."""
    from scipy import signal

    rate = 44100
    frames = (np.random.default_rng(3).standard_normal((30000, 2)) * 0.1 + [0.3, -0.2]).astype(
        np.float32
    )
    w0 = 2 * np.pi * 40.0 / rate
    alpha, cos = np.sin(w0) / np.sqrt(2), np.cos(w0)
    sos = np.array([[(1 + cos) / 2, -(1 + cos), (1 + cos) / 2, 1 + alpha, -2 * cos, 1 - alpha]])
    sos /= sos[:, 3:4]
    zi = signal.sosfilt_zi(sos)
    expected = np.stack(
        [
            signal.sosfilt(sos, frames[:, c].astype(np.float64), zi=zi * frames[0, c])[0]
            for c in (0, 1)
        ],
        axis=1,
    )
    filt = highpass(rate, 40.0, 2)
    filt.settle(frames[0].astype(np.float64))
    np.testing.assert_allclose(filt.process(frames), expected, rtol=0, atol=2e-6)


def test_highpass_removes_dc_and_keeps_speech_frequencies() -> None:
    rate = 48000
    t = np.arange(rate * 2) / rate
    tone = 0.3 * np.sin(2 * np.pi * 200 * t)
    out = highpass(rate, 40.0, 1).process((tone + 0.4)[:, None])[rate:, 0]
    assert abs(float(out.mean())) < 1e-4  # the offset is gone
    assert float(np.abs(out).max()) == pytest.approx(0.3, abs=0.01)  # 200 Hz passes


def test_the_engine_does_not_import_scipy() -> None:
    """scipy.signal costs ~1.5 s and ~80 MB to import; metering and filtering need none of
    scipy (the filters are numpy's matrix products), so it is not a run-time dependency."""
    code = (
        "import sys, numpy as np; from dfl_audio.audio.meter import Meter; "
        "from dfl_audio.audio.filters import highpass; "
        "t = np.arange(48000) / 48000; x = 0.1 * np.sin(2 * np.pi * 1000 * t); "
        "m = Meter(48000, 2); m.feed(np.stack([x, x], 1).astype(np.float32)); "
        "highpass(48000, 40, 1).process(x[:, None]); "
        "print(any(name.startswith('scipy') for name in sys.modules), "
        "round(m.profile().integrated_lufs()))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "-20"]  # a 1 kHz sine: K-weighting adds ~0.7 dB


# --- limiter ------------------------------------------------------------------------------------


@given(
    st.lists(st.floats(0.0, 1.0), min_size=1, max_size=300),
    st.integers(min_value=1, max_value=40),
)
def test_sliding_min_is_the_minimum_of_every_window(values: list[float], width: int) -> None:
    """The limiter's held gain: the same as a reduction over every window, exactly."""
    x = np.array(values)
    width = min(width, len(x))
    expected = np.lib.stride_tricks.sliding_window_view(x, width).min(axis=1)
    assert np.array_equal(sliding_min(x, width), expected)


def _limit(
    frames: np.ndarray, chunk: int, gain: float, ceiling: float
) -> tuple[np.ndarray, Limiter]:
    limiter = Limiter(48000, frames.shape[1], gain, ceiling)
    parts = [limiter.process(frames[i : i + chunk]) for i in range(0, len(frames), chunk)]
    parts.append(limiter.flush())
    return np.concatenate(parts), limiter


def test_limiter_holds_the_ceiling_without_edges_at_chunk_boundaries(voice: np.ndarray) -> None:
    frames = np.hstack([voice, 0.8 * voice]).astype(np.float32)
    ceiling = 10 ** (-2 / 20)
    one_shot, limiter = _limit(frames, len(frames), 4.0, ceiling)
    chunked, _ = _limit(frames, 4099, 4.0, ceiling)
    tiny, _ = _limit(frames, 333, 4.0, ceiling)
    assert len(one_shot) == len(frames)
    assert limiter.limited_blocks > 0
    assert 0 < limiter.limited_frames < len(frames)
    np.testing.assert_array_equal(chunked, one_shot)
    np.testing.assert_array_equal(tiny, one_shot)
    assert reference_true_peak(one_shot) <= ceiling * 1.0001
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
    assert limiter.limited_blocks == limiter.limited_frames == 0
    assert limiter.min_gain == 1.0


@pytest.mark.parametrize("drive_db", [4.0, 8.0, 12.0])
def test_replayed_limiter_predicts_the_real_one(voice: np.ndarray, drive_db: float) -> None:
    """The gain solver replays the limiter on the 10 ms profile; it must see the loudness the
    real limiter leaves, or the MP3 misses its target and is encoded twice."""
    frames = np.vstack([voice, 0.5 * voice]).astype(np.float32)
    profile = _profile(frames, 48000)
    ceiling = 10 ** (-2 / 20)
    gain_db = drive_db - lin_to_db(profile.sample_peak) - 2
    limited, _ = _limit(frames, 8192, 10 ** (gain_db / 20), ceiling)
    actual = _profile(limited, 48000).integrated_lufs()
    gains = np.full(len(profile.energy), gain_db)
    predicted = limited_loudness(profile.energy, profile.peak, gains, ceiling)
    assert actual < profile.integrated_lufs() + gain_db - 0.3  # the limiter did cost loudness
    assert predicted == pytest.approx(actual, abs=0.3)  # ...and the replay saw it


# --- leveler ------------------------------------------------------------------------------------


def _two_voices(voice: np.ndarray, apart_db: float) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Alternating turns of the same speech, the host ``apart_db`` under the guest, with
    pauses and low noise; returns frames and the host's spans."""
    rng = np.random.default_rng(1)
    parts, host, at = [], [], 0
    pause = int(0.6 * 48000)
    for turn in range(6):
        level = 10 ** (-apart_db / 20) if turn % 2 == 0 else 1.0
        words = voice[:, 0] * 0.5 * level
        if turn % 2 == 0:
            host.append((at, at + len(words)))
        parts += [words, np.zeros(pause)]
        at += len(words) + pause
    frames = np.concatenate(parts) + rng.standard_normal(at) * 1e-4
    return frames[:, None].astype(np.float32), host


def _spans_loudness(frames: np.ndarray, spans: list[tuple[int, int]]) -> float:
    joined = np.concatenate([frames[a:b] for a, b in spans]).astype(np.float64)
    return float(pyloudnorm.Meter(48000).integrated_loudness(joined))


def test_leveler_brings_voices_8_db_apart_within_2_db(voice: np.ndarray) -> None:
    frames, host = _two_voices(voice, 8.0)
    profile = _profile(frames, 48000)
    plan = leveler.plan(profile.energy)
    out = GainCurve(plan.gain_db.astype(np.float64), 48000).apply(frames, 0)
    turns = len(voice)
    guest = [(a + turns + int(0.6 * 48000), a + 2 * turns + int(0.6 * 48000)) for a, _ in host]
    before = _spans_loudness(frames, guest) - _spans_loudness(frames, host)
    after = _spans_loudness(out, guest) - _spans_loudness(out, host)
    assert before == pytest.approx(8.0, abs=0.3)
    assert abs(after) < 2.0
    low, high = plan.range_db()
    assert low < 0 < high and high - low > 5


def test_leveler_holds_the_gain_still_inside_a_phrase(voice: np.ndarray) -> None:
    frames, host = _two_voices(voice, 8.0)
    plan = leveler.plan(_profile(frames, 48000).energy)
    for start, stop in host:
        inner = plan.gain_db[start // 480 + 30 : stop // 480 - 30]  # away from the edges
        assert float(inner.max() - inner.min()) < 1.0  # a sentence keeps its shape


def test_leveler_does_not_raise_noise_or_breaths() -> None:
    rng = np.random.default_rng(2)
    noise = (rng.standard_normal((48000 * 6, 1)) * 0.001).astype(np.float32)
    plan = leveler.plan(_profile(noise, 48000).energy)
    assert float(np.abs(plan.gain_db).max()) <= 12.0
    assert plan.phrases <= 1


def test_leveler_off_is_flat() -> None:
    plan = leveler.flat(500)
    assert plan.range_db() == (0.0, 0.0) and not plan.gain_db.any()


# --- gain curve and solver ------------------------------------------------------------------------


@pytest.mark.parametrize("rate", [44100, 48000])
def test_gain_curve_is_linear_between_sub_block_centres_in_any_chunking(rate: int) -> None:
    sub = rate // 100
    gains = np.random.default_rng(4).standard_normal(300) * 3
    curve = GainCurve(gains, rate)
    n = len(gains) * sub + 123
    ones = np.ones((n, 1), np.float32)
    applied = np.concatenate([curve.apply(ones[i : i + 7777], i) for i in range(0, n, 7777)])
    expected = np.interp(
        np.arange(n) + 0.5, (np.arange(len(gains)) + 0.5) * sub, 10 ** (gains / 20)
    )
    np.testing.assert_allclose(applied[:, 0], expected, rtol=1e-6)


@pytest.mark.parametrize("chunk", [441, 7777, 70560])
def test_gain_curve_read_from_disk_a_window_at_a_time_matches_the_array(chunk: int) -> None:
    rate, sub = 44100, 441
    gains = (np.random.default_rng(5).standard_normal(500) * 3).astype(np.float32)
    parked = ParkedArray(gains)
    try:
        n = len(gains) * sub + 300  # past the last knot: held flat
        ones = np.ones((n, 1), np.float32)
        in_memory, on_disk = GainCurve(gains, rate), GainCurve(parked, rate)
        for start in range(0, n, chunk):
            np.testing.assert_array_equal(
                on_disk.apply(ones[start : start + chunk], start),
                in_memory.apply(ones[start : start + chunk], start),
            )
    finally:
        parked.close()


@given(
    st.floats(0.05, 1.0),  # slope at the crossing: 1 without the limiter, less with it
    st.floats(-40.0, 40.0),  # where it crosses
    st.floats(0.0, 0.9),  # how much the slope falls past the crossing (the limiter biting)
    st.floats(0.1, 19.9),  # where the crossing sits in the limited search's 20 dB
)
def test_the_gain_solver_finds_the_crossing_in_a_few_evaluations(
    slope: float, crossing: float, bend: float, into: float
) -> None:
    """Loudness against gain: rising, nearly straight, flattening as the limiter works; and
    nothing at all (-inf) where the whole profile falls under the absolute gate. The plain
    search spans 120 dB and the limited one 20 dB: bisection took 16 and 14 evaluations."""
    calls = []

    def loudness(gain: float) -> float:
        calls.append(gain)
        if gain < crossing - 45:
            return -math.inf
        over = max(0.0, gain - crossing)
        return -16.0 + slope * (gain - crossing) - slope * bend * over * over / (1 + over)

    found = solve_monotone(loudness, -16.0, -60.0, 60.0)
    assert abs(found - crossing) <= 0.002 / slope + 1e-9
    if bend == 0:  # no limiter: a straight line, found by its first secant or two
        assert len(calls) <= 6
    calls.clear()
    found = solve_monotone(loudness, -16.0, crossing - into, crossing - into + 20)
    assert abs(found - crossing) <= 0.002 / slope + 1e-9
    assert len(calls) <= 12


def test_the_gain_solver_gives_the_end_when_the_crossing_is_outside() -> None:
    assert solve_monotone(lambda gain: gain, 100.0, -60.0, 60.0) == 60.0
    assert solve_monotone(lambda gain: gain, -100.0, -60.0, 60.0) == -60.0


def test_static_gain_lands_the_program_on_target_with_clips(voice: np.ndarray) -> None:
    main = _profile(voice.astype(np.float32) * 0.2, 48000)
    intro = profile_of((voice[:48000] * 0.3).astype(np.float32), 48000)
    plan = leveler.plan(main.energy)
    program = Program.of(main, plan, [intro, None])
    ceiling = 10 ** (-1.6 / 20)
    static = solve_static_gain(program, -16.0, ceiling)
    assert program.loudness(static, ceiling) == pytest.approx(-16.0, abs=0.01)
    assert program.moves.start == len(intro.energy)  # the intro keeps its own level


def test_replayed_limiter_is_the_same_in_any_window(voice: np.ndarray) -> None:
    """The solver's replay works in windows so its memory stays flat; they must not show."""
    frames = np.vstack([voice, 0.2 * voice, voice[::-1]]).astype(np.float32)
    profile = _profile(frames, 48000)
    gains = np.full(len(profile.energy), 12.0)
    ceiling = 10 ** (-2 / 20)
    whole = limited_loudness(profile.energy, profile.peak, gains, ceiling, window=1 << 20)
    for window in (10, 130, 1000):
        part = limited_loudness(profile.energy, profile.peak, gains, ceiling, window=window)
        assert part == pytest.approx(whole, abs=1e-9)
    assert whole < profile.integrated_lufs() + 12.0 - 0.5  # the limiter really worked here
