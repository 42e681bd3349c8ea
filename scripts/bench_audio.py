"""Benchmark the audio engine against bare ffmpeg and ffmpeg-normalize on realistic speech.

    .venv/bin/python scripts/bench_audio.py --minutes 10 60 [--work bench-work]

Makes an N-minute 48 kHz stereo 16-bit WAV of an espeak-ng conversation (four voices at
different levels and positions, pauses between turns), streamed into the file turn by turn.
Then, side by side on the same file, times: bare ``ffmpeg -i in.wav -c:a libmp3lame -b:a 128k``;
our probe + measure + normalize_to_mp3 (128k stereo 48 kHz, -16 LUFS, -1 dBTP); and
ffmpeg-normalize (EBU R128 -16 LUFS, -1 dBTP, libmp3lame 128k). Each runs as its own process
tree; a sampler sums VmRSS over the whole tree (Python and every ffmpeg child) every 50 ms,
and the peak of that sum is reported. Every output is re-measured by ffmpeg ebur128.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
import wave
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dfl_audio import audio  # noqa: E402
from dfl_audio.ffmpeg import ffmpeg_info  # noqa: E402
from dfl_audio.models import AudioSettings  # noqa: E402

RATE = 48000
SENTENCES = [
    "So let's start at the beginning. What problem were you trying to solve?",
    "We had models that worked on short sequences, but everything fell apart past a few "
    "thousand tokens.",
    "And the obvious fix, making the window bigger, costs quadratic memory.",
    "Right. So the question became whether you could approximate the attention matrix "
    "without ever building it.",
    "That's where the kernel view comes in. You can write softmax attention as an expectation.",
    "Interesting. And how did the experiments hold up against the exact baseline?",
    "Honestly, better than we expected on language modeling, and worse on retrieval.",
    "Let me push on that. Why retrieval, specifically?",
    "Because retrieval needs sharp attention, and random features blur the peaks.",
    "Okay. For listeners who want to go deeper, which paper should they read first?",
]
# (espeak voice, words per minute, pitch, level dB, pan -1..1)
VOICES = [
    ("en-us", 160, 40, -3.0, -0.2),
    ("en-gb", 175, 60, -11.0, 0.3),
    ("en-gb-scotland", 150, 30, -7.0, 0.1),
    ("en-us+f3", 170, 70, -15.0, -0.4),
]


def make_clips(work: Path) -> list[list[np.ndarray]]:
    """Every sentence by every voice, at 48 kHz stereo float, level and pan applied."""
    from scipy import signal  # here, so the timed child process does not import it

    clips: list[list[np.ndarray]] = []
    for index, (voice, speed, pitch, level, pan) in enumerate(VOICES):
        per_voice = []
        for number, text in enumerate(SENTENCES):
            wav = work / f"clip{index}_{number}.wav"
            cmd = ["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", str(wav)]
            subprocess.run([*cmd, text], check=True, capture_output=True)
            with wave.open(str(wav)) as handle:
                rate = handle.getframerate()
                mono = np.frombuffer(handle.readframes(handle.getnframes()), "<i2") / 32768
            mono = signal.resample_poly(mono, RATE // 100, rate // 50) if rate != RATE else mono
            mono = mono * 10 ** (level / 20) / max(1e-9, np.abs(mono).max()) * 0.9
            left, right = np.sqrt((1 - pan) / 2), np.sqrt((1 + pan) / 2)
            per_voice.append(np.stack([mono * left * 1.41, mono * right * 1.41], axis=1))
            wav.unlink()
        clips.append(per_voice)
    return clips


def make_input(path: Path, minutes: float, work: Path) -> None:
    """Stream a conversation of ``minutes`` into a 16-bit WAV, one turn at a time."""
    if path.exists():
        return
    clips = make_clips(work)
    rng = np.random.default_rng(42)
    total = int(minutes * 60 * RATE)
    written = 0
    partial = path.with_suffix(".partial.wav")
    with wave.open(str(partial), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(RATE)
        while written < total:
            speaker = int(rng.integers(len(VOICES)))
            turn = [clips[speaker][int(rng.integers(len(SENTENCES)))] for _ in range(3)]
            pause = rng.uniform(0.3, 1.5) if rng.random() > 0.05 else rng.uniform(3, 6)
            noise = rng.standard_normal((int(pause * RATE), 2)) * 10 ** (-62 / 20)
            data = np.concatenate([*turn, noise])[: total - written]
            out.writeframes(np.round(np.clip(data, -1, 1) * 32767).astype("<i2").tobytes())
            written += len(data)
    partial.rename(path)


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

    def _rss(self, pid: int) -> int:
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
            self.peak = max(self.peak, sum(self._rss(pid) for pid in self._tree(self.pid)))
            time.sleep(0.05)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


def timed(cmd: list[str]) -> tuple[float, int, str]:
    """Wall seconds, peak tree RSS (bytes) and stdout of a command."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    sampler = TreeRss(proc.pid)
    out, err = proc.communicate()
    peak = sampler.stop()
    if proc.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{err.decode()[-2000:]}")
    return time.perf_counter() - start, peak, out.decode()


def run_ours(src: Path, dst: Path, sample_rate: int) -> None:
    """The child-process side: exactly what publish does for one episode."""
    settings = AudioSettings(sample_rate=sample_rate, channels=2, bitrate=128)
    t0 = time.perf_counter()
    found = audio.probe(src)
    measured = audio.measure(src, found)
    t1 = time.perf_counter()
    result = audio.normalize_to_mp3(src, dst, found, measured, settings)
    t2 = time.perf_counter()
    info = {
        "measure_s": t1 - t0,
        "encode_s": t2 - t1,
        "input_lufs": measured.integrated_lufs,
        "input_tp": measured.true_peak_dbtp,
        "gain_db": result.gain_db,
        "limited": result.limited,
        "limiter_max_reduction_db": result.limiter_max_reduction_db,
        "pcm_lufs": result.output_lufs,
        "pcm_tp": result.pcm_true_peak_dbtp,
        "mp3_tp_ours": result.output_true_peak_dbtp,
        "limiter_margin_db": result.limiter_margin_db,
        "guard_reencodes": result.guard_reencodes,
        "passes": result.passes,
        "mp3_level_offset_db": result.mp3_level_offset_db,
    }
    print(json.dumps(info))


def bench(minutes: float, work: Path, sample_rate: int, rounds: int, fnorm: bool) -> list[str]:
    """Each round times bare ffmpeg and ours (order alternating between rounds, so drifting
    load from other jobs hits both alike), ffmpeg-normalize in the first round only."""
    src = work / f"speech-{minutes:g}min.wav"
    make_input(src, minutes, work)
    ff = ffmpeg_info().path
    py = sys.executable
    rows = []
    variants = {
        "bare ffmpeg": [
            *[ff, "-v", "error", "-y", "-i", str(src), "-c:a", "libmp3lame"],
            *["-b:a", "128k", str(work / "bare.mp3")],
        ],
        "dfl-audio": [
            *[py, __file__, "--run-ours", str(src), str(work / "ours.mp3")],
            *["--rate", str(sample_rate)],
        ],
        "ffmpeg-normalize": [
            *[str(Path(py).parent / "ffmpeg-normalize"), str(src), "-nt", "ebu"],
            *["-t", "-16", "-tp", "-1", "-c:a", "libmp3lame", "-b:a", "128k", "-ar", "48000"],
            *["-o", str(work / "fnorm.mp3"), "-f", "-q"],
        ],
    }
    outputs = {"bare ffmpeg": "bare.mp3", "dfl-audio": "ours.mp3", "ffmpeg-normalize": "fnorm.mp3"}
    for number in range(rounds):
        order = ["bare ffmpeg", "dfl-audio"]
        if number % 2:
            order.reverse()
        if fnorm and number == 0:
            order.append("ffmpeg-normalize")
        times = {}
        for name in order:
            seconds, peak, stdout = timed(variants[name])
            times[name] = seconds
            if stdout.strip():
                print(f"<!-- {name}: {stdout.strip()} -->", flush=True)
            lufs, tp = audio.measure_file_with_ffmpeg(work / outputs[name])
            rows.append(
                f"| {minutes:g} min | {name} (round {number + 1}) | {seconds:.1f} s | "
                f"{{ratio}} | {peak / 2**20:.0f} MB | {lufs:.1f} | {tp:.1f} |"
            )
        for index in range(len(rows) - len(order), len(rows)):
            name = order[index - len(rows) + len(order)]
            rows[index] = rows[index].format(ratio=f"{times[name] / times['bare ffmpeg']:.2f}")
            print(rows[index], flush=True)
        if "ffmpeg-normalize" in times:
            ratio = times["ffmpeg-normalize"] / times["dfl-audio"]
            rows.append(
                f"| {minutes:g} min | speed-up vs ffmpeg-normalize | {ratio:.2f}x | | | | |"
            )
            print(rows[-1], flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, nargs="+", default=[10.0])
    parser.add_argument("--work", type=Path, default=ROOT / "bench-work")
    parser.add_argument("--rate", type=int, default=48000, help="our output sample rate")
    parser.add_argument("--rounds", type=int, default=1, help="bare/ours pairs, order alternating")
    parser.add_argument("--no-fnorm", action="store_true", help="skip ffmpeg-normalize")
    parser.add_argument("--run-ours", nargs=2, type=Path, metavar=("SRC", "DST"))
    args = parser.parse_args()
    if args.run_ours:
        run_ours(*args.run_ours, args.rate)
        return
    args.work.mkdir(parents=True, exist_ok=True)
    print(f"ffmpeg {ffmpeg_info().version} ({ffmpeg_info().source}); {os.cpu_count()} cores")
    print("| input | tool | wall | x bare | peak RSS (tree) | I (LUFS) | TP (dBTP) |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for minutes in args.minutes:
        bench(minutes, args.work, args.rate, args.rounds, not args.no_fnorm)


if __name__ == "__main__":
    main()
