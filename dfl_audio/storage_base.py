"""What every storage is: the ``Storage`` protocol and the small pieces its adapters share.

:mod:`dfl_audio.storage` (the local folder, and :func:`~dfl_audio.storage.open_storage`) and
:mod:`dfl_audio.s3` both build on this module and not on each other, so neither import needs
the other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from dfl_audio.errors import ConflictError
from dfl_audio.keys import check_key as check_key  # re-exported: the rule every key follows

Progress = Callable[[int], None]


@dataclass(frozen=True)
class StoredObject:
    """What a storage holds under a key; ``sha256`` is None when it was not stored by us."""

    key: str
    size: int
    sha256: str | None
    etag: str | None


class Storage(Protocol):
    """The operations publish needs; every failure is a :class:`StorageError`.

    Keys are ``/``-separated and relative to the storage root (see :func:`check_key`).
    """

    description: str  # "s3://bucket/prefix" or "local folder <path>/", for messages
    # Does an object keep the Content-Encoding it was stored with, to send it with the bytes?
    # S3 does; a folder cannot (any web server would send gzip bytes as they are).
    keeps_content_encoding: bool

    def identity(self, *, create: bool) -> str:
        """Which storage this is, as the publish state records it: files listed for another
        identity are not here. ``create`` lets a storage mark itself (a local folder)."""
        ...

    def head(self, key: str) -> StoredObject | None:
        """What is stored under ``key``, or None."""
        ...

    def put_file(
        self, key: str, path: Path, *, sha256: str, progress: Progress | None = None
    ) -> tuple[StoredObject, bool]:
        """Store a file unless ``key`` already holds these bytes (then ``(obj, False)``, no
        write). Verifies the stored object before returning ``(obj, True)``. ``progress`` gets
        byte increments (negative when a retried part rewinds), from one thread at a time."""
        ...

    def put_bytes(
        self, key: str, data: bytes, *, content_encoding: str | None = None
    ) -> tuple[StoredObject, bool]:
        """Like :meth:`put_file`, for small objects (chapters, transcripts, artwork, pages).
        ``content_encoding`` (only where :attr:`keeps_content_encoding`): ``data`` is encoded
        so, and is served with that header; size and digests are of ``data`` as given."""
        ...

    def get(self, key: str) -> tuple[bytes, str] | None:
        """The bytes and their ETag (the token :meth:`put_conditional` expects), or None."""
        ...

    def get_file(self, key: str, dest: Path) -> None:
        """Copy the object to ``dest`` (streamed: an hour of MP3 never sits in memory)."""
        ...

    def put_conditional(self, key: str, data: bytes, *, expected_etag: str | None) -> str:
        """Write only if ``key`` still has ``expected_etag`` (None: only if it does not exist);
        returns the new ETag, raises :class:`ConflictError` when someone else wrote first."""
        ...

    def delete(self, key: str) -> None:
        """Remove ``key``; removing a missing key is not an error."""
        ...

    def list_keys(self, prefix: str = "") -> list[str]:
        """Every key under ``prefix``, sorted."""
        ...

    def inventory(self, prefix: str = "") -> dict[str, StoredObject]:
        """Every key under ``prefix`` with its size and whatever checksum comes cheaply (one
        LIST per 1,000 keys on S3: size and ETag; a stat and the sidecar locally): enough to
        notice, on every run, an object deleted or altered behind our back."""
        ...


def same_content(existing: StoredObject | None, size: int, sha256: str) -> bool:
    """The skip rule: an object with this key, this size and this SHA-256 is already stored."""
    return existing is not None and existing.sha256 == sha256 and existing.size == size


def conflict(where: str, expected: str | None, current: str | None) -> ConflictError:
    """The message for a lost race on the feed: what was expected and what is there."""
    if expected is None:
        detail = f"it was created by someone else meanwhile (ETag {current})"
    elif current is None:
        detail = f"it was deleted meanwhile (expected ETag {expected})"
    else:
        detail = f"it changed meanwhile (expected ETag {expected}, found {current})"
    return ConflictError(
        f"Failed to write {where}: {detail}; another publish may be running, re-run to build on it"
    )
