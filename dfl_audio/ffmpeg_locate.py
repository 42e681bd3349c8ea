"""Which ffmpeg dfl-audio runs: ``$DFL_AUDIO_FFMPEG``, else the system one, else the wheel's.

On a fresh machine without a system ffmpeg we fall back to the static binary in the
``imageio-ffmpeg`` wheel (it has libmp3lame). ``ffmpeg -version`` proves the binary works and
names its build (the MP3 calibration is kept per build); its answer is kept in the user's
cache for as long as the binary's inode, size and modification time stay the same, so a
publish does not spend a process start on it every time.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from typing import Literal

from dfl_audio import user_cache
from dfl_audio.errors import AudioError

ENV_VAR = "DFL_AUDIO_FFMPEG"
VERSION_CACHE = "ffmpeg-version.json"


@dataclass(frozen=True)
class FfmpegInfo:
    """Which ffmpeg we run, for ``dfl-audio doctor``; ``forced`` when set by the env var."""

    path: str
    version: str
    source: Literal["system", "imageio-ffmpeg"]
    forced: bool = False


@functools.cache
def ffmpeg_info() -> FfmpegInfo:
    """Locate ffmpeg: ``$DFL_AUDIO_FFMPEG``, else the system one on PATH, else imageio's."""
    forced = os.environ.get(ENV_VAR)
    if forced:
        return _info_for(forced, forced=True)
    system = shutil.which("ffmpeg")
    if system:
        return _info_for(system, forced=False)
    return _info_for(_imageio_exe(), forced=False)


def _imageio_exe() -> str:
    try:
        import imageio_ffmpeg

        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except Exception as exc:  # the wheel raises RuntimeError when its binary is missing
        raise AudioError(
            "ffmpeg not found: install ffmpeg or the imageio-ffmpeg package", original=exc
        ) from exc


def _info_for(path: str, *, forced: bool) -> FfmpegInfo:
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise AudioError(f"ffmpeg is not an executable file (from ${ENV_VAR}?)", path)
    found = os.stat(path)
    key = f"{path}|{found.st_ino}|{found.st_size}|{found.st_mtime_ns}"
    version = user_cache.recall(VERSION_CACHE, key)
    if not isinstance(version, str):
        version = _version_of(path)
        user_cache.remember(VERSION_CACHE, key, version)
    source: Literal["system", "imageio-ffmpeg"] = (
        "imageio-ffmpeg" if "imageio_ffmpeg" in path else "system"
    )
    return FfmpegInfo(path=path, version=version, source=source, forced=forced)


def _version_of(path: str) -> str:
    """Run ``ffmpeg -version`` (~0.1 s): the binary works, and which build it is."""
    try:
        done = subprocess.run(
            [path, "-hide_banner", "-version"], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise AudioError(f"cannot run ffmpeg: {exc}", path, exc) from exc
    first = done.stdout.splitlines()[0] if done.stdout else ""
    match = re.match(r"ffmpeg version (\S+)", first)
    if done.returncode != 0 or not match:
        raise AudioError("not a working ffmpeg (-version failed)", path)
    return match.group(1)
