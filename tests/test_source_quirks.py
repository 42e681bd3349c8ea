"""Real recordings that are valid but odd: a WAV streamed to a pipe (its sizes say
"unknown"), and a recorder's DC offset. Each is published through the real CLI and the MP3
is judged by tools other than the engine (mutagen for the length, ffmpeg's ebur128 for the
loudness)."""

from __future__ import annotations

import contextlib
import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest
from audio_fixtures import export, speech, write_wav
from click.testing import CliRunner
from mutagen.mp3 import MP3
from project_fixtures import REPO, SAMPLE_EPISODE, edit
from voice_metrics import ffmpeg as system_ffmpeg
from voice_metrics import integrated_and_true_peak

from dfl_audio import audio
from dfl_audio.audio.wav import wav_chunks, wav_data, wav_layout
from dfl_audio.cli import cli
from dfl_audio.errors import AudioError
from dfl_audio.state import load_state

CLIP = "episodes/audio/sample-clip.mp3"
STATE = "feeds/interviews.published.json"
GUID = "190bd4dd-f34d-4f16-a06a-213eaff1a95a"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A copy of the shipped show to publish into ``storage/``."""
    root = tmp_path / "show"
    shutil.copytree(REPO / "episodes", root / "episodes")
    (root / "feeds").mkdir()
    return root


def publish_with(root: Path, source: Path) -> Path:
    """Publish the sample episode with ``source`` as its recording; the MP3 it stored."""
    rel = f"episodes/audio/{source.name}"
    if source != root / rel:
        shutil.copy(source, root / rel)
    edit(root / SAMPLE_EPISODE, f"audio: {CLIP}", f"audio: {rel}")
    result = CliRunner().invoke(cli, ["--root", str(root), "-q", "publish"])
    assert result.exit_code == 0, result.stderr
    record = load_state(root / STATE).episodes[GUID]
    return root / "storage" / record.audio_key


def streamed_wav(source: Path, out: Path, *args: str) -> Path:
    """``ffmpeg ... -f wav pipe:1 > out``: the header cannot be rewritten, sizes stay unknown."""
    with out.open("wb") as handle:
        cmd = [system_ffmpeg(), "-v", "error", "-i", str(source), *args, "-f", "wav", "pipe:1"]
        subprocess.run(cmd, stdout=handle, check=True)
    head = out.read_bytes()[:4096]
    assert struct.unpack("<I", head[4:8])[0] == 0xFFFFFFFF  # RIFF size: unknown
    data = head.index(b"data")
    assert struct.unpack("<I", head[data + 4 : data + 8])[0] == 0xFFFFFFFF  # data size too
    return out


def seconds_of(path: Path) -> float:
    """What the decoded file lasts, by ffmpeg (not by its header)."""
    done = subprocess.run(
        [system_ffmpeg(), "-i", str(path), "-f", "null", "-"], capture_output=True, check=True
    )
    stamp = done.stderr.decode().rsplit("time=", 1)[1].split()[0]
    hours, minutes, secs = stamp.split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(secs)


@pytest.mark.parametrize(
    "args",
    [
        ("-ar", "44100", "-ac", "1", "-c:a", "pcm_s16le"),  # the output format: read directly
        ("-ar", "48000", "-ac", "2", "-c:a", "pcm_s24le"),  # resampled: decoded by ffmpeg
    ],
    ids=["s16-44k-mono", "s24-48k-stereo"],
)
def test_a_wav_streamed_to_a_pipe_publishes_at_its_real_length(
    root: Path, args: tuple[str, ...]
) -> None:
    source = streamed_wav(root / CLIP, root / "episodes/audio/streamed.wav", *args)
    length = seconds_of(source)
    assert 7.0 < length < 8.5
    assert audio.probe(source).duration == pytest.approx(length, abs=0.01)
    mp3 = publish_with(root, source)
    assert MP3(mp3).info.length == pytest.approx(length, abs=0.1)
    assert load_state(root / STATE).episodes[GUID].duration == pytest.approx(length, abs=0.1)
    feed = (root / "feeds/interviews.xml").read_text()
    assert f"<itunes:duration>{round(length)}</itunes:duration>" in feed


def _patch_sizes(path: Path, riff: int | None = None, data: int | None = None) -> Path:
    raw = bytearray(path.read_bytes())
    at = raw.index(b"data")
    if riff is not None:
        raw[4:8] = struct.pack("<I", riff)
    if data is not None:
        raw[at + 4 : at + 8] = struct.pack("<I", data)
    path.write_bytes(bytes(raw))
    return path


def _tone(path: Path, seconds: float = 2.0) -> Path:
    t = np.arange(int(seconds * 48000)) / 48000
    return write_wav(path, (0.3 * np.sin(2 * np.pi * 440 * t))[:, None])


def test_an_unchanged_recording_is_described_by_ffmpeg_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """publish probes a recording for its refusal check and again for its encode: the second
    look at the same file costs no ffmpeg run, and a changed file is looked at again."""
    from dfl_audio import ffmpeg

    described: list[Path] = []
    real_describing = ffmpeg.describing

    def counted(path: Path) -> contextlib.AbstractContextManager[ffmpeg.Description]:
        described.append(path)
        return real_describing(path)

    monkeypatch.setattr(ffmpeg, "describing", counted)
    path = _tone(tmp_path / "tone.wav", seconds=2.0)
    assert audio.probe(path) == audio.probe(path)
    assert len(described) == 1
    _tone(tmp_path / "tone.wav", seconds=3.0)  # rewritten in place: another length
    assert audio.probe(path).duration == pytest.approx(3.0, abs=1e-6)
    assert len(described) == 2


@pytest.mark.parametrize(
    ("riff", "data"),
    [
        (0xFFFFFFFF, 0xFFFFFFFF),  # ffmpeg to a pipe
        (0xFFFFFFFF, 0x7FFFFFFF),  # RIFF unknown, data size a guess past the end
        (0x7FFFF024, 0x7FFFF000),  # SoX to a pipe (its MS_UNSPEC)
    ],
    ids=["ffmpeg", "riff-unknown", "sox"],
)
def test_unknown_sizes_mean_to_the_end_of_the_file(tmp_path: Path, riff: int, data: int) -> None:
    path = _patch_sizes(_tone(tmp_path / "tone.wav"), riff, data)
    found = wav_data(path)
    assert found is not None and found.streamed and not found.truncated
    assert audio.probe(path).duration == pytest.approx(2.0, abs=1e-6)
    layout = wav_layout(path)
    assert layout is not None and layout.frames == 96000
    assert sum(len(chunk) for chunk in wav_chunks(path, layout)) == 96000


def test_a_known_data_size_is_kept_when_only_the_riff_size_is_unknown(tmp_path: Path) -> None:
    """Bytes after the data chunk (a trailing LIST chunk) are not samples."""
    path = _patch_sizes(_tone(tmp_path / "tone.wav"), riff=0xFFFFFFFF)
    path.write_bytes(path.read_bytes() + b"LIST\x04\x00\x00\x00INFO")
    found = wav_data(path)
    assert found is not None and not found.streamed
    assert found.size == 96000 * 2
    assert audio.probe(path).duration == pytest.approx(2.0, abs=1e-6)


def test_a_wav_cut_short_is_still_truncated(tmp_path: Path) -> None:
    """A header with real sizes that promises more than the file holds: a copy cut short."""
    path = _tone(tmp_path / "tone.wav")
    path.write_bytes(path.read_bytes()[: 44 + 96000])  # half the samples
    with pytest.raises(AudioError) as caught:
        audio.probe(path)
    assert str(caught.value) == (
        f"{path}: truncated WAV: header says 2.00 s but the file holds at most 1.00 s"
    )


def test_a_dc_offset_does_not_make_the_episode_quieter(root: Path, tmp_path: Path) -> None:
    """+0.3 of DC under speech once published 13.5 LU too quiet: the 40 Hz high-pass removes
    it before measuring, so the MP3 lands on -16 LUFS by ffmpeg's own meter."""
    voice = speech(tmp_path, 10.0)
    clean = export(voice, tmp_path, "clean", "wav16", gain_db=-10, rate=44100, channels=1)
    layout = wav_layout(clean)
    assert layout is not None
    samples = np.concatenate(list(wav_chunks(clean, layout))).astype(np.float64)
    shifted = write_wav(root / "episodes/audio/dc.wav", samples + 0.3, rate=44100)
    assert float(np.mean(samples + 0.3)) == pytest.approx(0.3, abs=0.01)
    mp3 = publish_with(root, shifted)
    lufs, true_peak = integrated_and_true_peak(mp3)
    assert lufs == pytest.approx(-16.0, abs=0.3)
    assert true_peak <= -1.0 + 0.05
    start = _decoded_start(mp3, seconds=0.05)  # the filter starts settled: no thump
    assert float(np.abs(start).max()) < 0.03, float(np.abs(start).max())


def _decoded_start(mp3: Path, seconds: float) -> np.ndarray:  # type: ignore[type-arg]
    import subprocess

    cmd = ["ffmpeg", "-v", "error", "-i", str(mp3), "-t", str(seconds), "-f", "f32le", "-"]
    return np.frombuffer(subprocess.run(cmd, capture_output=True, check=True).stdout, "<f4")
