"""Benchmark the audio engine through the whole CLI on the generated interview corpus.

    .venv/bin/python scripts/bench_audio.py --seconds 60 [--recordings two-voices hot]
        [--settings shipped stereo128] [--rounds 2] [--work bench-work]
    .venv/bin/python scripts/bench_audio.py --long 10 60 180 [--no-fnorm]

Corpus mode: every recording of ``tests/corpus.py`` (two voices 8 dB apart, phone guest, 96 kHz,
music intro, clipped, noisy room, very quiet, hot, 8 kHz MP3) is published by
``python -m dfl_audio --root PROJECT publish --json EPISODE --storage DIR`` in a fresh temp
project per (recording, setting, round), exactly as an editor would. Side by side, bare
``ffmpeg -i SRC -ac C -ar R -c:a libmp3lame -b:a Bk`` makes the same format (the order
alternates between rounds, so drifting load from other jobs hits both alike). The MP3 is
re-measured by ffmpeg ``ebur128`` (I, TP) and compared with its source by
``tests/voice_metrics.py`` (voices apart, per-sentence crest loss); the engine's own
``audio_report`` fields are printed where the record has them, ``-`` otherwise.

Long mode: a two-voice interview of N minutes at the shipped settings, ours vs bare ffmpeg
(and ffmpeg-normalize, a benchmark-only ``pip install ffmpeg-normalize`` into .venv, in the
first round); target: ours at least 3.5x faster than ffmpeg-normalize.

Each command runs as its own process tree; a sampler sums VmRSS over the whole tree (Python
and every ffmpeg child) every 50 ms, and the peak of that sum is reported. Output is markdown
table rows (for docs/benchmarks.md), each followed by an HTML comment holding its JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from corpus import NAMES, Recording, make_corpus, make_recording  # noqa: E402
from corpus_project import SETTINGS, Setting, make_project, published_record  # noqa: E402
from voice_metrics import Loudness, VoiceReport, compare, ebur128, ffmpeg  # noqa: E402

FNORM_TARGET = 3.5  # ours must be at least this much faster than ffmpeg-normalize


class TreeRss:
    """Peak of the summed VmRSS of a process and all its descendants, sampled from /proc."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _tree(self, pid: int) -> list[int]:
        pids = [pid]
        try:
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children") as handle:
                    for child in handle.read().split():
                        pids += self._tree(int(child))
        except OSError:
            pass
        return pids

    def rss_of(self, pid: int) -> int:
        try:
            with open(f"/proc/{pid}/status") as handle:
                for line in handle:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) * 1024
        except OSError:
            pass
        return 0

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, sum(self.rss_of(pid) for pid in self._tree(self.pid)))
            time.sleep(0.05)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


@dataclass(frozen=True)
class Timed:
    seconds: float
    peak_rss: int
    stdout: str


def timed(cmd: list[str], env: dict[str, str] | None = None) -> Timed:
    """Wall seconds, peak tree RSS (bytes) and stdout of a command; exits if it fails."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    sampler = TreeRss(proc.pid)
    out, err = proc.communicate()
    peak = sampler.stop()
    if proc.returncode != 0:
        raise RuntimeError(f"failed: {' '.join(cmd)}\n{err.decode()[-2000:]}")
    return Timed(time.perf_counter() - start, peak, out.decode())


def bare_command(src: Path, dst: Path, setting: Setting) -> list[str]:
    """The reference: a plain decode + resample + LAME encode to the same format."""
    fmt = ["-ac", str(setting.channels), "-ar", str(setting.sample_rate)]
    lame = ["-c:a", "libmp3lame", "-b:a", f"{setting.bitrate}k"]
    return [ffmpeg(), "-v", "error", "-y", "-i", str(src), *fmt, *lame, str(dst)]


def ours(
    recording: Recording, setting: Setting, root: Path, code: Path | None = None
) -> tuple[Timed, dict[str, Any], Path]:
    """Publish ``recording`` through the CLI in a fresh project at ``root`` (with the
    ``dfl_audio`` package of the checkout ``code``, if given)."""
    shutil.rmtree(root, ignore_errors=True)
    project = make_project(root, setting)
    env = None if code is None else {**os.environ, "PYTHONPATH": str(code)}
    run = timed([sys.executable, "-m", "dfl_audio", *project.publish_args(recording)], env)
    record = published_record(run.stdout)
    return run, record, project.storage / record["audio_key"]


@dataclass
class Row:
    """One (recording, setting): the judge's measures, the engine's report, the timings."""

    recording: str
    setting: str
    loudness: Loudness
    voices: VoiceReport | None
    report: dict[str, Any]
    ours_s: list[float]
    bare_s: list[float]
    ratios: list[float]
    peak_rss: int
    error: str = ""


def side_by_side(recording: Recording, setting: Setting, work: Path, rounds: int) -> Row:
    """``rounds`` of ours and bare ffmpeg (alternating order), then the judge on our MP3."""
    ours_s: list[float] = []
    bare_s: list[float] = []
    peak, mp3 = 0, Path()
    record: dict[str, Any] = {}
    for number in range(rounds):
        order = ["bare", "ours"] if number % 2 == 0 else ["ours", "bare"]
        for which in order:
            if which == "bare":
                dst = work / "bare.mp3"
                bare_s.append(timed(bare_command(recording.path, dst, setting)).seconds)
            else:
                root = work / f"project-{recording.name}-{setting.name}"
                run, record, mp3 = ours(recording, setting, root)
                ours_s.append(run.seconds)
                peak = max(peak, run.peak_rss)
    return Row(
        recording=recording.name,
        setting=setting.name,
        loudness=ebur128(["-i", str(mp3)]),
        voices=compare(recording.path, mp3, recording.sentences),
        report=record.get("audio_report") or {},
        ours_s=ours_s,
        bare_s=bare_s,
        ratios=[a / b for a, b in zip(ours_s, bare_s, strict=True)],
        peak_rss=peak,
    )


def field(report: dict[str, Any], *path: str) -> Any:
    """``report[path...]`` or None."""
    node: Any = report
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    return node


def fmt(value: Any, spec: str = ".1f") -> str:
    return "-" if value is None else format(value, spec) if isinstance(value, float) else str(value)


CORPUS_HEADER = (
    "| recording | setting | I (LUFS) | TP (dBTP) | passes (re-enc L/TP) | gain dB "
    "| voices apart src→out dB | crest loss med (p90) dB | limiter max GR dB / active % "
    "| leveler range dB | ours s | x bare | peak RSS |"
)


def corpus_row(row: Row) -> str:
    """A markdown table row; ``-`` for whatever the engine does not report."""
    rep = row.report
    reenc = field(rep, "reencodes")
    passes = fmt(field(rep, "passes"))
    if isinstance(reenc, dict):
        passes += f" ({fmt(reenc.get('loudness'))}/{fmt(reenc.get('true_peak'))})"
    lim = f"{fmt(field(rep, 'limiter', 'max_reduction_db'))} / "
    lim += fmt(field(rep, "limiter", "active_percent"))
    enabled = field(rep, "leveler", "enabled")
    leveler = "-"
    if enabled is False:
        leveler = "off"
    elif enabled:
        low, high = field(rep, "leveler", "min_gain_db"), field(rep, "leveler", "max_gain_db")
        leveler = f"{fmt(low, '+.1f')}…{fmt(high, '+.1f')}"
    v = row.voices
    apart = f"{v.voices_apart_src_db:.1f}→{v.voices_apart_out_db:.1f}" if v else "-"
    crest = f"{v.crest_loss_median_db:.1f} ({v.crest_loss_p90_db:.1f})" if v else "-"
    cells = [
        row.recording,
        row.setting,
        f"{row.loudness.integrated_lufs:.1f}",
        f"{row.loudness.true_peak_dbtp:.1f}",
        passes,
        fmt(field(rep, "gain_db"), "+.1f"),
        apart,
        crest,
        lim,
        leveler,
        f"{statistics.median(row.ours_s):.1f}",
        f"{statistics.median(row.ratios):.2f}",
        f"{row.peak_rss / 2**20:.0f} MB",
    ]
    return "| " + " | ".join(cells) + " |"


def row_json(row: Row) -> str:
    data = {
        "recording": row.recording,
        "setting": row.setting,
        "I": row.loudness.integrated_lufs,
        "TP": row.loudness.true_peak_dbtp,
        "LRA": row.loudness.lra_lu,
        "audio_report": row.report or None,
        "voices": row.voices.__dict__ if row.voices else None,
        "ours_s": [round(s, 2) for s in row.ours_s],
        "bare_s": [round(s, 2) for s in row.bare_s],
        "peak_rss_mb": round(row.peak_rss / 2**20),
    }
    return f"<!-- {json.dumps(data)} -->"


def bench_corpus(args: argparse.Namespace) -> None:
    folder = args.work / f"corpus-{args.seconds:g}s"
    start = time.perf_counter()
    recordings = make_corpus(folder, args.seconds, names=tuple(args.recordings))
    print(
        f"corpus: {len(recordings)} recordings of {args.seconds:g} s in {folder} "
        f"({time.perf_counter() - start:.0f} s to make or load)\n"
    )
    print(CORPUS_HEADER)
    print("|" + " --- |" * (CORPUS_HEADER.count("|") - 1))
    for recording in recordings:
        for name in args.settings:
            try:
                row = side_by_side(recording, SETTINGS[name], args.work, args.rounds)
            except RuntimeError as exc:
                print(f"| {recording.name} | {name} | failed: {str(exc).splitlines()[-1]} |")
                continue
            print(corpus_row(row))
            print(row_json(row), flush=True)


LONG_HEADER = "| input | tool | wall | x bare | peak RSS (tree) | I (LUFS) | TP (dBTP) |"


def fnorm_command(src: Path, dst: Path, setting: Setting) -> list[str] | None:
    """ffmpeg-normalize to the shipped format, when installed next to this Python."""
    exe = Path(sys.executable).parent / "ffmpeg-normalize"
    if not exe.exists():
        return None
    target = ["-nt", "ebu", "-t", "-16", "-tp", "-1", "-c:a", "libmp3lame"]
    fmt = ["-b:a", f"{setting.bitrate}k", "-ar", str(setting.sample_rate)]
    return [str(exe), str(src), *target, *fmt, "-o", str(dst), "-f", "-q"]


def bench_long(minutes: float, args: argparse.Namespace) -> None:
    """A long two-voice interview at the shipped settings: ours, bare, ffmpeg-normalize."""
    setting = SETTINGS["shipped"]
    start = time.perf_counter()
    recording = make_recording("two-voices", args.work / "long", minutes * 60)
    made = time.perf_counter() - start
    print(
        f"<!-- {minutes:g} min two-voices: {recording.path.stat().st_size / 2**20:.0f} MB, "
        f"{made:.0f} s to make or load -->"
    )
    fnorm = (
        None if args.no_fnorm else fnorm_command(recording.path, args.work / "fnorm.mp3", setting)
    )
    for number in range(args.rounds):
        order = ["bare", "ours"] if number % 2 == 0 else ["ours", "bare"]
        if fnorm and number == 0:
            order.append("ffmpeg-normalize")
        results: dict[str, tuple[Timed, Path]] = {}
        for tool in order:
            if tool == "bare":
                dst = args.work / "bare.mp3"
                results[tool] = (timed(bare_command(recording.path, dst, setting)), dst)
            elif tool == "ours":
                run, _, mp3 = ours(recording, setting, args.work / "project-long")
                results[tool] = (run, mp3)
            elif fnorm:
                results[tool] = (timed(fnorm), args.work / "fnorm.mp3")
        bare = results["bare"][0].seconds
        for tool in order:
            run, mp3 = results[tool]
            judged = ebur128(["-i", str(mp3)])
            print(
                f"| {minutes:g} min | {tool} (round {number + 1}) | {run.seconds:.1f} s "
                f"| {run.seconds / bare:.2f} | {run.peak_rss / 2**20:.0f} MB "
                f"| {judged.integrated_lufs:.1f} | {judged.true_peak_dbtp:.1f} |"
            )
        if "ffmpeg-normalize" in results:
            ratio = results["ffmpeg-normalize"][0].seconds / results["ours"][0].seconds
            verdict = "OK" if ratio >= FNORM_TARGET else f"under the {FNORM_TARGET}x target"
            print(
                f"| {minutes:g} min | speed-up vs ffmpeg-normalize | {ratio:.2f}x ({verdict}) "
                "| | | | |",
                flush=True,
            )


def header() -> None:
    """Where and on what this was measured."""
    version = subprocess.run([ffmpeg(), "-version"], capture_output=True, text=True).stdout
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    print(
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; code at {commit or '?'}; "
        f"{version.split(chr(10))[0]}; Python {sys.version.split()[0]}; "
        f"{os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f}\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="corpus recording length")
    parser.add_argument("--recordings", nargs="+", default=list(NAMES), choices=NAMES)
    parser.add_argument(
        "--settings", nargs="+", default=["shipped", "stereo128"], choices=list(SETTINGS)
    )
    parser.add_argument("--rounds", type=int, default=1, help="ours/bare pairs, order alternating")
    parser.add_argument("--work", type=Path, default=ROOT / "bench-work")
    parser.add_argument(
        "--long",
        type=float,
        nargs="+",
        metavar="MINUTES",
        help="instead of the corpus: a long two-voice interview (speed, memory)",
    )
    parser.add_argument("--no-fnorm", action="store_true", help="skip ffmpeg-normalize")
    args = parser.parse_args()
    args.work = args.work.resolve()
    args.work.mkdir(parents=True, exist_ok=True)
    header()
    if args.long:
        print(LONG_HEADER)
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for minutes in args.long:
            bench_long(minutes, args)
    else:
        bench_corpus(args)


if __name__ == "__main__":
    main()
