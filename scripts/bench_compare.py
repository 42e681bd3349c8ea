"""Two or more commits of the engine, side by side with bare ffmpeg, on one long interview.

    .venv/bin/python scripts/bench_compare.py a433658 HEAD --minutes 10 --rounds 12

Each commit is checked out into its own worktree and publishes the generated two-voice
interview through the whole CLI (a fresh project each time, the shipped settings), with bare
``ffmpeg`` making the same format in the same round; the order rotates every round, so load
that drifts on a shared machine hits all alike. The table gives every round's wall time and
ratio to that round's bare run, then per commit the median of the ratios and the ratio of the
medians. Use it to tell whether a change made the engine faster: on these machines one run
of the same command varies by a quarter, so only many interleaved rounds say.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_audio import ROOT, bare_command, ours, timed
from corpus import Recording, make_recording  # tests/, which bench_audio put on the path
from corpus_project import SETTINGS, Setting


def checkout(commit: str, into: Path) -> Path:
    """A detached worktree of ``commit`` (the caller removes it)."""
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(into), commit],
        check=True,
    )
    return into


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("commits", nargs="+", help="git revisions to compare")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--work", type=Path, default=ROOT / "bench-work")
    args = parser.parse_args()
    setting = SETTINGS["shipped"]
    recording = make_recording("two-voices", args.work / "long", args.minutes * 60)
    with tempfile.TemporaryDirectory(prefix="bench-compare-") as folder:
        trees = {c: checkout(c, Path(folder) / f"tree-{i}") for i, c in enumerate(args.commits)}
        try:
            walls = compare(trees, recording, setting, args)
        finally:
            for tree in trees.values():
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)])
    summary(walls)


def compare(
    trees: dict[str, Path], recording: Recording, setting: Setting, args: argparse.Namespace
) -> dict[str, list[float]]:
    """Every round: each commit and bare, the order rotated; prints a row per round."""
    tools = [*trees, "bare"]
    walls: dict[str, list[float]] = {tool: [] for tool in tools}
    print("| round | " + " | ".join(tools) + " |")
    print("| --- " * (len(tools) + 1) + "|")
    for number in range(args.rounds):
        shift = number % len(tools)
        for tool in tools[shift:] + tools[:shift]:
            if tool == "bare":
                run = timed(bare_command(recording.path, args.work / "bare.mp3", setting))
            else:
                run, _, _ = ours(recording, setting, args.work / "project-compare", trees[tool])
            walls[tool].append(run.seconds)
        bare = walls["bare"][-1]
        cells = [f"{walls[t][-1]:.2f} s ({walls[t][-1] / bare:.2f}x)" for t in trees]
        print(f"| {number + 1} | " + " | ".join(cells) + f" | {bare:.2f} s |", flush=True)
    return walls


def summary(walls: dict[str, list[float]]) -> None:
    """Per commit: the median of its per-round ratios and the ratio of the medians."""
    bare = walls["bare"]
    print("\n| commit | median wall | median of ratios | ratio of medians |")
    print("| --- | --- | --- | --- |")
    for tool, seconds in walls.items():
        if tool == "bare":
            continue
        ratios = [ours / ref for ours, ref in zip(seconds, bare, strict=True)]
        print(
            f"| {tool} | {statistics.median(seconds):.2f} s | {statistics.median(ratios):.3f}x "
            f"| {statistics.median(seconds) / statistics.median(bare):.3f}x |"
        )
    print(f"| bare ffmpeg | {statistics.median(bare):.2f} s | | |")


if __name__ == "__main__":
    sys.exit(main())
