"""probe / measure / normalize_to_mp3 on real files, checked by ffmpeg's own ebur128 meter."""

from __future__ import annotations

import json
import math
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from audio_fixtures import export, run_ffmpeg, sine, speech, write_wav
from pydub import AudioSegment

from dfl_audio import audio, ffmpeg, ffmpeg_locate, mp3_calibration
from dfl_audio.audio import tuning
from dfl_audio.audio.source import conditioned_chunks
from dfl_audio.audio.wav import wav_chunks, wav_layout
from dfl_audio.errors import AudioError
from dfl_audio.models.show import AudioSettings

TARGET = AudioSettings()


@pytest.fixture(scope="module")
def voice(tmp_path_factory: pytest.TempPathFactory) -> AudioSegment:
    """Six seconds of two-voice espeak-ng speech (mono, 22.05 kHz)."""
    return speech(tmp_path_factory.mktemp("speech"), 6.0)


@pytest.fixture(autouse=True)
def _calibration_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The encoder calibration cache lives in a temp folder shared by this module's tests."""
    folder = tmp_path_factory.getbasetemp() / "dfl-audio-cache"
    monkeypatch.setenv(mp3_calibration.CACHE_ENV_VAR, str(folder))


def _children() -> set[int]:
    """Our live child processes, from /proc (zombies count: they were not reaped)."""
    pids: set[int] = set()
    for task in os.listdir("/proc/self/task"):
        with open(f"/proc/self/task/{task}/children") as handle:
            pids.update(int(pid) for pid in handle.read().split())
    return pids


def _normalize(src: Path, dst: Path, settings: AudioSettings = TARGET) -> audio.EncodeResult:
    found = audio.probe(src)
    measured = audio.measure(src, found, settings)
    try:
        return audio.normalize_to_mp3(src, dst, found, measured, settings)
    finally:
        measured.close()


def _assert_on_target(mp3: Path, settings: AudioSettings = TARGET) -> None:
    lufs, peak = audio.measure_file_with_ffmpeg(mp3)
    assert lufs == pytest.approx(settings.loudness, abs=0.3)
    assert peak <= settings.true_peak
    found = audio.probe(mp3)
    assert (found.codec, found.sample_rate, found.channels) == (
        "mp3",
        settings.sample_rate,
        settings.channels,
    )


@pytest.mark.parametrize(
    ("kind", "codec", "container", "bits"),
    [
        ("wav16", "pcm_s16le", "wav", 16),
        ("wav24", "pcm_s24le", "wav", 24),
        ("wav32", "pcm_s32le", "wav", 32),
        ("wavf32", "pcm_f32le", "wav", 32),
        ("flac", "flac", "flac", 16),
        ("mp3", "mp3", "mp3", None),
        ("m4a", "aac", "mp4", 16),
        ("opus", "opus", "ogg", None),
    ],
)
def test_every_input_format_lands_on_target(
    voice: AudioSegment,
    tmp_path: Path,
    kind: str,
    codec: str,
    container: str,
    bits: int | None,
) -> None:
    src = export(voice, tmp_path, "in", kind, gain_db=-6)
    found = audio.probe(src)
    assert (found.codec, found.container, found.channels) == (codec, container, 2)
    assert found.sample_rate == 48000
    assert found.duration == pytest.approx(6.0, abs=0.1)
    if bits is not None and container in ("wav", "flac"):
        assert found.bits_per_sample == bits
    result = _normalize(src, tmp_path / "out.mp3")
    assert result.duration == pytest.approx(6.0, abs=0.1)
    _assert_on_target(result.path)


@pytest.mark.parametrize(
    ("gain_db", "limited"),
    [(+12.0, False), (-25.0, True), (-45.0, True), (-12.0, True)],
    ids=["loud-clipping", "quiet", "near-silent", "moderate"],
)
def test_levels_land_on_target_in_one_pass(
    voice: AudioSegment, tmp_path: Path, gain_db: float, limited: bool
) -> None:
    src = export(voice, tmp_path, "in", "wav16", gain_db=gain_db)
    found = audio.probe(src)
    measured = audio.measure(src, found, TARGET)
    result = audio.normalize_to_mp3(src, tmp_path / "out.mp3", found, measured, TARGET)
    assert (result.limiter.max_reduction_db > 0.1) is limited  # clipped audio is flat already
    assert math.copysign(1.0, result.limiter.max_reduction_db) == 1.0  # never a -0.0 dB cut
    assert result.pcm_true_peak_dbtp <= TARGET.true_peak - result.limiter.margin_db + 0.01
    assert result.output_true_peak_dbtp <= TARGET.true_peak - tuning.GUARD_TOLERANCE_DB
    assert result.passes == 1
    if gain_db > 0:
        assert any("clipping" in warning for warning in measured.warnings)
    _assert_on_target(result.path)
    # the check beside the encoder reads the finished MP3 as the judge does (which rounds to 0.1)
    lufs, peak = audio.measure_file_with_ffmpeg(result.path)
    assert result.output_lufs == pytest.approx(lufs, abs=0.06)
    assert result.output_true_peak_dbtp == pytest.approx(peak, abs=0.051)


def test_mono_output_from_stereo_and_stereo_from_mono(voice: AudioSegment, tmp_path: Path) -> None:
    stereo = export(voice, tmp_path, "stereo", "wav16", gain_db=-10)
    # -19 LUFS, as AES TD1004 suggests for mono: this dry synthetic voice has a waveform crest
    # over the 14 dB of headroom that -16 LUFS mono leaves under the ceiling.
    mono_settings = AudioSettings(loudness=-19.0, channels=1, bitrate=64, sample_rate=48000)
    _normalize(stereo, tmp_path / "mono.mp3", mono_settings)
    _assert_on_target(tmp_path / "mono.mp3", mono_settings)
    mono = export(voice, tmp_path, "mono", "flac", gain_db=-20, channels=1, rate=44100)
    _normalize(mono, tmp_path / "stereo.mp3")
    _assert_on_target(tmp_path / "stereo.mp3")


def test_an_unreachable_loudness_warns_instead_of_crushing_the_voice(
    voice: AudioSegment, tmp_path: Path
) -> None:
    stereo = export(voice, tmp_path, "stereo", "wav16", gain_db=-10)
    settings = AudioSettings(channels=1, bitrate=64, sample_rate=48000)
    result = _normalize(stereo, tmp_path / "mono.mp3", settings)
    lufs, peak = audio.measure_file_with_ffmpeg(result.path)
    assert peak <= settings.true_peak
    assert -17.0 < lufs < -15.7
    if lufs < -16.3:
        assert any("would need more than" in warning for warning in result.warnings)
        assert result.passes == 1  # a second pass cannot help what the cap decided


def test_other_targets_are_honoured(voice: AudioSegment, tmp_path: Path) -> None:
    src = export(voice, tmp_path, "in", "wav16", gain_db=-3)
    settings = AudioSettings(loudness=-19.0, true_peak=-2.0, bitrate=192)
    _normalize(src, tmp_path / "out.mp3", settings)
    _assert_on_target(tmp_path / "out.mp3", settings)


def test_our_meter_agrees_with_ffmpeg(voice: AudioSegment, tmp_path: Path) -> None:
    src = export(voice, tmp_path, "in", "wav24", gain_db=-8)
    measured = audio.measure(src, audio.probe(src), AudioSettings(sample_rate=48000))
    lufs, peak = audio.measure_file_with_ffmpeg(src)
    assert measured.integrated_lufs == pytest.approx(lufs, abs=0.15)
    # measured after the 40 Hz high-pass, which moves the peaks of this voice a little
    assert measured.true_peak_dbtp == pytest.approx(peak, abs=0.5)


def test_progress_reports_audio_seconds_per_pass(voice: AudioSegment, tmp_path: Path) -> None:
    src = export(voice, tmp_path, "in", "wav16")
    found = audio.probe(src)
    seen: list[float] = []
    measured = audio.measure(src, found, TARGET, progress=seen.append)
    assert seen == sorted(seen) and seen[-1] == pytest.approx(measured.duration)
    assert measured.duration == pytest.approx(found.duration, abs=0.01)
    encoded: list[float] = []
    audio.normalize_to_mp3(src, tmp_path / "o.mp3", found, measured, TARGET, encoded.append)
    assert encoded[-1] == pytest.approx(measured.duration, abs=0.001)


def test_long_silences_warn(voice: AudioSegment, tmp_path: Path) -> None:
    padded = AudioSegment.silent(7000, 22050) + voice + AudioSegment.silent(6000, 22050)
    src = export(padded, tmp_path, "padded", "wav16")
    measured = audio.measure(src, audio.probe(src), TARGET)
    assert measured.leading_silence == pytest.approx(7.3, abs=0.3)
    assert any("leading silence" in warning for warning in measured.warnings)
    assert any("trailing silence" in warning for warning in measured.warnings)


# --- rejections ----------------------------------------------------------------------------


def _fails(path: Path, fragment: str) -> AudioError:
    with pytest.raises(AudioError) as caught:
        audio.measure(path, audio.probe(path), TARGET)
    assert fragment in str(caught.value)
    assert str(caught.value).startswith(str(path))
    return caught.value


def _cut_in_half(path: Path) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def test_missing_empty_and_not_audio(tmp_path: Path) -> None:
    _fails(tmp_path / "nope.wav", "file not found")
    (tmp_path / "empty.mp3").write_bytes(b"")
    _fails(tmp_path / "empty.mp3", "empty file (0 bytes)")
    (tmp_path / "notes.mp3").write_text("these are show notes, not audio\n" * 50)
    _fails(tmp_path / "notes.mp3", "not an audio file")
    _fails(tmp_path, "not a regular file")


def test_video_only_is_rejected(tmp_path: Path) -> None:
    video = tmp_path / "video.mp4"
    run_ffmpeg("-f", "lavfi", "-i", "testsrc=duration=1:size=64x64:rate=10", str(video))
    _fails(video, "no audio stream (video or image only)")


@pytest.mark.parametrize("kind", ["wav16", "flac", "mp3", "m4a"])
def test_truncated_files_are_rejected(voice: AudioSegment, tmp_path: Path, kind: str) -> None:
    src = _cut_in_half(export(voice, tmp_path, "cut", kind))
    with pytest.raises(AudioError) as caught:
        audio.measure(src, audio.probe(src), TARGET)
    message = str(caught.value)
    assert any(word in message for word in ("truncated", "corrupt", "not an audio file"))


def test_corrupt_middle_is_rejected(voice: AudioSegment, tmp_path: Path) -> None:
    src = export(voice, tmp_path, "broken", "flac")
    data = bytearray(src.read_bytes())
    rng = np.random.default_rng(5)
    middle = len(data) // 2
    data[middle : middle + 4000] = rng.integers(0, 256, 4000, dtype=np.uint8).tobytes()
    src.write_bytes(bytes(data))
    _fails(src, "corrupt")


def test_silence_is_rejected(tmp_path: Path) -> None:
    src = write_wav(tmp_path / "silent.wav", np.zeros((48000 * 3, 2)))
    _fails(src, "silent")
    faint = write_wav(tmp_path / "faint.wav", sine(3, 440, 10 ** (-85 / 20))[:, None])
    _fails(faint, "silent")


# --- processes and ffmpeg choice -------------------------------------------------------------


def test_encoder_failure_leaves_no_process(voice: AudioSegment, tmp_path: Path) -> None:
    src = export(voice, tmp_path, "in", "wav16")
    found = audio.probe(src)
    measured = audio.measure(src, found, TARGET)
    before = _children()
    with pytest.raises(AudioError, match="MP3 encoder"):
        audio.normalize_to_mp3(src, tmp_path / "no" / "dir" / "o.mp3", found, measured, TARGET)
    assert _children() <= before


def test_interrupt_mid_encode_leaves_no_process(voice: AudioSegment, tmp_path: Path) -> None:
    src = export(voice, tmp_path, "in", "wav16")
    found = audio.probe(src)
    measured = audio.measure(src, found, TARGET)
    before = _children()

    def interrupt(seconds: float) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        audio.normalize_to_mp3(src, tmp_path / "o.mp3", found, measured, TARGET, interrupt)
    assert _children() <= before


@pytest.fixture
def forced_ffmpeg(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    import imageio_ffmpeg

    path = imageio_ffmpeg.get_ffmpeg_exe()
    monkeypatch.setenv(ffmpeg_locate.ENV_VAR, path)
    ffmpeg_locate.ffmpeg_info.cache_clear()
    mp3_calibration.mp3_level_offset.cache_clear()
    yield path
    monkeypatch.delenv(ffmpeg_locate.ENV_VAR)
    ffmpeg_locate.ffmpeg_info.cache_clear()
    mp3_calibration.mp3_level_offset.cache_clear()


def test_system_ffmpeg_is_the_default() -> None:
    info = ffmpeg_locate.ffmpeg_info()
    if os.environ.get(ffmpeg_locate.ENV_VAR) or not shutil.which("ffmpeg"):
        pytest.skip("no system ffmpeg on PATH here")
    assert info.source == "system" and not info.forced
    assert info.path == shutil.which("ffmpeg") and info.version


def test_imageio_ffmpeg_runs_the_whole_pipeline(
    forced_ffmpeg: str, voice: AudioSegment, tmp_path: Path
) -> None:
    info = ffmpeg_locate.ffmpeg_info()
    assert (info.path, info.source, info.forced) == (forced_ffmpeg, "imageio-ffmpeg", True)
    src = export(voice, tmp_path, "in", "flac", gain_db=-9)
    _normalize(src, tmp_path / "out.mp3")
    _assert_on_target(tmp_path / "out.mp3")


def test_a_bad_forced_ffmpeg_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ffmpeg_locate.ENV_VAR, "/nonexistent/ffmpeg")
    ffmpeg_locate.ffmpeg_info.cache_clear()
    try:
        with pytest.raises(AudioError, match="not an executable file"):
            ffmpeg_locate.ffmpeg_info()
    finally:
        monkeypatch.delenv(ffmpeg_locate.ENV_VAR)
        ffmpeg_locate.ffmpeg_info.cache_clear()


# --- the MP3's own true peak -----------------------------------------------------------------

LOW_BITRATE_MONO = AudioSettings(loudness=-16.0, channels=1, bitrate=64, sample_rate=48000)


def test_mp3_true_peak_holds_on_heavily_limited_low_bitrate_mono(
    voice: AudioSegment, tmp_path: Path
) -> None:
    """Speech limited by ~10 dB and coded at 64k mono: the codec's noise sits on the peaks."""
    src = export(voice, tmp_path, "in", "wav16", gain_db=-12, channels=1)
    result = _normalize(src, tmp_path / "out.mp3", LOW_BITRATE_MONO)
    lufs, peak = audio.measure_file_with_ffmpeg(result.path)
    assert peak <= LOW_BITRATE_MONO.true_peak
    assert lufs == pytest.approx(LOW_BITRATE_MONO.loudness, abs=0.5)
    assert result.output_true_peak_dbtp <= LOW_BITRATE_MONO.true_peak - tuning.GUARD_TOLERANCE_DB
    assert result.output_true_peak_dbtp == pytest.approx(peak, abs=0.3)  # the MP3's, not PCM's


def test_an_mp3_over_the_ceiling_is_re_encoded_with_a_wider_margin(
    voice: AudioSegment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A limiter aiming 1 dB over the ceiling: the first MP3 is surely over it."""
    monkeypatch.setattr(tuning, "mp3_margin_db", lambda *format_and_length: -1.0)
    src = export(voice, tmp_path, "in", "wav16", gain_db=-12)
    result = _normalize(src, tmp_path / "out.mp3", LOW_BITRATE_MONO)
    assert result.true_peak_reencodes >= 1 and result.passes >= 2
    assert result.limiter.margin_db > -1.0
    lufs, peak = audio.measure_file_with_ffmpeg(result.path)
    assert peak <= LOW_BITRATE_MONO.true_peak
    assert lufs == pytest.approx(LOW_BITRATE_MONO.loudness, abs=0.5)
    assert not any("true peak" in warning for warning in result.warnings)


# --- direct PCM WAV reading and the one decode -------------------------------------------------


@pytest.mark.parametrize("kind", ["wav16", "wav24", "wav32", "wavf32"])
@pytest.mark.parametrize("channels", [1, 2])
def test_direct_wav_reading_matches_ffmpeg(
    voice: AudioSegment, tmp_path: Path, kind: str, channels: int
) -> None:
    src = export(voice, tmp_path, "in", kind, gain_db=-3, channels=channels)
    layout = wav_layout(src)
    assert layout is not None and layout.channels == channels
    direct = np.concatenate(list(wav_chunks(src, layout, 0, layout.frames, 10007)))
    with ffmpeg.decode(src, channels) as decoder:
        decoded = np.concatenate(list(decoder.chunks(8192)))
    assert direct.shape == decoded.shape
    np.testing.assert_allclose(direct, decoded, rtol=0, atol=1e-7)


def test_a_wav_read_directly_measures_as_the_same_samples_through_ffmpeg(tmp_path: Path) -> None:
    """A WAV at the output rate is read (twice) without a decoder; a FLAC of the same samples
    is decoded once into the spool: both passes must see identical frames."""
    rng = np.random.default_rng(3)
    seconds = 8
    envelope = np.repeat(rng.uniform(0.05, 0.9, seconds * 10), 4410)[:, None]
    frames = rng.standard_normal((44100 * seconds, 2)) * 0.2 * envelope
    src = write_wav(tmp_path / "noise.wav", np.clip(frames, -1, 1), rate=44100)
    flac = tmp_path / "noise.flac"
    run_ffmpeg("-i", str(src), str(flac))
    direct = audio.measure(src, audio.probe(src), TARGET)
    piped = audio.measure(flac, audio.probe(flac), TARGET)
    assert direct.spool is None and piped.spool is not None
    assert direct.integrated_lufs == pytest.approx(piped.integrated_lufs, abs=1e-6)
    assert direct.true_peak_dbtp == pytest.approx(piped.true_peak_dbtp, abs=1e-6)
    assert direct.clipped_samples == piped.clipped_samples
    np.testing.assert_array_equal(direct.profile().peak, piped.profile().peak)
    reread = np.concatenate(list(conditioned_chunks(src, audio.probe(src), 44100, 2, None)))
    spooled = np.concatenate(list(piped.spool.chunks(9999)))
    np.testing.assert_array_equal(reread, spooled)
    piped.close()


def test_a_dc_offset_does_not_cost_loudness(voice: AudioSegment, tmp_path: Path) -> None:
    """A recorder's DC offset eats headroom; the high-pass removes it before anything is
    measured, so the episode lands on target without the limiter fighting it."""
    clean = export(voice, tmp_path, "clean", "wav16", gain_db=-10, rate=44100, channels=1)
    layout = wav_layout(clean)
    assert layout is not None
    samples = np.concatenate(list(wav_chunks(clean, layout))).astype(np.float64)
    shifted = write_wav(tmp_path / "dc.wav", samples + 0.3, rate=44100)
    result = _normalize(shifted, tmp_path / "out.mp3")
    _assert_on_target(result.path)
    assert result.limiter.max_reduction_db < 10


def test_encoder_calibration_is_measured_once_then_read_from_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(mp3_calibration.CACHE_ENV_VAR, str(tmp_path))
    mp3_calibration.mp3_level_offset.cache_clear()
    try:
        measured = mp3_calibration.mp3_level_offset(44100, 1, 96)
        assert -1.5 < measured < 0.5  # LAME lowers the level a little at CBR
        cache = tmp_path / "mp3-level-offset.json"
        saved = json.loads(cache.read_text())
        assert list(saved.values()) == [measured]
        key = next(iter(saved))
        cache.write_text(json.dumps({key: -0.123}))  # a planted value proves the file is read
        mp3_calibration.mp3_level_offset.cache_clear()
        assert mp3_calibration.mp3_level_offset(44100, 1, 96) == -0.123
        cache.write_text("{not json")
        mp3_calibration.mp3_level_offset.cache_clear()
        assert mp3_calibration.mp3_level_offset(44100, 1, 96) == pytest.approx(measured, abs=0.05)
    finally:
        mp3_calibration.mp3_level_offset.cache_clear()


def test_a_cache_folder_that_cannot_be_written_only_means_measuring_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file where the cache folder should be: the calibration is measured, nothing raised."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv(mp3_calibration.CACHE_ENV_VAR, str(blocker))
    mp3_calibration.mp3_level_offset.cache_clear()
    try:
        assert -1.5 < mp3_calibration.mp3_level_offset(44100, 1, 96) < 0.5
    finally:
        mp3_calibration.mp3_level_offset.cache_clear()


def test_ffmpeg_version_is_asked_once_per_unchanged_binary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``ffmpeg -version`` runs for a binary not seen before, or one that changed since; an
    unchanged one is named from the cache (a planted answer proves the cache is read)."""
    real = shutil.which("ffmpeg") or ffmpeg_locate.ffmpeg_info().path
    runs = tmp_path / "runs"
    wrapper = tmp_path / "ffmpeg"
    wrapper.write_text(f'#!/bin/sh\necho run >> "{runs}"\nexec "{real}" "$@"\n')
    wrapper.chmod(0o755)
    monkeypatch.setenv(ffmpeg_locate.ENV_VAR, str(wrapper))
    monkeypatch.setenv(mp3_calibration.CACHE_ENV_VAR, str(tmp_path / "cache"))

    def named() -> str:
        ffmpeg_locate.ffmpeg_info.cache_clear()
        return ffmpeg_locate.ffmpeg_info().version

    try:
        first = named()
        assert first and runs.read_text().count("run") == 1
        assert named() == first and runs.read_text().count("run") == 1
        cache = tmp_path / "cache" / ffmpeg_locate.VERSION_CACHE
        saved = json.loads(cache.read_text())
        cache.write_text(json.dumps({key: "planted" for key in saved}))
        assert named() == "planted"
        wrapper.write_text(wrapper.read_text() + "# changed\n")  # a new binary: asked again
        assert named() == first and runs.read_text().count("run") == 2
    finally:
        ffmpeg_locate.ffmpeg_info.cache_clear()
