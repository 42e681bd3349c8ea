"""CPU cost of the MP3 check: ffmpeg's ebur128=peak=true against the engine's check.

The engine's check (audio/encode.py Mp3Check) decodes the MP3 once in ffmpeg, which reads
the true peak, and meters the loudness of the decoded frames in Python. This times both on
finished MP3s (child CPU for ffmpeg, thread CPU for the Python meter) and prints their readings:

    .venv/bin/python scripts/bench_mp3_check.py out1.mp3 out2.mp3 --rounds 2
"""

from __future__ import annotations

import argparse
import resource
import threading
import time
from pathlib import Path

from dfl_audio import ffmpeg, ffmpeg_growing
from dfl_audio.audio.meter import LoudnessMeter
from dfl_audio.audio.probe import probe


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def ebur128(path: Path) -> tuple[tuple[float, float], float]:
    before = _children_cpu()
    reading = ffmpeg.ebur128(path)
    return reading, _children_cpu() - before


def engine(path: Path) -> tuple[tuple[float, float], float, float]:
    found = probe(path)
    before, own = _children_cpu(), time.thread_time()
    finished = threading.Event()
    finished.set()  # the file is complete: follow it to its end
    meter = LoudnessMeter(found.sample_rate, found.channels)
    with ffmpeg_growing.decode_growing(path, finished, found.channels) as decode:
        for frames in decode.chunks(1 << 15):
            meter.feed(frames)
        peak = decode.true_peak_dbtp()
    reading = (meter.integrated_lufs(), peak)
    return reading, _children_cpu() - before, time.thread_time() - own


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mp3", type=Path, nargs="+")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    print("| MP3 | ebur128=peak=true CPU | engine: ffmpeg + Python CPU | ebur128 | engine |")
    print("| --- | --- | --- | --- | --- |")
    for path in args.mp3:
        for _ in range(args.rounds):
            (lufs, peak), cpu = ebur128(path)
            (ours_lufs, ours_peak), child, python = engine(path)
            print(
                f"| {path.name} | {cpu:.2f} s | {child:.2f} s + {python:.2f} s "
                f"| {lufs:.1f}, {peak:.1f} | {ours_lufs:.3f}, {ours_peak:.3f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
