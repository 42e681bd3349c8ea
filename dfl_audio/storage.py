"""⑤ Where published files go: one ``Storage`` protocol, a local folder or an S3 bucket.

Keys are content-addressed (``audio/<slug>-<hash>.mp3``), so a put is skipped when an object
with the same key and SHA-256 already exists: re-running ``publish`` uploads nothing new. The
one mutable object, the feed, is written with :meth:`Storage.put_conditional` so two publishes
racing each other cannot silently overwrite one another.

:class:`LocalStorage` is the embedded default (``dfl-audio serve`` serves its folder);
:class:`dfl_audio.s3.S3Storage` (with ``s3_client`` and ``s3_errors``) is the only place boto3
is reached.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from dfl_audio.cache_file import CACHE_DIR
from dfl_audio.errors import ConfigError, StorageError
from dfl_audio.fsutil import atomic_write_bytes, file_digest, sha256_bytes
from dfl_audio.keys import check_key as check_key  # re-exported: storage.check_key stays
from dfl_audio.leftovers import create_temp_file, sweep_tree
from dfl_audio.models.show import StorageSettings
from dfl_audio.stamp_cache import Stamp, StampCache, stamp_of
from dfl_audio.storage_base import Progress as Progress
from dfl_audio.storage_base import Storage as Storage
from dfl_audio.storage_base import StoredObject as StoredObject
from dfl_audio.storage_base import conflict as conflict
from dfl_audio.storage_base import same_content as same_content

try:  # POSIX only; elsewhere conditional writes are atomic per file but not locked.
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

INDEX_DIR = ".dfl-index"  # LocalStorage's sidecar folder; hidden so `serve` never shows it
_CHUNK = 1 << 20


def open_storage(location: str, *, root: Path, settings: StorageSettings) -> Storage:
    """``s3://bucket/prefix`` → S3; anything else is a folder (relative to ``root``)."""
    if location.startswith("s3://"):
        from dfl_audio.s3 import open_s3  # boto3 is imported only when S3 is used

        return open_s3(location, settings)
    if "://" in location:
        raise ConfigError(
            f"unsupported storage location {location!r} (from --storage, DFL_AUDIO_STORAGE or "
            "storage.location in episodes/show.yaml): use a folder or s3://bucket/prefix"
        )
    path = Path(location).expanduser()
    folder = path if path.is_absolute() else root / path
    _refuse_repository_folders(folder, root, location)
    return LocalStorage(folder, StampCache.for_folder(root / CACHE_DIR, folder))


def _refuse_repository_folders(folder: Path, root: Path, location: str) -> None:
    """Published files must not land among the episode files, in feeds/, or be the
    repository itself: a storage folder of its own."""
    try:
        real, top = folder.resolve(), root.resolve()
    except (OSError, RuntimeError) as exc:  # a symlink loop
        raise ConfigError(f"storage location {location!r} cannot be resolved: {exc}") from exc
    inside = [name for name in ("episodes", "feeds") if real.is_relative_to(top / name)]
    if real == top or inside:
        where = f"inside {inside[0]}/" if inside else "the repository itself"
        raise ConfigError(
            f"storage location {location!r} is {where}: published files would mix with the "
            "files you edit; use a folder of its own, such as storage"
        )


class LocalStorage:
    """Files under a folder at their keys; SHA-256s in hidden sidecars under ``.dfl-index/``.

    A sidecar records the file's size, mtime and inode next to its SHA-256, so a file replaced
    behind our back (or a crash between the two writes) makes the hash unknown, never wrong.
    Files get the umask's mode (0644 by default): the folder is meant to be served as is.
    """

    keeps_content_encoding = False  # files have no headers: the site is stored plain here

    def __init__(self, root: Path, stamps: StampCache | None = None) -> None:
        self.root = root
        self._stamps = stamps  # the sidecars' hashes from the last listing, if kept
        self.description = f"local folder {root}/"
        self._tidied = False

    def path_for(self, key: str) -> Path:
        return self.root / check_key(key)

    def _tidy(self) -> None:
        """Before the first write: remove temp files that killed runs left in the folder."""
        if not self._tidied:
            self._tidied = True
            sweep_tree(self.root, hidden_dirs=(INDEX_DIR,))

    def identity(self, *, create: bool) -> str:
        """A random id kept inside the folder: a new, emptied or re-cloned folder has another
        one (or none), so nothing a state file lists is assumed to be in it."""
        marker = self.root / INDEX_DIR / "storage-id"
        try:
            return "local:" + marker.read_text(encoding="ascii").strip()
        except (FileNotFoundError, NotADirectoryError):
            if not create:
                return "local:unmarked"
        with _wrap_os_errors(f"Failed to mark {self.description} as dfl-audio storage"):
            self._tidy()
            atomic_write_bytes(marker, uuid.uuid4().hex.encode())
        return self.identity(create=False)

    def head(self, key: str) -> StoredObject | None:
        path = self.path_for(key)
        try:
            stat = path.stat()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StorageError(f"Failed to read {path}: {exc}", original=exc) from exc
        sha256 = self._read_sidecar(key, stat)
        return StoredObject(key=key, size=stat.st_size, sha256=sha256, etag=sha256)

    def put_file(
        self, key: str, path: Path, *, sha256: str, progress: Progress | None = None
    ) -> tuple[StoredObject, bool]:
        target = self.path_for(key)
        with _wrap_os_errors(f"Failed to store {path} as {target}"):
            self._tidy()
            existing = self.head(key)
            if same_content(existing, path.stat().st_size, sha256):
                assert existing is not None
                return existing, False
            _copy_atomic(path, target, progress, before_replace=self._accept(key, path, sha256))
            return self._finish(key, sha256, path.stat().st_size), True

    def put_bytes(
        self, key: str, data: bytes, *, content_encoding: str | None = None
    ) -> tuple[StoredObject, bool]:
        target = self.path_for(key)
        if content_encoding is not None:
            raise StorageError(
                f"Failed to write {target}: a folder cannot keep a Content-Encoding "
                f"({content_encoding}); store the content plain"
            )
        sha256 = sha256_bytes(data)
        with _wrap_os_errors(f"Failed to write {target}"):
            self._tidy()
            existing = self.head(key)
            if same_content(existing, len(data), sha256):
                assert existing is not None
                return existing, False
            self._drop_sidecar(key)
            atomic_write_bytes(target, data)
            return self._finish(key, sha256, len(data)), True

    def get(self, key: str) -> tuple[bytes, str] | None:
        path = self.path_for(key)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StorageError(f"Failed to read {path}: {exc}", original=exc) from exc
        return data, sha256_bytes(data)

    def get_file(self, key: str, dest: Path) -> None:
        path = self.path_for(key)
        with _wrap_os_errors(f"Failed to read {path}"):
            shutil.copyfile(path, dest)

    def put_conditional(self, key: str, data: bytes, *, expected_etag: str | None) -> str:
        """Compare-and-swap on the content hash, under a lock shared by local processes."""
        target = self.path_for(key)
        with _wrap_os_errors(f"Failed to write {target}"), self._lock():
            self._tidy()
            current = self.get(key)
            current_etag = current[1] if current else None
            if current_etag != expected_etag:
                raise conflict(str(target), expected_etag, current_etag)
            self._drop_sidecar(key)
            atomic_write_bytes(target, data)
            return self._finish(key, sha256_bytes(data), len(data)).etag or ""

    def delete(self, key: str) -> None:
        path = self.path_for(key)
        with _wrap_os_errors(f"Failed to delete {path}"):
            self._tidy()
            self._drop_sidecar(key)
            path.unlink(missing_ok=True)
            _prune_empty_dirs(path.parent, self.root)

    def list_keys(self, prefix: str = "") -> list[str]:
        """Every stored key under ``prefix``, sorted; hidden files and folders are skipped."""
        with _wrap_os_errors(f"Failed to list {self.description}"):
            return sorted(key for key, _stat in self._files(prefix))

    def inventory(self, prefix: str = "") -> dict[str, StoredObject]:
        """Size and SHA-256 of every stored file. A file whose sidecar went stale (touched,
        copied with the folder, or altered) is hashed again: local reads are cheap next to
        publishing a wrong file. The sidecar is refreshed only when it was merely stale."""
        self._check_usable()
        found = {}
        vouched: dict[str, tuple[Stamp, str]] = {}
        with _wrap_os_errors(f"Failed to list {self.description}"):
            for key, stat in self._files(prefix):
                stamp = stamp_of(stat)
                sha256 = self._stamps.sha256(key, stamp) if self._stamps else None
                if sha256 is None:
                    sha256 = self._read_sidecar(key, stat)
                if sha256 is not None:
                    vouched[key] = (stamp, sha256)
                stored = (
                    StoredObject(key=key, size=stat.st_size, sha256=sha256, etag=sha256)
                    if sha256 is not None
                    else self._rehash(key)
                )
                if stored is not None:
                    found[key] = stored
        if self._stamps is not None and not prefix:  # a whole listing: what the cache holds
            self._stamps.replace(vouched)
        return found

    def _files(self, prefix: str) -> Iterator[tuple[str, os.stat_result]]:
        """Every visible file's key and stat (``scandir``: one stat each, no Path objects —
        a thousand episodes' listing is a few thousand files)."""
        folders = [(str(self.root), "")]
        while folders:
            folder, base = folders.pop()
            try:
                entries = os.scandir(folder)
            except FileNotFoundError:  # no storage folder yet (nothing published here)
                continue
            with entries:
                for entry in entries:
                    if entry.name.startswith("."):
                        continue
                    key = base + entry.name
                    if entry.is_dir(follow_symlinks=False):
                        folders.append((entry.path, key + "/"))
                    elif key.startswith(prefix) and entry.is_file():
                        yield key, entry.stat()

    def _check_usable(self) -> None:
        """What would stop a write later (a file where the folder or the index should be, a
        folder where the lock file goes) is refused before the run writes anything."""
        index = self.root / INDEX_DIR
        for path, folder in ((self.root, True), (index, True), (index / ".lock", False)):
            if path.exists() and path.is_dir() != folder:
                kind = "a file" if folder else "a folder"
                raise StorageError(
                    f"cannot use {self.description} as storage: {path} is {kind}; move it away"
                )

    def _rehash(self, key: str) -> StoredObject | None:
        """The file's real SHA-256 (its sidecar was stale), recorded again for next time."""
        path = self.path_for(key)
        try:
            stat = path.stat()
            sha256 = file_digest(path)
        except FileNotFoundError:
            return None
        if self._sidecar_record(key).get("sha256") == sha256:  # a copy or a touch, same bytes
            self._write_sidecar(key, sha256, stat)
        return StoredObject(key=key, size=stat.st_size, sha256=sha256, etag=sha256)

    # -- sidecars ---------------------------------------------------------------------------

    def _sidecar(self, key: str) -> Path:
        return self.root / INDEX_DIR / f"{key}.json"

    def _sidecar_record(self, key: str) -> dict[str, object]:
        try:
            with open(os.path.join(self.root, INDEX_DIR, key + ".json"), "rb") as handle:
                record = json.loads(handle.read())
        except (OSError, ValueError):
            return {}
        return record if isinstance(record, dict) else {}

    def _write_sidecar(self, key: str, sha256: str, stat: os.stat_result) -> None:
        record = {"sha256": sha256, "stamp": list(stamp_of(stat))}
        atomic_write_bytes(self._sidecar(key), json.dumps(record).encode())

    def _read_sidecar(self, key: str, stat: os.stat_result) -> str | None:
        record = self._sidecar_record(key)
        if record.get("stamp") != list(stamp_of(stat)):
            log.debug("sidecar of %s is stale; its SHA-256 is unknown", key)
            return None
        sha256 = record.get("sha256")
        return sha256 if isinstance(sha256, str) else None

    def _drop_sidecar(self, key: str) -> None:
        """Forget a key's hash before its file is replaced, so a crash leaves it unknown."""
        self._sidecar(key).unlink(missing_ok=True)

    def _accept(self, key: str, source: Path, sha256: str) -> Callable[[str], None]:
        """The last step before a copy replaces the key: the bytes must hash as promised."""

        def accept(copied: str) -> None:
            if copied != sha256:
                raise StorageError(
                    f"Failed to store {source} as {self.path_for(key)}: its SHA-256 is "
                    f"{copied}, expected {sha256} (did the file change while publishing?)"
                )
            self._drop_sidecar(key)

        return accept

    def _finish(self, key: str, sha256: str, size: int) -> StoredObject:
        """Record the hash of what was just written, then verify it by reading it back."""
        self._write_sidecar(key, sha256, self.path_for(key).stat())
        stored = self.head(key)
        if stored is None or stored.size != size or stored.sha256 != sha256:
            raise StorageError(f"Failed to verify {self.path_for(key)}: read back {stored}")
        return stored

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        lock_path = self.root / INDEX_DIR / ".lock"
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        with lock_path.open("a") as handle:
            if fcntl is not None:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            yield  # the lock is released when the file is closed


@contextlib.contextmanager
def _wrap_os_errors(action: str) -> Iterator[None]:
    try:
        yield
    except OSError as exc:
        raise StorageError(f"{action}: {exc}", original=exc) from exc


def _copy_atomic(
    source: Path, target: Path, progress: Progress | None, *, before_replace: Callable[[str], None]
) -> None:
    """Copy via a temp file in the target's folder (named for its owner, see
    :mod:`dfl_audio.leftovers`), fsync, let ``before_replace`` check the copy's SHA-256 (it may
    raise), then rename over the target."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_path = create_temp_file(target)
    try:
        with source.open("rb") as src, os.fdopen(fd, "wb") as dst:
            digest = hashlib.sha256()
            _pump(src, dst, digest.update, progress)
            dst.flush()
            os.fsync(dst.fileno())
        before_replace(digest.hexdigest())
        os.replace(tmp_path, target)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def _pump(
    src: IO[bytes], dst: IO[bytes], update: Callable[[bytes], object], progress: Progress | None
) -> None:
    while chunk := src.read(_CHUNK):
        dst.write(chunk)
        update(chunk)
        if progress is not None:
            progress(len(chunk))


def _prune_empty_dirs(folder: Path, root: Path) -> None:
    """Remove folders a delete left empty, up to (not including) the storage root."""
    while folder != root and root in folder.parents:
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent
