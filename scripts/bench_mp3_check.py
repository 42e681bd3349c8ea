"""CPU cost of the MP3 check: ffmpeg's ebur128=peak=true against the engine's check.

The engine's check (audio/encode.py Mp3Check) decodes the MP3 once in ffmpeg, which reads
the true peak and K-weights the frames, and gates their loudness in Python. This times both on
finished MP3s (child CPU for ffmpeg, process CPU for Python) and prints their readings:

    .venv/bin/python scripts/bench_mp3_check.py out1.mp3 out2.mp3 --rounds 2
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

from dfl_audio import ffmpeg_judge
from dfl_audio.audio.encode import Format, Mp3Check
from dfl_audio.audio.probe import probe


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def ebur128(path: Path) -> tuple[tuple[float, float], float]:
    before = _children_cpu()
    reading = ffmpeg_judge.ebur128(path)
    return reading, _children_cpu() - before


def engine(path: Path) -> tuple[tuple[float, float], float, float]:
    """The encode's own check (Mp3Check) on a finished MP3: its readings and CPU."""
    found = probe(path)
    before, own = _children_cpu(), time.process_time()
    with Mp3Check(path, Format(found.sample_rate, found.channels, 0)) as check:
        measured = check.result()
    reading = (measured.lufs, measured.true_peak_dbtp)
    return reading, _children_cpu() - before, time.process_time() - own


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
