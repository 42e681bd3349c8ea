"""What the engine holds while LAME runs does not grow with the episode (issue 7, item 4).

tracemalloc sees numpy's buffers. It samples what is allocated at progress calls of the encode
(the whole encode pass, LAME running) for a short and a ten times longer recording, and
compares the medians: the profile, the leveler's plan and the gain curve are parked on disk,
so the two agree. Left out, as timing and not length: what sits in the encoder's and the
check's pipe queues at a given moment, and the IIR filters' per-chunk scratch (the MP3 check
meters in its own thread). Before the parking, 400 s held ~0.75 MB more than 40 s (21 bytes
per 10 ms). Now it holds 120-180 KB more, from run to run: what the threads hold at the
sampled moment, and CPython's tuple free list keeping the leveler's run list (up to 2,000
tuples). The bound, 300 KB, sits between that noise and the regression it guards against.
"""

from __future__ import annotations

import statistics
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from audio_fixtures import write_wav

from dfl_audio import audio, ffmpeg
from dfl_audio.audio import filters
from dfl_audio.models.show import AudioSettings

RATE = 44100
SHIPPED = AudioSettings(channels=1, bitrate=96, sample_rate=RATE)


def _interview(path: Path, seconds: float) -> Path:
    """Two 'voices' of band noise 8 dB apart, alternating every 4 s, with pauses between."""
    rng = np.random.default_rng(7)
    n = int(seconds * RATE)
    noise = np.convolve(rng.standard_normal(n), np.ones(8) / 8, mode="same")
    turn = (np.arange(n) // (4 * RATE)) % 2
    level = np.where(turn == 0, 0.05, 0.05 * 10 ** (-8 / 20))
    syllables = (np.sin(2 * np.pi * 3 * np.arange(n) / RATE) > -0.3).astype(float)
    pause = (np.arange(n) % (4 * RATE)) < 0.3 * RATE
    frames = noise * level * syllables * ~pause
    return write_wav(path, frames[:, None], RATE)


def _held_while_encoding(src: Path, workdir: Path) -> int:
    probe = audio.probe(src)
    measurement = audio.measure(src, probe, SHIPPED, workdir=workdir)
    held: list[int] = []
    calls: list[int] = []
    pipe_queues = tracemalloc.Filter(False, ffmpeg.__file__)
    filter_scratch = tracemalloc.Filter(False, filters.__file__)

    def sample(_: float) -> None:
        calls.append(1)
        if len(calls) % 4:
            return
        snapshot = tracemalloc.take_snapshot().filter_traces([pipe_queues, filter_scratch])
        held.append(sum(stat.size for stat in snapshot.statistics("filename")))

    tracemalloc.start()
    try:
        audio.normalize_to_mp3(src, workdir / "out.mp3", probe, measurement, SHIPPED, sample)
    finally:
        tracemalloc.stop()
        measurement.close()
    assert len(held) >= 1
    return int(statistics.median(held))


@pytest.mark.slow
def test_memory_held_through_the_encode_is_flat_with_length(tmp_path: Path) -> None:
    # the first encode in a process also holds what is allocated once (~1 MB: caches, the
    # filters' matrices); measured first, the short run would hide any growth
    _held_while_encoding(_interview(tmp_path / "warm.wav", 20), tmp_path)
    short = _held_while_encoding(_interview(tmp_path / "short.wav", 40), tmp_path)
    long = _held_while_encoding(_interview(tmp_path / "long.wav", 400), tmp_path)
    assert long - short < 300 * 1024, (short, long)
