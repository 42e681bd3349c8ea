"""A run stopped by a signal leaves nothing behind; a killed run's leftovers go with the next.

The real command in a subprocess, on a project whose audio takes a few seconds to encode: it
is signalled once its MP3 is being written, then the folders are compared with before.
"""

from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from audio_fixtures import sine, write_wav
from project_fixtures import REPO, SAMPLE_EPISODE, edit

from dfl_audio import leftovers
from dfl_audio.episodes import Project
from dfl_audio.fsutil import atomic_write_bytes
from dfl_audio.leftovers import owner_of, process_is_alive, temp_name
from dfl_audio.parse_cache import cache_for
from dfl_audio.publish import RunOptions, run
from dfl_audio.state import PublishState, save_state
from dfl_audio.storage import open_storage

LONG_SECONDS = 60  # about 3-6 s of work on a shared 2-core machine: room to signal mid-encode
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


# -- the module on its own ----------------------------------------------------------------


def dead_pid() -> int:
    """The PID of a process that has exited and been reaped."""
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], **_TEXT)
    return int(done.stdout)


@pytest.fixture
def live_pid() -> Iterator[int]:
    """The PID of a process that runs for the test's duration (a concurrent publish)."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        yield proc.pid
    finally:
        proc.kill()
        proc.wait()


def test_liveness_of_processes(live_pid: int) -> None:
    assert process_is_alive(os.getpid()) and process_is_alive(live_pid)
    assert not process_is_alive(dead_pid())
    assert not process_is_alive(0) and not process_is_alive(-1)
    zombie = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 10
    while Path(f"/proc/{zombie.pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z":
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert not process_is_alive(zombie.pid)  # exited, not yet reaped
    zombie.wait()


def test_sweeps_remove_only_what_a_gone_process_left(tmp_path: Path, live_pid: int) -> None:
    gone = dead_pid()
    folder = tmp_path / "feeds"
    folder.mkdir()
    dead_files = [folder / temp_name("interviews.xml", gone), folder / temp_name("x.json", gone)]
    live_file = folder / temp_name("interviews.xml", live_pid)
    mine = folder / temp_name("interviews.xml")
    others = [folder / ".interviews.xml.abc123.tmp", folder / "interviews.xml"]
    for path in [*dead_files, live_file, mine, *others]:
        path.write_bytes(b"x")
    assert sorted(leftovers.sweep_folder(folder)) == sorted(dead_files)
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        p.name for p in [live_file, mine, *others]
    )


def test_work_dirs_of_gone_processes_are_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, live_pid: int
) -> None:
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    gone = tmp_path / f"dfl-audio-{dead_pid()}-k3j_x9a0"
    running = tmp_path / f"dfl-audio-{live_pid}-q1w2e3r4"
    legacy = tmp_path / "dfl-audio-k3jx9a0z"  # no owner in the name: never guessed at
    for folder in (gone, running, legacy):
        (folder / "sub").mkdir(parents=True)
        (folder / "sub" / "ep.mp3").write_bytes(b"partial")
    with leftovers.work_dir() as mine:
        assert owner_of(mine.name) == os.getpid()
        assert not gone.exists() and running.exists() and legacy.exists()
    assert not mine.exists()


def test_state_feed_and_cache_writers_clean_their_folder_and_follow_the_umask(
    tmp_path: Path,
) -> None:
    gone = dead_pid()
    project = Project(tmp_path)
    feeds, cache_dir = tmp_path / "feeds", tmp_path / ".dfl-audio"
    planted = [
        feeds / temp_name("interviews.published.json", gone),
        feeds / temp_name("interviews.xml", gone),
        cache_dir / temp_name("episodes.json", gone),
    ]
    for path in planted:
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(b"partial")
    previous = os.umask(0o022)
    try:
        save_state(feeds / "interviews.published.json", PublishState(storage="local:x"))
        atomic_write_bytes(feeds / "interviews.xml", b"<rss/>")
        cache = cache_for(project)
        cache.dirty = True
        cache.save()
    finally:
        os.umask(previous)
    assert [path for path in planted if path.exists()] == []
    written = [feeds / "interviews.published.json", feeds / "interviews.xml"]
    written.append(cache_dir / "episodes.json")
    assert [oct(stat.S_IMODE(p.stat().st_mode)) for p in written] == [oct(0o644)] * 3


# -- the real command, signalled mid-encode -------------------------------------------------


@pytest.fixture(scope="module")
def long_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A minute of a speech-like modulated tone with a little noise, mono 44.1 kHz."""
    rate = 44100
    envelope = 0.6 + 0.4 * np.sin(2 * np.pi * 0.3 * np.arange(LONG_SECONDS * rate) / rate)
    noise = np.random.default_rng(7).standard_normal(LONG_SECONDS * rate)
    frames = sine(LONG_SECONDS, 220, 0.2, rate) * envelope + 0.02 * noise
    return write_wav(tmp_path_factory.mktemp("long") / "long.wav", frames[:, None], rate)


@dataclass
class Republish:
    """A published show whose episode got a new, long recording: publish will re-encode."""

    project: Project
    tmpdir: Path  # the subprocess's $TMPDIR

    def command(self) -> subprocess.Popen[bytes]:
        env = {**os.environ, "PYTHONPATH": str(REPO), "TMPDIR": str(self.tmpdir)}
        args = [sys.executable, "-m", "dfl_audio", "--root", str(self.project.root), "publish"]
        return subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def start_and_wait_for_encoding(self) -> subprocess.Popen[bytes]:
        """Start ``publish`` and return once its MP3 is being written in its work folder."""
        proc = self.command()
        deadline = time.monotonic() + 120
        while not self.encoding():
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                _, err = proc.communicate()
                pytest.fail(f"publish never started encoding: {proc.returncode}\n{err.decode()}")
            time.sleep(0.01)
        return proc

    def encoding(self) -> bool:
        """Whether an MP3 with bytes in it is in a work folder."""
        for path in self.tmpdir.glob("dfl-audio-*/*.mp3"):
            try:
                if path.stat().st_size:
                    return True
            except FileNotFoundError:
                continue
        return False

    def published_files(self) -> dict[str, bytes]:
        """Everything in feeds/ and the storage, hidden files too (the sidecars, the state)."""
        root = self.project.root
        return {
            path.relative_to(root).as_posix(): path.read_bytes()
            for folder in (root / "feeds", root / "storage")
            for path in sorted(folder.rglob("*"))
            if path.is_file()
        }

    def temp_files(self) -> list[Path]:
        """Anything that looks like a temp file or work folder, wherever the tool writes."""
        found = list(self.tmpdir.iterdir())
        found += [p for p in self.project.root.rglob("*") if p.name.endswith(".tmp")]
        return found


@pytest.fixture
def republish(tmp_path: Path, long_wav: Path) -> Republish:
    shutil.copytree(REPO / "episodes", tmp_path / "show" / "episodes")
    project = Project(tmp_path / "show")
    store = open_storage("storage", root=project.root, settings=_show_storage(project))
    run(project, store, RunOptions(now=NOW))
    shutil.copy(long_wav, project.root / "episodes" / "audio" / "long.wav")
    edit(
        project.root / SAMPLE_EPISODE,
        "audio: episodes/audio/sample-clip.mp3",
        "audio: episodes/audio/long.wav",
    )
    (tmp_path / "tmp").mkdir()
    return Republish(project, tmp_path / "tmp")


def _show_storage(project: Project):  # type: ignore[no-untyped-def]
    from dfl_audio.episodes import read_show

    show = read_show(project).item
    assert show is not None
    return show.storage


def processes_mentioning(text: str) -> list[str]:
    """Command lines of running processes that mention ``text`` (e.g. a work folder)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in args:
            found.append(args)
    return found


@pytest.mark.parametrize(
    ("signum", "code"),
    [(signal.SIGTERM, 143), (signal.SIGINT, 130), (signal.SIGHUP, 129)],
    ids=["SIGTERM", "SIGINT", "SIGHUP"],
)
def test_a_signal_mid_encode_stops_cleanly_and_changes_nothing(
    republish: Republish, signum: signal.Signals, code: int
) -> None:
    before = republish.published_files()
    proc = republish.start_and_wait_for_encoding()
    proc.send_signal(signum)
    _, stderr = proc.communicate(timeout=60)
    message = f"Error: interrupted by {signum.name}; stopped without leaving partial files"
    assert (proc.returncode, stderr.decode().strip()) == (code, message)
    assert republish.temp_files() == []
    assert processes_mentioning(str(republish.tmpdir)) == []  # its ffmpeg children are gone too
    assert republish.published_files() == before


def test_the_run_after_a_sigkill_removes_its_leftovers_and_no_one_elses(
    republish: Republish, live_pid: int
) -> None:
    killed = republish.start_and_wait_for_encoding()
    killed.kill()
    killed.communicate(timeout=60)
    root = republish.project.root
    work_dirs = list(republish.tmpdir.glob(f"dfl-audio-{killed.pid}-*"))
    assert len(work_dirs) == 1 and list(work_dirs[0].glob("*.mp3"))  # SIGKILL leaves it
    # What a SIGKILL at a later moment leaves: a copy into the storage, the feed, the state.
    dead_files = [
        root / "storage" / "audio" / temp_name("welcome-0123456789ab.mp3", killed.pid),
        root / "storage" / ".dfl-index" / "audio" / temp_name("welcome-01.mp3.json", killed.pid),
        root / "storage" / temp_name("interviews.xml", killed.pid),
        root / "feeds" / temp_name("interviews.xml", killed.pid),
        root / "feeds" / temp_name("interviews.published.json", killed.pid),
    ]
    concurrent = [  # a publish still running elsewhere: not ours to touch
        root / "storage" / "audio" / temp_name("other-0123456789ab.mp3", live_pid),
        republish.tmpdir / f"dfl-audio-{live_pid}-a1b2c3d4",
    ]
    for path in dead_files:
        path.write_bytes(b"partial")
    concurrent[0].write_bytes(b"partial")
    concurrent[1].mkdir()

    rerun = republish.command()
    stdout, stderr = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, stderr.decode()
    assert b"published: episodes/2026-11-20-welcome.md" in stdout
    assert sorted(republish.temp_files()) == sorted(concurrent)
    modes = {
        path.relative_to(root).as_posix(): stat.S_IMODE(path.stat().st_mode)
        for folder in (root / "storage", root / "feeds")
        for path in folder.rglob("*")
        if path.is_file() and path not in concurrent
    }
    assert modes == dict.fromkeys(modes, 0o666 & ~_umask())


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


_TEXT: dict[str, object] = {"capture_output": True, "text": True, "check": True}
