"""Filesystem helpers shared by every stage: atomic writes and content hashes."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from dfl_audio.errors import os_error
from dfl_audio.leftovers import create_temp_file


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so a crash leaves either the old file or the new one.

    The temp file sits in the same folder (same filesystem), names its owner so a killed
    run's copy is removed by the next one, and is fsynced before the rename. The file gets
    the umask's mode (0644 by default), never a private 0600.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_path = create_temp_file(path)
    except OSError as exc:
        raise os_error(exc, path, "cannot write") from exc
    try:
        with os.fdopen(fd, "wb") as tmp:
            tmp.write(data)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.replace(tmp_path, path)
    except OSError as exc:
        tmp_path.unlink(missing_ok=True)
        raise os_error(exc, path, "cannot write") from exc
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def file_digest(path: Path, algorithm: str = "sha256") -> str:
    """Hex digest of a file, read in chunks so hour-long audio stays out of memory."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, algorithm).hexdigest()


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file: the content address of everything dfl-audio stores."""
    return file_digest(path, "sha256")


def sha256_bytes(data: bytes) -> str:
    """Hex SHA-256 of bytes.

    >>> sha256_bytes(b"")[:12]
    'e3b0c44298fc'
    """
    return hashlib.sha256(data).hexdigest()
