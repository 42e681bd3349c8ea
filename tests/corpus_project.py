"""A throwaway project publishing the corpus through the real CLI, for the matrix and bench.

One project per output setting: the repository's ``show.yaml`` (its ``audio:`` block edited)
and artwork, and one due episode per recording, modeled on the shipped sample episode.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from corpus import NAMES, Recording, make_recording
from project_fixtures import REPO, edit
from voice_metrics import Loudness, VoiceReport, compare, ebur128

TEST_SECONDS = 30.0
WORKERS = 2  # the CI machine's cores; each publish is mostly one ffmpeg + one Python


@dataclass(frozen=True)
class Setting:
    """An output format for the show's ``audio:`` block."""

    name: str
    channels: int
    bitrate: int
    sample_rate: int


SHIPPED = Setting("shipped", 1, 96, 44100)  # what episodes/show.yaml ships
SETTINGS = {
    setting.name: setting
    for setting in (
        SHIPPED,
        Setting("stereo128", 2, 128, 44100),
        Setting("stereo192-48k", 2, 192, 48000),
        Setting("mono64-48k", 1, 64, 48000),
    )
}


@dataclass(frozen=True)
class Project:
    """A temp project: its root, local storage, and the episode file of each recording added.

    Episodes are added one at a time, just before each is published: the first publish into
    a new storage publishes every due episode (the storage "moved"), named or not."""

    root: Path
    storage: Path
    setting: Setting
    episodes: dict[str, Path] = field(default_factory=dict)

    def add(self, recording: Recording) -> Path:
        """A due episode for ``recording`` (audio hard-linked into ``episodes/audio/``)."""
        if recording.name not in self.episodes:
            audio = self.root / "episodes/audio" / recording.path.name
            _link(recording.path, audio)
            day = len(self.episodes) + 1
            self.episodes[recording.name] = _episode(
                self.root / "episodes", recording, day, audio.relative_to(self.root)
            )
        return self.episodes[recording.name]

    def publish_args(self, recording: Recording) -> list[str]:
        """CLI arguments (after the program) that publish ``recording`` alone."""
        episode = str(self.add(recording))
        return [
            "--root",
            str(self.root),
            "publish",
            "--json",
            episode,
            "--storage",
            str(self.storage),
        ]


def make_project(root: Path, setting: Setting) -> Project:
    """The repository's show (its ``audio:`` set to ``setting``) and artwork under ``root``."""
    episodes = root / "episodes"
    (episodes / "audio").mkdir(parents=True, exist_ok=True)
    (root / "feeds").mkdir(exist_ok=True)
    shutil.copy(REPO / "episodes/show.yaml", episodes / "show.yaml")
    shutil.copytree(REPO / "episodes/art", episodes / "art", dirs_exist_ok=True)
    _set_audio(episodes / "show.yaml", setting)
    return Project(root, root / "storage", setting)


def _set_audio(show: Path, setting: Setting) -> None:
    """Rewrite the shipped ``audio:`` block's format lines (failing loudly if they moved)."""
    edit(show, "bitrate: 96 ", f"bitrate: {setting.bitrate} ")
    edit(show, "channels: 1\n", f"channels: {setting.channels}\n")
    edit(show, "sample_rate: 44100\n", f"sample_rate: {setting.sample_rate}\n")


def _link(source: Path, target: Path) -> None:
    """Hard link (no copy of a 10-minute 96 kHz file) unless across file systems."""
    target.unlink(missing_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copy(source, target)


def _episode(episodes: Path, recording: Recording, day: int, audio: Path) -> Path:
    """A due (past-dated, non-draft) episode like the shipped sample, with a fresh GUID."""
    date = f"2025-{1 + (day - 1) // 28:02d}-{1 + (day - 1) % 28:02d}"
    path = episodes / f"{date}-corpus-{recording.name}.md"
    path.write_text(
        f"""---
title: "Corpus: {recording.name}"
date: {date} 09:00:00 -05:00
guid: {uuid.uuid4()}
episode_type: full
explicit: false
audio: {audio.as_posix()}
draft: false
links:
  - title: Depth First Learning
    url: https://www.depthfirstlearning.com/
---
Generated test recording `{recording.name}`: {recording.about}.
""",
        encoding="utf-8",
    )
    return path


def published_record(stdout: str) -> dict[str, Any]:
    """The one record printed by ``publish --json``."""
    records = json.loads(stdout[stdout.index("{") :])["published"]
    assert len(records) == 1, records
    record: dict[str, Any] = records[0]
    return record


def report_field(record: dict[str, Any], *path: str) -> Any:
    """``record["audio_report"][path...]``, or None while the engine does not report it."""
    node: Any = record.get("audio_report")
    for key in path:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


def publish_command(project: Project, recording: Recording) -> list[str]:
    """The full command line: this interpreter running the installed CLI module."""
    return [sys.executable, "-m", "dfl_audio", *project.publish_args(recording)]


@dataclass(frozen=True)
class Outcome:
    """One recording published at one setting, judged by :mod:`voice_metrics`."""

    recording: Recording
    setting: Setting
    record: dict[str, Any] | None = None
    error: str = ""
    mp3: Path | None = None
    loudness: Loudness | None = None
    voices: VoiceReport | None = None
    seconds: float = 0.0


def publish_and_judge(recording: Recording, setting: Setting, root: Path) -> Outcome:
    """Publish ``recording`` through the CLI in a fresh project under ``root``, then measure."""
    project = make_project(root, setting)
    start = time.perf_counter()
    done = subprocess.run(publish_command(project, recording), capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        error = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["(no output)"]
        return Outcome(recording, setting, error=f"exit {done.returncode}: {error[0]}")
    record = published_record(done.stdout)
    mp3 = project.storage / record["audio_key"]
    return Outcome(
        recording,
        setting,
        record=record,
        mp3=mp3,
        loudness=ebur128(["-i", str(mp3)]),
        voices=compare(recording.path, mp3, recording.sentences, channels=setting.channels),
        seconds=seconds,
    )


@pytest.fixture(scope="session")
def corpus_recordings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Recording]:
    """The corpus at :data:`TEST_SECONDS`, made once per session (and cached on disk)."""
    folder = tmp_path_factory.getbasetemp() / f"corpus-{TEST_SECONDS:g}s"
    with ThreadPoolExecutor(WORKERS) as pool:
        made = pool.map(lambda name: make_recording(name, folder, TEST_SECONDS), NAMES)
        return {recording.name: recording for recording in made}
