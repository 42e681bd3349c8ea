"""Reading episode files: located problems, every one at once."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from project_fixtures import SAMPLE_EPISODE, edit, project

from dfl_audio.cli import cli
from dfl_audio.episodes import Project, read_episode, read_show
from dfl_audio.validate import load_catalog

__all__ = ["project"]

W = "episodes/2026-11-20-welcome.md"
S = "episodes/show.yaml"


def problems_of(project: Project) -> list[str]:
    return [str(problem) for problem in load_catalog(project).problems]


def test_shipped_show_and_episodes_are_valid(project: Project) -> None:
    catalog = load_catalog(project)
    assert catalog.problems == []
    assert catalog.show is not None
    titles = {episode.meta.title for episode in catalog.episodes}
    assert "T5 by Colin Raffel" in titles
    assert "Bringing the people back in by Emily Denton" in titles
    drafts = {episode.slug for episode in catalog.episodes if episode.meta.draft}
    assert drafts == {
        "t5",
        "characterising-bias-in-compressed-models",
        "learning-the-optimizer",
        "bringing-the-people-back-in",
    }


def test_notes_render_to_html_and_plain_text(project: Project) -> None:
    episode = read_episode(project, project.root / SAMPLE_EPISODE).item
    assert episode is not None
    assert (
        '<a href="https://www.depthfirstlearning.com/">Depth First Learning</a>'
        in episode.notes_html
    )
    assert "Depth First Learning (https://www.depthfirstlearning.com/)" in episode.notes_text
    assert "<" not in episode.notes_text


def test_every_problem_is_reported_with_its_line(project: Project) -> None:
    path = project.root / SAMPLE_EPISODE
    edit(path, "date: 2026-11-20 09:00:00 -05:00", "date: 2026-11-20 09:00:00")
    edit(
        path,
        "    url: https://www.depthfirstlearning.com/\nlinks",
        "    url: http://www.depthfirstlearning.com/\nlinks",
    )
    edit(path, "explicit: false", "explicit: false\nexplicitt: true")
    assert problems_of(project) == [
        W + ":3: date: needs a time zone, e.g. 2021-03-04 10:00:00 -05:00",
        W + ":7: explicitt: is not a known field (did you mean 'explicit'?)",
        W + ":16: chapters[1].url: must be an https:// URL, "
        "got 'http://www.depthfirstlearning.com/'",
    ]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('title: "Welcome', 'title: ["Welcome', ":3: malformed YAML"),
        ("guid: 190bd4dd-f34d-4f16-a06a-213eaff1a95a\n", "", ": guid: is required"),
        ("explicit: false", "explicit: maybe", ":6: explicit: input should be a valid boolean"),
        ("date: 2026-11-20 09:00:00 -05:00", "date: next tuesday", ":3: date: must be a date"),
        (
            "audio: episodes/audio/sample-clip.mp3",
            "audio: ../../etc/passwd",
            ":7: audio: must be a path inside the repository",
        ),
        (
            "audio: episodes/audio/sample-clip.mp3",
            "audio: episodes/audio/missing.mp3",
            ":7: audio: file not found: episodes/audio/missing.mp3",
        ),
        (
            "transcript: episodes/audio/sample-clip.vtt",
            "transcript: episodes/audio/sample-clip.mp3",
            ":9: transcript: must be one of .vtt, .srt, .json, .html, got '.mp3'",
        ),
        ('  - start: "0:03"', '  - start: "0:00"', ": chapters: chapters must start at strictly"),
        ("episode_type: trailer", "episode_type: teaser", ":5: episode_type: input should be"),
        (
            'title: "Welcome to',
            'title: "\\x07Welcome to',
            ":2: title: contains control character U+0007",
        ),
        ("explicit: false", "explicit: false\nexplicit: true", ":7: explicit: appears twice"),
    ],
)
def test_bad_episode_input_is_located(project: Project, old: str, new: str, expected: str) -> None:
    edit(project.root / SAMPLE_EPISODE, old, new)
    problems = problems_of(project)
    assert any(
        p.startswith("episodes/2026-11-20-welcome.md") and expected in p for p in problems
    ), problems


def test_missing_front_matter_and_bad_file_name(project: Project) -> None:
    (project.episodes_dir / "notes.md").write_text("just notes\n")
    assert problems_of(project) == [
        "episodes/notes.md: file name must be YYYY-MM-DD-slug.md (lowercase slug, digits, dashes)",
        "episodes/notes.md:1: missing YAML front matter between '---' lines",
    ]


def test_date_must_match_file_name(project: Project) -> None:
    edit(project.root / SAMPLE_EPISODE, "date: 2026-11-20", "date: 2026-11-21")
    assert problems_of(project) == [
        W + ":3: date: 2026-11-21 does not match the file name's 2026-11-20"
    ]


def test_duplicate_guid_and_slug_across_files(project: Project) -> None:
    sample = project.root / SAMPLE_EPISODE
    copy = project.episodes_dir / "2026-11-21-welcome.md"
    copy.write_text(sample.read_text().replace("2026-11-20 09", "2026-11-21 09"))
    assert problems_of(project) == [
        "episodes/2026-11-21-welcome.md:2: slug: welcome is already used by "
        "episodes/2026-11-20-welcome.md",
        "episodes/2026-11-21-welcome.md:4: guid: 190bd4dd-f34d-4f16-a06a-213eaff1a95a is already "
        "used by episodes/2026-11-20-welcome.md",
    ]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "category: Technology",
            "category: Technologies",
            S + ":8: category: 'Technologies' is not one of Apple's podcast categories",
        ),
        (
            "category: Technology",
            "category: Science\nsubcategory: Cooking",
            S + ":9: subcategory: 'Cooking' is not a subcategory of 'Science' in Apple's list",
        ),
        (
            "email: team@depthfirstlearning.com",
            "email: team-at-dfl",
            S + ":13: owner.email: value is not a valid email address",
        ),
        (
            "public_url: https://audio.depthfirstlearning.com/",
            "public_url: http://audio.example.com/",
            S + ":24: public_url: must be an https:// URL",
        ),
        (
            "artwork: episodes/art/show.jpg",
            "artwork: /etc/hostname",
            S + ":14: artwork: must be a path inside the repository",
        ),
        (
            "artwork: episodes/art/show.jpg",
            "artwork: episodes/art/missing.jpg",
            S + ":14: artwork: file not found: episodes/art/missing.jpg",
        ),
        (
            "language: en",
            "language: English",
            S + ":7: language: must be an ISO 639 language code",
        ),
    ],
)
def test_bad_show_input_is_located(project: Project, old: str, new: str, expected: str) -> None:
    edit(project.show_file, old, new)
    problems = problems_of(project)
    assert any(p.startswith(expected) for p in problems), problems


def test_show_description_over_4000_bytes(project: Project) -> None:
    long = "é" * 2001  # 4002 bytes, 2001 characters
    edit(project.show_file, "description: >-", f"description: {long}\nx_description: >-")
    problems = problems_of(project)
    assert S + ":3: description: is 4002 bytes; at most 4000 are allowed" in problems


def test_read_show_reports_missing_file(tmp_path: Path) -> None:
    parsed = read_show(Project(tmp_path))
    assert parsed.item is None
    assert [str(p) for p in parsed.problems] == [S + ": file not found"]


def test_control_character_in_notes_is_located(project: Project) -> None:
    edit(project.root / SAMPLE_EPISODE, "This trailer is made", "This trailer\x0c is made")
    assert problems_of(project) == [W + ":23: notes: contain control character U+000C"]


def test_symlink_out_of_the_repository_is_refused(project: Project, tmp_path_factory) -> None:  # type: ignore[no-untyped-def]
    outside = tmp_path_factory.mktemp("outside") / "secret.vtt"
    outside.write_text("WEBVTT\n")
    (project.root / "episodes/audio/linked.vtt").symlink_to(outside)
    edit(project.root / SAMPLE_EPISODE, "sample-clip.vtt", "linked.vtt")
    assert problems_of(project) == [
        W + ":9: transcript: episodes/audio/linked.vtt points outside the repository"
    ]


def test_symlinked_folder_out_of_the_repository_is_refused(
    project: Project, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Folders are resolved once per catalog read: one that became a symlink to the outside
    between two reads (in one process) is refused by the second."""
    inside = project.root / "episodes/extra"
    inside.mkdir()
    shutil.copy(project.root / "episodes/audio/sample-clip.vtt", inside / "t.vtt")
    edit(project.root / SAMPLE_EPISODE, "audio/sample-clip.vtt", "extra/t.vtt")
    assert problems_of(project) == []
    outside = tmp_path_factory.mktemp("outside")
    shutil.copy(inside / "t.vtt", outside / "t.vtt")
    shutil.rmtree(inside)
    inside.symlink_to(outside, target_is_directory=True)
    assert problems_of(project) == [
        W + ":9: transcript: episodes/extra/t.vtt points outside the repository"
    ]


def test_cached_parse_is_used_only_while_the_file_is_unchanged(project: Project) -> None:
    first = load_catalog(project)
    assert (project.root / ".dfl-audio/episodes.json").is_file()
    again = load_catalog(project)
    assert again.episodes == first.episodes
    edit(project.root / SAMPLE_EPISODE, 'title: "Welcome to', 'title: "Hello to')
    edited = {e.path: e.meta.title for e in load_catalog(project).episodes}
    assert edited[SAMPLE_EPISODE] == "Hello to the Depth First Learning Interviews"
    edit(project.root / SAMPLE_EPISODE, "explicit: false", "explicit: often")
    assert [p.field for p in load_catalog(project).problems] == ["explicit"]
    assert [p.field for p in load_catalog(project).problems] == ["explicit"]  # never cached


def test_damaged_cache_is_ignored(project: Project) -> None:
    load_catalog(project)
    (project.root / ".dfl-audio/episodes.json").write_text("{not json")
    assert load_catalog(project).problems == []


def test_a_cache_folder_that_cannot_be_written_only_makes_runs_slower(project: Project) -> None:
    """Every cache under .dfl-audio/ is best effort: a file in the folder's place stops nothing."""
    (project.root / ".dfl-audio").write_text("not a folder")
    result = CliRunner().invoke(cli, ["--root", str(project.root), "feed"])
    assert result.exit_code == 0, result.output
    assert (project.root / "feeds/interviews.xml").is_file()
    assert (project.root / ".dfl-audio").read_text() == "not a folder"
