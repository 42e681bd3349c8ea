"""Temp files and folders that name their owner, and the sweep that removes a dead owner's.

A run stopped by SIGKILL (or a power cut) cannot clean up after itself. Every temp file and
folder dfl-audio makes therefore carries the PID of the process that made it:

- files beside their target: ``.<name>.dfl-<pid>-<random>.tmp`` (see :func:`create_temp_file`);
- work folders in ``$TMPDIR``: ``dfl-audio-<pid>-<random>`` (see :func:`work_dir`).

The next run that writes into a folder removes the ones whose owner is gone, and only those:
a concurrent run's files are left alone while its process lives. A PID that was reused by an
unrelated process only delays a removal to a later run, it never removes a live run's file.

New files are opened with mode ``0o666`` so the kernel applies the umask (0644 by default):
what is published must stay readable by the web server it is copied to.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import secrets
import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger(__name__)

FILE_MODE = 0o666  # before the umask, as open(2) and every editor create files
_FILE_TAG = "dfl"
_DIR_PREFIX = "dfl-audio-"
_TEMP_FILE = re.compile(r"^\..+\.dfl-(?P<pid>[0-9]+)-[0-9a-f]+\.tmp$")
_WORK_DIR = re.compile(r"^dfl-audio-(?P<pid>[0-9]+)-[A-Za-z0-9_]+$")

_swept: set[Path] = set()
_swept_lock = threading.Lock()


def temp_name(target_name: str, pid: int | None = None) -> str:
    """The name of a temp file that will become ``target_name``, owned by ``pid``.

    >>> temp_name("interviews.xml", pid=42).startswith(".interviews.xml.dfl-42-")
    True
    >>> owner_of(temp_name("interviews.xml", pid=42))
    42
    """
    owner = os.getpid() if pid is None else pid
    return f".{target_name}.{_FILE_TAG}-{owner}-{secrets.token_hex(4)}.tmp"


def owner_of(name: str) -> int | None:
    """The PID in a temp file's or work folder's name, or None for any other name.

    >>> owner_of("dfl-audio-123-k3j_x9a0"), owner_of("ep.mp3"), owner_of("dfl-audio-k3j_x9a0")
    (123, None, None)
    """
    match = _TEMP_FILE.match(name) or _WORK_DIR.match(name)
    return int(match["pid"]) if match else None


def create_temp_file(target: Path) -> tuple[int, Path]:
    """Open a new temp file beside ``target`` for writing: ``(fd, path)``.

    First removes a dead run's temp files from that folder (once per process and folder).
    The file gets ``0o666`` less the umask, like any file a program creates.
    """
    folder = target.parent
    sweep_folder(folder)
    while True:
        path = folder / temp_name(target.name)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_CLOEXEC, FILE_MODE)
        except FileExistsError:  # pragma: no cover - 32 random bits collided
            continue
        return fd, path


@contextlib.contextmanager
def work_dir() -> Iterator[Path]:
    """A private work folder in ``$TMPDIR``, removed on exit; dead runs' folders go first."""
    sweep_work_dirs()
    with tempfile.TemporaryDirectory(prefix=f"{_DIR_PREFIX}{os.getpid()}-") as folder:
        yield Path(folder)


def sweep_work_dirs() -> list[Path]:
    """Remove ``$TMPDIR/dfl-audio-<pid>-*`` folders of processes that are gone."""
    removed = []
    for path in _dead_owners_in(Path(tempfile.gettempdir()), _WORK_DIR):
        shutil.rmtree(path, ignore_errors=True)
        if not path.exists():
            removed.append(path)
    return removed


def sweep_folder(folder: Path) -> list[Path]:
    """Remove dead runs' temp files from ``folder``; each folder once per process."""
    key = Path(os.path.abspath(folder))
    with _swept_lock:
        if key in _swept:
            return []
        _swept.add(key)
    removed = []
    for path in _dead_owners_in(folder, _TEMP_FILE):
        try:
            path.unlink()
        except FileNotFoundError:
            pass  # another run removed it first
        except OSError as exc:  # a leftover never stops a run: it is only clutter
            log.debug("cannot remove %s: %s", path, exc)
            continue
        removed.append(path)
    return removed


def sweep_tree(root: Path, hidden_dirs: tuple[str, ...] = ()) -> list[Path]:
    """:func:`sweep_folder` for ``root`` and every folder under it (hidden folders only if
    named in ``hidden_dirs``: a storage's own index, never someone's ``.git``)."""
    removed = []
    for folder, dirs, _files in os.walk(root):
        dirs[:] = [name for name in dirs if not name.startswith(".") or name in hidden_dirs]
        removed += sweep_folder(Path(folder))
    return removed


def process_is_alive(pid: int) -> bool:
    """Whether ``pid`` names a running process (a zombie counts as gone)."""
    if pid <= 0:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive, and not ours to judge
    except (OverflowError, OSError):
        return False
    return not _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    """Linux: a killed child whose parent has not reaped it yet still answers kill(pid, 0)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[:1] == ["Z"]


def _dead_owners_in(folder: Path, pattern: re.Pattern[str]) -> Iterator[Path]:
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        match = pattern.match(entry.name)
        if match and not process_is_alive(int(match["pid"])):
            log.debug("removing %s, left by process %s", entry.path, match["pid"])
            yield Path(entry.path)


_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
