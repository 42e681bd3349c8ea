"""A throwaway copy of the repository's show and episodes, for tests that edit or publish."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dfl_audio.episodes import Project

REPO = Path(__file__).resolve().parent.parent
SAMPLE_EPISODE = "episodes/2026-11-20-welcome.md"


@pytest.fixture
def project(tmp_path: Path) -> Project:
    """The shipped show and episodes, copied so a test can edit them freely."""
    shutil.copytree(REPO / "episodes", tmp_path / "episodes")
    (tmp_path / "feeds").mkdir()
    return Project(tmp_path)


def edit(path: Path, old: str, new: str) -> None:
    """Replace text in a file, failing loudly if the text is not there."""
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def output_bytes(root: Path) -> dict[str, bytes]:
    """Every byte under storage/ and feeds/ (sidecars and state included): what a refused run
    must leave exactly as it was."""
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for folder in ("storage", "feeds")
        for path in sorted((root / folder).rglob("*"))
        if path.is_file()
    }
