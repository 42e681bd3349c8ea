"""Facts about this machine's tools, kept between runs in the user's cache folder.

What the installed ffmpeg is and how its LAME changes the level do not depend on the show, so
they live beside the user (``$DFL_AUDIO_CACHE``, else ``$XDG_CACHE_HOME/dfl-audio``, else
``~/.cache/dfl-audio``), not in a repository. Each fact is keyed by everything it depends on;
a file that is missing, unreadable or cannot be written only means measuring again.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

from dfl_audio.errors import FileAccessError
from dfl_audio.fsutil import atomic_write_bytes

CACHE_ENV_VAR = "DFL_AUDIO_CACHE"


def cache_file(name: str) -> Path:
    """The path of the cache file ``name`` in the user's cache folder."""
    folder = os.environ.get(CACHE_ENV_VAR)
    if not folder:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
        folder = os.path.join(base, "dfl-audio")
    return Path(folder) / name


def recall(name: str, key: str) -> object:
    """The value remembered under ``key`` in cache file ``name``, or None."""
    return _read(cache_file(name)).get(key)


def remember(name: str, key: str, value: object) -> None:
    """Keep ``value`` under ``key`` in cache file ``name`` (best effort: a folder that cannot
    be written, a file where the folder should be, only means measuring again next time)."""
    path = cache_file(name)
    known = _read(path)
    known[key] = value
    with contextlib.suppress(OSError, FileAccessError):
        atomic_write_bytes(path, json.dumps(known, indent=1, sort_keys=True).encode())


def _read(path: Path) -> dict[str, object]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
