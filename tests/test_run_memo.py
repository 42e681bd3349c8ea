"""A run with nothing to do builds nothing (dfl_audio.run_memo), and every kind of change
still gets the complete run, with exactly the result a run without the record gives."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from project_fixtures import REPO, SAMPLE_EPISODE, edit

from dfl_audio import run_memo
from dfl_audio.episodes import Project, read_show
from dfl_audio.errors import FeedError
from dfl_audio.models.show import Show
from dfl_audio.publish import RunOptions, RunResult, run
from dfl_audio.site.urls import slug_of_episode_file
from dfl_audio.storage import open_storage

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
FEED = "feeds/interviews.xml"
STATE = "feeds/interviews.published.json"
TRANSCRIPT = "episodes/audio/sample-clip.vtt"
DRAFT = "episodes/2021-07-27-t5.md"


def feed_run(project: Project, now: datetime = NOW, show: Show | None = None) -> RunResult:
    """``dfl-audio feed`` in process (``show``: one with command-line overrides)."""
    show = show or read_show(project).item
    assert show is not None
    storage = open_storage(show.storage.location, root=project.root, settings=show.storage)
    return run(project, storage, RunOptions(process_audio=False, now=now), None, show)


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample show published once (the audio encoded), then one feed run that records."""
    root = tmp_path_factory.mktemp("published")
    shutil.copytree(REPO / "episodes", root / "episodes")
    project = Project(root)
    show = read_show(project).item
    assert show is not None
    storage = open_storage(show.storage.location, root=root, settings=show.storage)
    run(project, storage, RunOptions(now=NOW))
    return root


def copy_of(published: Path, where: Path, *, remembered: bool = True) -> Project:
    """A copy of the published show after a complete feed run (which records it), and
    with ``remembered`` false, with the record deleted: the reference behaviour."""
    shutil.copytree(published, where)
    project = Project(where)
    assert feed_run(project).built  # a copy has other inodes: the first run is complete
    if not remembered:
        run_memo.memo_path(project).unlink()
    return project


def snapshot(project: Project) -> dict[str, str]:
    """Everything a run leaves: the feed, the state, the review copy and every stored
    object (by SHA-256, storage paths prefixed with ``storage:``)."""
    files: dict[str, str] = {}
    for rel in (FEED, STATE):
        files[rel] = hashlib.sha256((project.root / rel).read_bytes()).hexdigest()
    for base, label in ((project.site_dir, "site:"), (project.root / "storage", "storage:")):
        for path in sorted(base.rglob("*")):
            rel = path.relative_to(base).as_posix()
            if path.is_file() and not rel.startswith("."):
                files[label + rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return files


def mtimes(project: Project) -> dict[str, int]:
    return {
        path.relative_to(project.root).as_posix(): path.stat().st_mtime_ns
        for base in ("feeds", "storage")
        for path in (project.root / base).rglob("*")
        if path.is_file()
    }


def test_an_unchanged_run_builds_nothing_and_writes_nothing(
    published: Path, tmp_path: Path
) -> None:
    project = copy_of(published, tmp_path / "show")
    before, stamps = snapshot(project), mtimes(project)
    result = feed_run(project)
    assert not result.built
    assert not result.feed_changed and result.site_written == [] and result.site_deleted == []
    assert [plan.action for plan in result.plans] == ["current"]
    assert snapshot(project) == before and mtimes(project) == stamps
    assert not feed_run(project).built


def _title(project: Project) -> None:
    edit(project.root / SAMPLE_EPISODE, 'title: "Welcome', 'title: "Hello')


def _episode_link(project: Project) -> None:
    """A field the feed shows but the MP3's tags do not (so no re-tag gives it away)."""
    edit(project.root / SAMPLE_EPISODE, "explicit: false", "explicit: false\nlink: https://x.org/")


def _show_yaml(project: Project) -> None:
    edit(project.show_file, "Conversations with the researchers", "Talks with the researchers")


def _base_url(project: Project) -> None:
    edit(project.show_file, "https://audio.depthfirstlearning.com/", "https://cdn.example.org/")


def _state(project: Project) -> None:
    edit(project.root / STATE, '"published_at": "2026-11-26', '"published_at": "2026-11-27')


def _transcript(project: Project) -> None:
    edit(project.root / TRANSCRIPT, "Happy to be here.", "Happy to be here, really.")


def _artwork_touched(project: Project) -> None:
    path = project.root / "episodes/art/show.jpg"
    path.write_bytes(path.read_bytes())  # same bytes, another stamp: re-checked, same result


def _stored_transcript_deleted(project: Project) -> None:
    (next((project.root / "storage/audio").glob("*.vtt"))).unlink()


def _stored_page_deleted(project: Project) -> None:
    (next((project.root / "storage/episodes").glob("*.html"))).unlink()


def _stored_feed_edited(project: Project) -> None:
    edit(project.root / "storage/interviews.xml", "<title>", "<title>Edited ")


def _stored_feed_and_copy_edited(project: Project) -> None:
    _stored_feed_edited(project)
    shutil.copy(project.root / "storage/interviews.xml", project.root / FEED)


def _local_feed_deleted(project: Project) -> None:
    (project.root / FEED).unlink()


def _review_page_edited(project: Project) -> None:
    path = next((project.site_dir / "episodes").glob("*.html"))
    path.write_bytes(path.read_bytes() + b"<!-- hand edit -->")


def _review_page_added(project: Project) -> None:
    (project.site_dir / "episodes/left-over.html").write_text("old page")


def _draft_page_stored(project: Project) -> None:
    """A page under the slug of a draft (one this repository knows): the run deletes it."""
    slug = slug_of_episode_file(DRAFT)
    page = next((project.root / "storage/episodes").glob("*.html"))
    shutil.copy(page, page.with_name(f"{slug}.html"))


CHANGES: dict[str, Callable[[Project], None]] = {
    "title edit": _title,
    "episode link edit": _episode_link,
    "show.yaml edit": _show_yaml,
    "storage base URL": _base_url,
    "state edited": _state,
    "transcript edit": _transcript,
    "artwork rewritten": _artwork_touched,
    "stored transcript deleted": _stored_transcript_deleted,
    "stored page deleted": _stored_page_deleted,
    "stored feed edited": _stored_feed_edited,
    "stored feed and feeds/ copy edited alike": _stored_feed_and_copy_edited,
    "feeds/ copy deleted": _local_feed_deleted,
    "review copy page edited": _review_page_edited,
    "review copy page added": _review_page_added,
    "page of a draft stored": _draft_page_stored,
}


@pytest.mark.parametrize("change", CHANGES, ids=list(CHANGES))
def test_every_change_gets_the_complete_run_with_the_same_result(
    published: Path, tmp_path: Path, change: str
) -> None:
    remembered = copy_of(published, tmp_path / "remembered")
    reference = copy_of(published, tmp_path / "reference", remembered=False)
    for project in (remembered, reference):
        CHANGES[change](project)
    result = feed_run(remembered)
    assert result.built
    assert feed_run(reference).built
    assert snapshot(remembered) == snapshot(reference)
    assert not feed_run(remembered).built  # recorded afresh: the next run has nothing to do


def test_a_base_url_given_on_the_command_line_gets_the_complete_run(
    published: Path, tmp_path: Path
) -> None:
    project = copy_of(published, tmp_path / "show")
    show = read_show(project).item
    assert show is not None
    moved = show.model_copy(update={"public_url": "https://cdn.example.org/"})
    result = feed_run(project, show=moved)
    assert result.built and result.feed_changed
    assert b"https://cdn.example.org/" in (project.root / FEED).read_bytes()


def test_a_run_before_an_episode_is_due_is_not_taken_for_unchanged(
    published: Path, tmp_path: Path
) -> None:
    """The clock is an input: at a time the episode is not due yet it would leave the feed,
    which is refused, exactly as without the record."""
    project = copy_of(published, tmp_path / "show")
    with pytest.raises(FeedError, match="refusing to drop"):
        feed_run(project, now=datetime(2026, 11, 19, tzinfo=UTC))


def test_new_code_gets_the_complete_run(
    published: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = copy_of(published, tmp_path / "show")
    monkeypatch.setattr(run_memo, "package_digest", lambda: "another dfl-audio")
    assert feed_run(project).built
    assert not feed_run(project).built


def test_a_damaged_record_is_only_a_complete_run(published: Path, tmp_path: Path) -> None:
    project = copy_of(published, tmp_path / "show")
    before = snapshot(project)
    run_memo.memo_path(project).write_text('{"format": 1, "entries": {"fingerprint": 3}}')
    assert feed_run(project).built
    run_memo.memo_path(project).write_text("{not json")
    assert feed_run(project).built
    assert snapshot(project) == before
