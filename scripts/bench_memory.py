"""Memory of a whole `dfl-audio publish` against the episode's length (issue 7: flat).

Publishes the corpus's two-voice interview (48 kHz stereo, shipped settings) of each length
through the CLI, in a fresh project, sampling every 100 ms the resident memory of the Python
process alone and of the whole process tree (Python plus its ffmpeg children), and prints
the peaks as a Markdown table for docs/benchmarks.md:

    .venv/bin/python scripts/bench_memory.py --minutes 10 60 180
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from bench_audio import ROOT, TreeRss
from corpus import make_recording
from corpus_project import SETTINGS, make_project


def peaks(minutes: float, work: Path) -> tuple[int, int, float]:
    """(peak Python RSS, peak tree RSS, wall seconds) of one publish."""
    recording = make_recording("two-voices", work / "long", minutes * 60)
    project = make_project(work / f"project-{minutes:g}", SETTINGS["shipped"])
    cmd = [sys.executable, "-m", "dfl_audio", *project.publish_args(recording)]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    tree = TreeRss(proc.pid)
    own = 0
    while proc.poll() is None:
        own = max(own, tree.rss_of(proc.pid))
        time.sleep(0.1)
    _, err = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"publish failed: {err.decode()[-2000:]}")
    return own, tree.stop(), time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, nargs="+", default=[10, 60, 180])
    parser.add_argument("--work", type=Path, default=ROOT / "bench-work" / "memory")
    args = parser.parse_args()
    print("| input | peak RSS, Python | peak RSS, tree | wall |")
    print("| --- | --- | --- | --- |")
    for minutes in args.minutes:
        own, whole, wall = peaks(minutes, args.work)
        print(f"| {minutes:g} min | {own >> 20} MB | {whole >> 20} MB | {wall:.0f} s |", flush=True)


if __name__ == "__main__":
    main()
