"""Speed of the measure pass and its filters, against the ffmpeg decode it waits on.

The measure pass (audio/measure.py) decodes the recording once in ffmpeg and meters it in
Python; it cannot be faster than that decode. This times, on one recording at the shipped
settings (mono 96k 44.1 kHz unless told otherwise), alternating: the bare decode to the same
PCM, then the whole pass (wall, Python CPU, decoder CPU); and the filters alone, per chunk of
the pass's size on one BLAS thread:

    .venv/bin/python scripts/bench_measure.py RECORDING.wav --rounds 3
"""

from __future__ import annotations

import argparse
import functools
import resource
import subprocess
import time
import timeit
from pathlib import Path

import numpy as np

from dfl_audio.audio import tuning
from dfl_audio.audio.bs1770 import KWeighting
from dfl_audio.audio.filters import highpass
from dfl_audio.audio.measure import measure, one_blas_thread
from dfl_audio.audio.probe import probe
from dfl_audio.ffmpeg import base_command
from dfl_audio.models.show import AudioSettings


def _cpu() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


def bare_decode(path: Path, settings: AudioSettings) -> float:
    """Wall seconds of ffmpeg decoding to the pass's PCM (channels, rate, float32)."""
    command = [*base_command(), "-v", "error", "-i", str(path), "-ac", str(settings.channels)]
    command += ["-ar", str(settings.sample_rate), "-f", "f32le", "-"]
    start = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def measure_pass(path: Path, settings: AudioSettings) -> tuple[float, float, float]:
    """Wall, Python CPU and decoder CPU of one measure pass."""
    found = probe(path)
    start, (own, children) = time.perf_counter(), _cpu()
    measure(path, found, settings).close()
    wall, (own_after, children_after) = time.perf_counter() - start, _cpu()
    return wall, own_after - own, children_after - children


def filter_microseconds(rate: int, channels: int) -> dict[str, float]:
    """Best time per chunk of each filter (the pass's chunk size, one BLAS thread)."""
    noise = np.random.default_rng(0).standard_normal((tuning.CHUNK_FRAMES, channels)) * 0.1
    frames = noise.astype(np.float32)
    filters = {"high-pass": highpass(rate, tuning.HIGHPASS_HZ, channels)}
    filters["K-weighting"] = KWeighting(rate, channels)
    best = {}
    with one_blas_thread():
        for name, stage in filters.items():
            runs = timeit.repeat(functools.partial(stage.process, frames), number=30, repeat=5)
            best[name] = min(runs) / 30 * 1e6
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("recording", type=Path)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--channels", type=int, default=1, choices=(1, 2))
    parser.add_argument("--rate", type=int, default=44100, choices=(44100, 48000))
    args = parser.parse_args()
    settings = AudioSettings(channels=args.channels, bitrate=96, sample_rate=args.rate)
    print("| round | bare decode wall | measure pass wall | Python CPU | decoder CPU |")
    print("| --- | --- | --- | --- | --- |")
    for round_ in range(1, args.rounds + 1):
        bare = bare_decode(args.recording, settings)
        wall, python, decoder = measure_pass(args.recording, settings)
        print(
            f"| {round_} | {bare:.2f} s | {wall:.2f} s | {python:.2f} s | {decoder:.2f} s |",
            flush=True,
        )
    for channels in sorted({1, args.channels}):
        timing = filter_microseconds(args.rate, channels)
        shown = ", ".join(f"{name} {us:.0f} us" for name, us in timing.items())
        print(f"\nper {tuning.CHUNK_FRAMES}-frame chunk, {channels} channel(s): {shown}")


if __name__ == "__main__":
    main()
