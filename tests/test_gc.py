"""Superseded objects are deleted after the grace period, and only those (issue 8 item 4)."""

from __future__ import annotations

import json
from datetime import timedelta

from click.testing import CliRunner
from project_fixtures import SAMPLE_EPISODE, edit, project
from test_publish import NOW, publish_now, storage_of

from dfl_audio.cli import cli
from dfl_audio.episodes import Project
from dfl_audio.publish import RunOptions, run

__all__ = ["project"]

STATE = "feeds/interviews.published.json"


def chapters_key(project: Project) -> str:
    return recorded_keys(project)[1]


def recorded_keys(project: Project) -> tuple[str, str]:
    """The episode's audio and chapters keys (a chapter title is in both: JSON and ID3)."""
    state = json.loads((project.root / STATE).read_text())
    (record,) = state["episodes"].values()
    return str(record["audio_key"]), str(record["chapters_key"])


def feed_at(project: Project, days: float):  # type: ignore[no-untyped-def]
    options = RunOptions(process_audio=False, now=NOW + timedelta(days=days))
    return run(project, storage_of(project), options)


def test_a_superseded_file_is_deleted_after_the_grace_and_not_before(project: Project) -> None:
    publish_now(project)
    old = recorded_keys(project)
    edit(project.root / SAMPLE_EPISODE, "title: Welcome\n", "title: Hello and welcome\n")
    assert feed_at(project, 0).deleted == []
    new = recorded_keys(project)
    assert not set(new) & set(old)  # the MP3 was re-tagged, the chapters JSON rewritten
    stored = project.root / "storage"
    assert all((stored / key).is_file() for key in (*old, *new))  # apps may still fetch them
    assert feed_at(project, 6.9).deleted == []
    assert all((stored / key).is_file() for key in old)
    assert feed_at(project, 7.0).deleted == sorted(old)
    assert not any((stored / key).exists() for key in old)
    assert all((stored / key).is_file() for key in new)
    assert json.loads((project.root / STATE).read_text())["superseded"] == {}


def test_a_key_used_again_within_the_grace_is_kept(project: Project) -> None:
    publish_now(project)
    old = chapters_key(project)
    episode = project.root / SAMPLE_EPISODE
    edit(episode, "title: Welcome\n", "title: Hello and welcome\n")
    feed_at(project, 1)
    edit(episode, "title: Hello and welcome\n", "title: Welcome\n")
    feed_at(project, 2)
    assert chapters_key(project) == old
    assert feed_at(project, 30).deleted != [old]
    assert (project.root / "storage" / old).is_file()


def test_gc_command_deletes_only_what_the_state_superseded(project: Project) -> None:
    publish_now(project)
    foreign = project.root / "storage/audio/other-publisher-0123456789ab.mp3"
    foreign.write_bytes(b"someone else's episode")
    audio, chapters = recorded_keys(project)
    edit(project.root / SAMPLE_EPISODE, "title: Welcome\n", "title: Hello and welcome\n")
    feed_at(project, 0)
    result = CliRunner().invoke(cli, ["--root", str(project.root), "gc"])
    assert result.exit_code == 0, result.output
    assert result.stdout == "0 superseded files deleted\n"
    result = CliRunner().invoke(cli, ["--root", str(project.root), "gc", "--grace-days", "0"])
    assert result.exit_code == 0, result.output
    deleted = [f"deleted: {key}" for key in sorted([audio, chapters])]  # in key order
    assert result.stdout.splitlines() == [*deleted, "2 superseded files deleted"]
    assert foreign.is_file()
    assert not (project.root / "storage" / chapters).exists()


def test_unpublish_with_delete_audio_leaves_nothing_of_the_episode_behind(
    project: Project,
) -> None:
    publish_now(project)
    edit(project.root / SAMPLE_EPISODE, "title: Welcome\n", "title: Hello and welcome\n")
    feed_at(project, 0)  # the old chapters file is now superseded
    runner = CliRunner()
    done = runner.invoke(
        cli,
        [
            "--root",
            str(project.root),
            "unpublish",
            str(project.root / SAMPLE_EPISODE),
            "--delete-audio",
        ],
    )
    assert done.exit_code == 0, done.output
    done = runner.invoke(cli, ["--root", str(project.root), "gc", "--grace-days", "0"])
    assert done.exit_code == 0, done.output
    left = [p for p in (project.root / "storage").rglob("*") if p.is_file()]
    names = {p.relative_to(project.root / "storage").parts[0] for p in left}
    assert not [p for p in left if "welcome" in p.name], left
    # the episode's page went with it; the show's site (its page, sitemap, assets) stays
    site = {"assets", "index.html", "sitemap.xml"}
    assert names <= {".dfl-index", "interviews.xml", "art", *site}
