"""ffmpeg's own loudness reading of a finished file: the independent judge.

``ebur128=peak=true`` is what the issue's targets are stated in; tests and benchmarks judge
every MP3 the engine writes by it (the engine itself reads the growing MP3 more cheaply, see
:mod:`dfl_audio.ffmpeg_growing`, and is tested against this).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from dfl_audio.errors import AudioError
from dfl_audio.ffmpeg import base_command

_EBUR128_OPTIONS = "peak=true:framelog=verbose"  # per-frame lines only at -v verbose


def ebur128(path: Path) -> tuple[float, float]:
    """(integrated LUFS, true peak dBTP) of a file by ffmpeg's own ``ebur128=peak=true``."""
    cmd = [*base_command(), "-nostats", "-v", "info", "-i", str(path), "-map", "0:a:0"]
    cmd += ["-filter:a", f"ebur128={_EBUR128_OPTIONS}", "-f", "null", "-"]
    try:
        done = subprocess.run(cmd, capture_output=True, timeout=3600, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise AudioError(f"ffmpeg ebur128 failed: {exc}", path, exc) from exc
    return _ebur128_summary(done.stderr.decode("utf-8", "replace"), done.returncode, path)


def _ebur128_summary(text: str, returncode: int, path: Path) -> tuple[float, float]:
    summary = text[text.rfind("Summary:") :]
    lufs = re.search(r"I:\s+(-?[\d.]+|-inf) LUFS", summary)
    peak = re.search(r"Peak:\s+(-?[\d.]+|-inf) dBFS", summary)
    if returncode != 0 or "Summary:" not in text or not lufs or not peak:
        last = text.strip().splitlines()[-1:] or ["no output"]
        raise AudioError(f"ffmpeg ebur128 gave no summary: {last[0]}", path)
    return float(lufs.group(1)), float(peak.group(1))
