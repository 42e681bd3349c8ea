"""LocalStorage: the embedded default that `dfl-audio serve` serves, on a real tmp folder."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from project_fixtures import REPO

from dfl_audio.cli import cli
from dfl_audio.errors import ConfigError, ConflictError, StorageError
from dfl_audio.fsutil import atomic_write_bytes, sha256_bytes, sha256_file
from dfl_audio.leftovers import temp_name
from dfl_audio.models.show import StorageSettings
from dfl_audio.stamp_cache import StampCache
from dfl_audio.storage import INDEX_DIR, LocalStorage, open_storage


@pytest.fixture
def storage(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "storage")


@pytest.fixture
def audio(tmp_path: Path) -> Path:
    path = tmp_path / "episode.mp3"
    path.write_bytes(os.urandom(3 * (1 << 20) + 17))  # spans several copy chunks
    return path


def test_put_file_stores_the_bytes_and_verifies_the_hash(storage: LocalStorage, audio: Path):
    seen: list[int] = []
    obj, uploaded = storage.put_file(
        "audio/ep-1.mp3", audio, sha256=sha256_file(audio), progress=seen.append
    )
    stored = storage.root / "audio" / "ep-1.mp3"
    assert uploaded is True
    assert stored.read_bytes() == audio.read_bytes()
    assert obj.size == audio.stat().st_size and obj.sha256 == sha256_file(audio)
    assert obj.etag == obj.sha256
    assert sum(seen) == audio.stat().st_size and len(seen) > 1


def test_re_put_of_the_same_content_does_not_rewrite(storage: LocalStorage, audio: Path):
    sha = sha256_file(audio)
    storage.put_file("audio/ep-1.mp3", audio, sha256=sha)
    before = (storage.root / "audio" / "ep-1.mp3").stat()
    obj, uploaded = storage.put_file("audio/ep-1.mp3", audio, sha256=sha)
    after = (storage.root / "audio" / "ep-1.mp3").stat()
    assert uploaded is False and obj.sha256 == sha
    assert (before.st_ino, before.st_mtime_ns) == (after.st_ino, after.st_mtime_ns)


def test_a_wrong_hash_is_refused_and_leaves_nothing(storage: LocalStorage, audio: Path):
    with pytest.raises(StorageError, match="did the file change"):
        storage.put_file("audio/ep-1.mp3", audio, sha256="0" * 64)
    assert not (storage.root / "audio" / "ep-1.mp3").exists()
    assert [p.name for p in (storage.root / "audio").iterdir()] == []  # no temp file left


def test_a_file_replaced_behind_our_back_has_an_unknown_hash(storage: LocalStorage, audio: Path):
    sha = sha256_file(audio)
    storage.put_file("audio/ep-1.mp3", audio, sha256=sha)
    (storage.root / "audio" / "ep-1.mp3").write_bytes(b"corrupted by hand")
    assert storage.head("audio/ep-1.mp3").sha256 is None  # type: ignore[union-attr]
    obj, uploaded = storage.put_file("audio/ep-1.mp3", audio, sha256=sha)
    assert uploaded is True and obj.sha256 == sha
    assert (storage.root / "audio" / "ep-1.mp3").read_bytes() == audio.read_bytes()


def test_put_bytes_get_and_skip(storage: LocalStorage):
    obj, uploaded = storage.put_bytes("chapters/ep-1.json", b'{"chapters": []}')
    assert uploaded is True and obj.size == 16
    again, uploaded_again = storage.put_bytes("chapters/ep-1.json", b'{"chapters": []}')
    assert uploaded_again is False and again == obj
    assert storage.get("chapters/ep-1.json") == (b'{"chapters": []}', obj.sha256)
    assert storage.get("chapters/missing.json") is None
    assert storage.head("chapters/missing.json") is None


def test_sidecars_are_hidden_and_not_listed(storage: LocalStorage, audio: Path):
    storage.put_file("audio/ep-1.mp3", audio, sha256=sha256_file(audio))
    storage.put_bytes("feed.xml", b"<rss/>")
    assert (storage.root / INDEX_DIR / "audio" / "ep-1.mp3.json").is_file()
    assert storage.list_keys() == ["audio/ep-1.mp3", "feed.xml"]
    assert storage.list_keys("audio/") == ["audio/ep-1.mp3"]


def test_conditional_create_then_update(storage: LocalStorage):
    first = storage.put_conditional("feed.xml", b"<rss>1</rss>", expected_etag=None)
    assert first == sha256_bytes(b"<rss>1</rss>")
    with pytest.raises(ConflictError, match="created by someone else"):
        storage.put_conditional("feed.xml", b"<rss>x</rss>", expected_etag=None)
    second = storage.put_conditional("feed.xml", b"<rss>2</rss>", expected_etag=first)
    assert storage.get("feed.xml") == (b"<rss>2</rss>", second)


def test_conditional_write_with_a_stale_etag_changes_nothing(storage: LocalStorage):
    first = storage.put_conditional("feed.xml", b"<rss>1</rss>", expected_etag=None)
    storage.put_conditional("feed.xml", b"<rss>2</rss>", expected_etag=first)
    with pytest.raises(ConflictError, match="changed meanwhile"):
        storage.put_conditional("feed.xml", b"<rss>3</rss>", expected_etag=first)
    assert storage.get("feed.xml")[0] == b"<rss>2</rss>"  # type: ignore[index]
    with pytest.raises(ConflictError, match="deleted meanwhile"):
        storage.put_conditional("other.xml", b"<rss/>", expected_etag=first)


def test_racing_conditional_writers_exactly_one_wins(storage: LocalStorage):
    base = storage.put_conditional("feed.xml", b"<rss>0</rss>", expected_etag=None)
    outcomes: list[str] = []
    barrier = threading.Barrier(8)

    def writer(n: int) -> None:
        barrier.wait()
        try:
            # n + 1: writer 0 must not write the base's own bytes (same ETag, a legit 2nd win)
            data = f"<rss>{n + 1}</rss>".encode()
            storage.put_conditional("feed.xml", data, expected_etag=base)
            outcomes.append("won")
        except ConflictError:
            outcomes.append("lost")

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["lost"] * 7 + ["won"]


def test_delete_removes_file_sidecar_and_empty_folders(storage: LocalStorage, audio: Path):
    storage.put_file("audio/ep-1.mp3", audio, sha256=sha256_file(audio))
    storage.delete("audio/ep-1.mp3")
    storage.delete("audio/ep-1.mp3")  # deleting what is gone is fine
    assert storage.list_keys() == []
    assert not (storage.root / "audio").exists()
    assert not (storage.root / INDEX_DIR / "audio" / "ep-1.mp3.json").exists()


@pytest.mark.parametrize("key", ["../escape.mp3", "/abs.mp3", "a//b.mp3", ".dfl-index/x", "a\\b"])
def test_keys_that_could_escape_or_hide_are_refused(storage: LocalStorage, key: str):
    with pytest.raises(StorageError, match="invalid storage key"):
        storage.put_bytes(key, b"x")


def test_open_storage_picks_the_backend(tmp_path: Path):
    settings = StorageSettings()
    relative = open_storage("storage", root=tmp_path, settings=settings)
    absolute = open_storage(str(tmp_path / "elsewhere"), root=Path("/nowhere"), settings=settings)
    s3 = open_storage("s3://dfl-audio/podcast/", root=tmp_path, settings=settings)
    assert isinstance(relative, LocalStorage) and relative.root == tmp_path / "storage"
    assert isinstance(absolute, LocalStorage) and absolute.root == tmp_path / "elsewhere"
    assert s3.description == "s3://dfl-audio/podcast"
    with pytest.raises(ConfigError, match="unsupported storage location"):
        open_storage("ftp://host/x", root=tmp_path, settings=settings)
    with pytest.raises(ConfigError, match="bucket name"):
        open_storage("s3://Bad_Bucket/x", root=tmp_path, settings=settings)


# -- file modes: the folder is meant to be copied to a web server that runs as another user --


@pytest.fixture(params=[0o022, 0o027, 0o002], ids=["umask022", "umask027", "umask002"])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    previous = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(previous)


def modes_under(root: Path) -> dict[str, int]:
    """Every regular file under ``root`` (hidden ones too) → its permission bits."""
    return {
        path.relative_to(root).as_posix(): stat.S_IMODE(path.stat().st_mode)
        for path in root.rglob("*")
        if path.is_file()
    }


def test_every_file_storage_writes_follows_the_umask(
    storage: LocalStorage, audio: Path, umask: int
) -> None:
    storage.identity(create=True)
    storage.put_file("audio/ep-1.mp3", audio, sha256=sha256_file(audio))
    storage.put_bytes("chapters/ep-1.json", b"{}")
    etag = storage.put_conditional("feed.xml", b"<rss>1</rss>", expected_etag=None)
    storage.put_conditional("feed.xml", b"<rss>2</rss>", expected_etag=etag)  # a replacement
    modes = modes_under(storage.root)
    expected = 0o666 & ~umask
    assert {
        "audio/ep-1.mp3",
        "chapters/ep-1.json",
        "feed.xml",
        f"{INDEX_DIR}/storage-id",
        f"{INDEX_DIR}/audio/ep-1.mp3.json",
        f"{INDEX_DIR}/feed.xml.json",
    } <= set(modes)
    assert modes == dict.fromkeys(modes, expected)


def test_atomic_writes_follow_the_umask_even_over_a_private_file(tmp_path: Path, umask: int):
    target = tmp_path / "feeds" / "interviews.published.json"
    target.parent.mkdir()
    target.write_bytes(b"{}")
    target.chmod(0o600)  # as versions that wrote with mkstemp left it
    atomic_write_bytes(target, b'{"version": 1}')
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask
    assert [p.name for p in target.parent.iterdir()] == [target.name]  # no temp file left


def test_a_killed_runs_temp_files_are_removed_by_the_next_write(
    storage: LocalStorage, tmp_path: Path
) -> None:
    """Temp files whose owner is gone go on the first write; a live owner's stay."""
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], **_OUT)
    dead_pid = int(dead.stdout)
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        leftovers = [
            storage.root / "audio" / temp_name("ep-1.mp3", pid=dead_pid),
            storage.root / temp_name("feed.xml", pid=dead_pid),
            storage.root / INDEX_DIR / "audio" / temp_name("ep-1.mp3.json", pid=dead_pid),
        ]
        concurrent = storage.root / "audio" / temp_name("ep-2.mp3", pid=live.pid)
        not_ours = storage.root / "audio" / ".ep-3.mp3.tmp"
        for path in [*leftovers, concurrent, not_ours]:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"partial")
        storage.put_bytes("chapters/ep-1.json", b"{}")
        assert [path for path in leftovers if path.exists()] == []
        assert concurrent.exists() and not_ours.exists()
    finally:
        live.kill()
        live.wait()


def test_doctor_names_a_file_others_cannot_read_and_the_fix(tmp_path: Path) -> None:
    shutil.copytree(REPO / "episodes", tmp_path / "episodes")
    root = tmp_path / "storage"
    (root / "audio").mkdir(parents=True)
    (root / "audio" / "ep-1.mp3").write_bytes(b"mp3")
    (root / "audio" / "ep-2.mp3").write_bytes(b"mp3")
    (root / "audio" / "ep-1.mp3").chmod(0o600)
    (root / "audio" / "ep-2.mp3").chmod(0o640)
    result = CliRunner().invoke(cli, ["--root", str(tmp_path), "doctor"])
    assert result.exit_code == 1
    assert (
        f"FAIL storage permissions: {root}/audio/ep-1.mp3 is not readable by others (mode 0600) "
        "(and 1 more): a web server running as another user will answer 403; fix with: "
        f"chmod -R a+rX {root}\n"
    ) in result.stdout
    subprocess.run(["chmod", "-R", "a+rX", str(root)], check=True)
    fixed = CliRunner().invoke(cli, ["--root", str(tmp_path), "doctor"])
    assert fixed.exit_code == 0, fixed.output
    assert f"ok   storage permissions: every file in {root} is readable by others" in fixed.stdout


def test_doctor_warns_when_the_umask_makes_new_files_private(tmp_path: Path) -> None:
    shutil.copytree(REPO / "episodes", tmp_path / "episodes")
    (tmp_path / "storage").mkdir(mode=0o755)  # what is there is fine: only new files are not
    previous = os.umask(0o077)
    try:
        result = CliRunner().invoke(cli, ["--root", str(tmp_path), "doctor"])
    finally:
        os.umask(previous)
    assert result.exit_code == 1
    assert (
        "FAIL storage permissions: new files are created mode 0600, private to you: "
        "run dfl-audio with umask 022\n"
    ) in result.stdout


_OUT: dict[str, Any] = {"capture_output": True, "text": True, "check": True}


# -- the stamp cache: sidecar hashes remembered between listings -----------------------------


def _cached_storage(tmp_path: Path) -> tuple[LocalStorage, Path]:
    cache = StampCache(tmp_path / "cache" / "stamps.json")
    return LocalStorage(tmp_path / "storage", cache), cache.path


def test_a_listing_remembers_hashes_so_the_next_reads_no_sidecar(tmp_path: Path):
    storage, cache_file = _cached_storage(tmp_path)
    storage.put_bytes("audio/a.mp3", b"first")
    storage.put_bytes("audio/b.mp3", b"second")
    assert storage.inventory()["audio/a.mp3"].sha256 == sha256_bytes(b"first")
    assert cache_file.is_file()
    shutil.rmtree(tmp_path / "storage" / INDEX_DIR / "audio")  # no sidecar to read any more
    again, _ = _cached_storage(tmp_path)  # a new run: the cache file alone vouches
    found = again.inventory()
    assert {key: item.sha256 for key, item in found.items()} == {
        "audio/a.mp3": sha256_bytes(b"first"),
        "audio/b.mp3": sha256_bytes(b"second"),
    }


def test_a_cached_hash_is_not_trusted_once_the_file_changed(tmp_path: Path):
    storage, _ = _cached_storage(tmp_path)
    storage.put_bytes("audio/a.mp3", b"first")
    storage.inventory()
    (tmp_path / "storage" / "audio" / "a.mp3").write_bytes(b"FIRST")  # same size, new bytes
    again, _ = _cached_storage(tmp_path)
    assert again.inventory()["audio/a.mp3"].sha256 == sha256_bytes(b"FIRST")


def test_a_corrupt_or_unwritable_cache_only_costs_the_sidecar_reads(tmp_path: Path):
    storage, cache_file = _cached_storage(tmp_path)
    storage.put_bytes("audio/a.mp3", b"first")
    cache_file.parent.mkdir(parents=True)
    cache_file.write_text("{not json")
    assert storage.inventory()["audio/a.mp3"].sha256 == sha256_bytes(b"first")
    cache_file.unlink()
    cache_file.mkdir()  # a folder where the cache file goes: not written, not an error
    blocked, _ = _cached_storage(tmp_path)
    assert blocked.inventory()["audio/a.mp3"].sha256 == sha256_bytes(b"first")


def test_open_storage_keeps_the_cache_in_the_repository_not_the_storage(tmp_path: Path):
    storage = open_storage("storage", root=tmp_path, settings=StorageSettings())
    storage.put_bytes("audio/a.mp3", b"first")
    storage.inventory()
    assert list((tmp_path / ".dfl-audio").glob("storage-*.json"))
    assert not [p for p in (tmp_path / "storage").rglob("storage-*.json")]
