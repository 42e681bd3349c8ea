"""The CLI's contract: exit codes, exact messages, help everywhere, no tracebacks by default."""

from __future__ import annotations

import re

import click
import pytest
from click.testing import CliRunner
from project_fixtures import SAMPLE_EPISODE, edit, project

from dfl_audio import __version__
from dfl_audio.cli import cli
from dfl_audio.episodes import Project
from dfl_audio.validate import load_catalog

__all__ = ["project"]


def invoke(project: Project, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--root", str(project.root), *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("name", sorted(cli.commands))
def test_every_command_has_help(name: str) -> None:
    command = cli.commands[name]
    assert command.help, f"{name} has no help text"
    result = CliRunner().invoke(cli, [name, "--help"])
    assert result.exit_code == 0
    assert result.stdout.startswith(f"Usage: cli {name}")
    for param in command.params:
        if isinstance(param, click.Option):
            assert param.help, f"{name} {param.opts} has no help"


def test_version() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert (result.exit_code, result.stdout) == (0, f"dfl-audio, version {__version__}\n")


def test_validate_ok(project: Project) -> None:
    assert invoke(project, "validate") == (
        0,
        "ok: 'Depth First Learning Interviews', 5 episodes (4 draft), no problems\n",
        "",
    )


def test_validate_reports_every_problem_and_exits_1(project: Project) -> None:
    edit(project.root / SAMPLE_EPISODE, "explicit: false", "explicit: sometimes")
    edit(project.show_file, "language: en", "language: English")
    code, out, err = invoke(project, "validate")
    assert code == 1
    assert out == ""
    assert err.splitlines() == [
        "episodes/show.yaml:7: language: must be an ISO 639 language code such as en or en-US, "
        "got 'English'",
        "episodes/2026-11-20-welcome.md:6: explicit: input should be a valid boolean, "
        "unable to interpret input",
        "Error: 2 problems",
    ]


def test_validate_one_path_reports_only_that_file(project: Project) -> None:
    edit(project.root / "episodes/2021-07-27-t5.md", "season: 1", "season: 0")
    code, _, err = invoke(project, "validate", str(project.root / SAMPLE_EPISODE))
    assert code == 0, err
    code, _, err = invoke(project, "validate", str(project.root / "episodes/2021-07-27-t5.md"))
    assert code == 1
    assert err == (
        "Error: episodes/2021-07-27-t5.md:8: season: input should be greater than or equal to 1\n"
    )


def test_usage_error_exits_2(project: Project) -> None:
    code, _, err = invoke(project, "validate", "--nope")
    assert code == 2
    assert err.splitlines()[-1] == "Error: No such option '--nope'."


def test_no_traceback_unless_verbose(project: Project) -> None:
    project.show_file.write_text("title: [unclosed\n")
    code, _, err = invoke(project, "validate")
    assert code == 1
    assert "Traceback" not in err
    assert err == (
        "Error: episodes/show.yaml:2: malformed YAML: did not find expected ',' or ']'\n"
    )
    result = CliRunner().invoke(cli, ["--root", str(project.root), "--verbose", "validate"])
    assert result.exit_code == 1
    assert "Traceback (most recent call last)" in result.stderr


def test_new_scaffolds_a_valid_draft_with_a_fresh_guid(project: Project) -> None:
    code, out, _ = invoke(project, "new", "Emergent Abilities, Revisited!", "--guest", "Ada L.")
    assert code == 0
    match = re.fullmatch(
        r"created (episodes/\d{4}-\d{2}-\d{2}-emergent-abilities-revisited\.md)\n", out
    )
    assert match, out
    catalog = load_catalog(project)
    assert catalog.problems == []
    new = [e for e in catalog.episodes if e.path == match.group(1)]
    assert len(new) == 1
    assert new[0].meta.draft and new[0].meta.guests[0].name == "Ada L."
    assert new[0].meta.date.utcoffset() is not None
    assert new[0].meta.guid not in {e.meta.guid for e in catalog.episodes if e is not new[0]}
    code, _, err = invoke(project, "new", "Emergent Abilities, Revisited!")
    assert code == 1
    assert err == f"Error: {match.group(1)}: already exists; choose another title\n"


def test_doctor_on_local_storage(project: Project) -> None:
    code, out, err = invoke(project, "doctor")
    lines = out.splitlines()
    assert (code, err, len(lines)) == (0, "", 4), out
    assert re.fullmatch(r"ok   ffmpeg: \S+ .*\((system|imageio-ffmpeg): .*ffmpeg.*\)", lines[0])
    assert lines[1].startswith("ok   storage writable: wrote dfl-audio-doctor/")
    storage = project.root / "storage"
    assert lines[2] == f"ok   storage permissions: every file in {storage} is readable by others"
    assert lines[3] == (
        "ok   public URL: local folder: preview with dfl-audio serve; "
        "deploy it at https://audio.depthfirstlearning.com/"
    )
    assert not list((project.root / "storage").rglob("*.txt"))


def test_publish_dry_run_says_what_it_would_do_and_does_nothing(project: Project) -> None:
    """The run's summary in its dry-run words: what would be published, that the feed and the
    site would change, and no preview line (nothing was written to preview)."""
    code, out, err = invoke(project, "publish", "--dry-run")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith(f"would publish: {SAMPLE_EPISODE} — ")
    assert "added: Welcome to the Depth First Learning Interviews" in lines
    site = r"site would change: \d+ files to write, 0 to remove"
    assert any(re.fullmatch(site, line) for line in lines)
    assert lines[-1].startswith("feed would change: ")
    assert not any(line.startswith("preview:") for line in lines)
    assert not (project.root / "storage").exists() or not any((project.root / "storage").iterdir())
