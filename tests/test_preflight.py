"""Refusals before side effects, the stored feed checked, the storage checked against the state.

Every refusal here is asserted on the real CLI: one located line, a non-zero exit, and the
storage, the state and ``feeds/`` byte-identical to before (issue 10 items 1-3; issue 8's
"dry-run is the real plan").
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Callable, Iterator

import pytest
from click.testing import CliRunner
from project_fixtures import SAMPLE_EPISODE, edit, output_bytes, project

from dfl_audio.cli import cli
from dfl_audio.episodes import Project
from dfl_audio.errors import AudioError

__all__ = ["project"]

FEED = "feeds/interviews.xml"
STATE = "feeds/interviews.published.json"
STORED_FEED = "storage/interviews.xml"


def dfl(project: Project, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--root", str(project.root), *args])
    return result.exit_code, result.stdout, result.stderr


def recorded(project: Project) -> dict[str, dict[str, object]]:
    episodes: dict[str, dict[str, object]] = json.loads(
        (project.root / STATE).read_text(encoding="utf-8")
    )["episodes"]
    return episodes


@pytest.fixture
def published(project: Project) -> Project:
    code, _out, err = dfl(project, "publish")
    assert code == 0, err
    return project


def refused(project: Project, *args: str) -> str:
    """Run a command that must be refused; the one error line, after checking nothing moved."""
    before = output_bytes(project.root)
    code, out, err = dfl(project, *args)
    assert code == 1, (out, err)
    assert "Traceback" not in out + err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert output_bytes(project.root) == before
    return lines[0]


def test_a_changed_guid_is_refused_before_encoding(published: Project) -> None:
    episode = published.root / SAMPLE_EPISODE
    old = next(line for line in episode.read_text().splitlines() if line.startswith("guid:"))
    edit(episode, old, "guid: 11111111-2222-4333-8444-555555555555")
    for args in (("publish",), ("publish", "--dry-run"), ("feed",)):
        message = refused(published, *args)
        assert message.startswith(f"Error: {FEED}: refusing to drop 'Welcome"), message
        assert message.endswith("restore it, or pass --allow-removal")


def test_a_deleted_episode_file_is_refused_by_the_dry_run_too(published: Project) -> None:
    (published.root / SAMPLE_EPISODE).unlink()
    assert "refusing to drop" in refused(published, "publish", "--dry-run")
    assert "refusing to drop" in refused(published, "publish")


@pytest.mark.parametrize(
    "body",
    [b"this is not XML", b"", b"<html><body>Not found</body></html>", b"<!DOCTYPE rss><rss/>"],
    ids=["text", "empty", "html", "doctype"],
)
def test_an_unreadable_stored_feed_is_a_located_error_with_a_way_out(
    published: Project, body: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    (published.root / STORED_FEED).write_bytes(body)
    edit(published.root / SAMPLE_EPISODE, "title: ", "title: Edited ")
    for args in (("publish",), ("feed",), ("publish", "--dry-run")):
        message = refused(published, *args)
        assert message.startswith(f"Error: local folder {published.root}/storage/interviews.xml: ")
        assert "the stored feed is not one dfl-audio can read" in message
        assert message.endswith(
            "run `dfl-audio feed --rebuild-feed` to replace it with the feed built from "
            "episodes/ and the publish state"
        )
    code, _out, err = dfl(published, "feed", "--rebuild-feed")
    assert code == 0, err
    assert caplog.text.count("replacing it (--rebuild-feed)") == 1
    assert (published.root / STORED_FEED).read_bytes() == (published.root / FEED).read_bytes()
    assert b"Edited " in (published.root / FEED).read_bytes()


def test_an_entity_bomb_in_the_stored_feed_is_refused_quickly(published: Project) -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa">'
        + b"".join(
            f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">'.encode() for i in range(8)
        )
        + b"]><rss><channel><title>&i;</title></channel></rss>"
    )
    (published.root / STORED_FEED).write_bytes(bomb)
    assert "the stored feed is not one dfl-audio can read" in refused(published, "feed")


def test_an_invalid_feed_name_is_refused_before_anything(project: Project) -> None:
    edit(project.root / "episodes/show.yaml", "feed_name: interviews.xml", "feed_name: ..xml")
    message = refused(project, "publish")
    assert "feed_name" in message, message
    assert not (project.root / "storage").exists()


@pytest.mark.parametrize("damage", ["delete", "garbage", "same size"])
def test_audio_lost_or_altered_in_storage_is_published_again(
    published: Project, damage: str
) -> None:
    (record,) = recorded(published).values()
    mp3 = published.root / "storage" / str(record["audio_key"])
    if damage == "delete":
        mp3.unlink()
    elif damage == "garbage":
        mp3.write_bytes(b"garbage\n")
    else:
        data = bytearray(mp3.read_bytes())
        data[len(data) // 2] ^= 0xFF
        mp3.write_bytes(bytes(data))
    code, out, err = dfl(published, "publish")
    assert code == 0, err
    assert f"published: {SAMPLE_EPISODE} — its audio {record['audio_key']} " in out
    (again,) = recorded(published).values()
    stored = published.root / "storage" / str(again["audio_key"])
    assert hashlib.sha256(stored.read_bytes()).hexdigest() == again["audio_sha256"]
    code, out, err = dfl(published, "publish")  # and now it is current again
    assert f"unchanged: {SAMPLE_EPISODE} — audio is current" in out


def test_feed_refuses_to_point_at_lost_audio(published: Project) -> None:
    (record,) = recorded(published).values()
    (published.root / "storage" / str(record["audio_key"])).unlink()
    message = refused(published, "feed")
    assert message == (
        f"Error: {SAMPLE_EPISODE}: its audio {record['audio_key']} is missing from the storage; "
        "run dfl-audio publish to store it again"
    )


def test_a_lost_side_file_is_stored_again(published: Project) -> None:
    (record,) = recorded(published).values()
    chapters = published.root / "storage" / str(record["chapters_key"])
    chapters.unlink()
    code, _out, err = dfl(published, "feed")
    assert code == 0, err
    assert chapters.is_file()


def test_dry_run_json_lists_what_would_be_published(project: Project) -> None:
    before = output_bytes(project.root)
    code, out, err = dfl(project, "publish", "--dry-run", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["dry_run"] is True and report["published"] == []
    assert {"episode": SAMPLE_EPISODE, "reason": "new episode"}.items() <= report["would_publish"][
        0
    ].items()
    assert report["feed_would_change"] is True
    assert output_bytes(project.root) == before


def test_feed_check_passes_after_a_merge_with_another_publisher(published: Project) -> None:
    stored = published.root / STORED_FEED
    foreign = (
        "<item><title>From the other clone</title>"
        '<guid isPermaLink="false">other-clone-episode</guid>'
        "<pubDate>Mon, 23 Nov 2026 10:00:00 +0000</pubDate>"
        '<enclosure url="https://example.com/x.mp3" length="1" type="audio/mpeg"/></item>'
    )
    stored.write_text(stored.read_text().replace("</channel>", foreign + "</channel>"))
    edit(published.root / SAMPLE_EPISODE, "title: ", "title: Edited ")
    code, out, err = dfl(published, "feed")
    assert code == 0, err
    assert b"other-clone-episode" in (published.root / FEED).read_bytes()
    code, out, err = dfl(published, "feed", "--check")
    assert code == 0, (out, err)


class Meddling:
    """A progress reporter that does something to the source once the encode has started."""

    def __init__(self, act: Callable[[], None]) -> None:
        self.act, self.done = act, False

    @contextlib.contextmanager
    def stage(self, name: str, total: float, unit: str) -> Iterator[Callable[[float], None]]:
        def update(done: float) -> None:
            if name.startswith("encode") and done > 0 and not self.done:
                self.done = True
                self.act()

        yield update


def _run_meddling(project: Project, act: Callable[[], None]) -> None:
    from dfl_audio.episodes import read_show
    from dfl_audio.publish import RunOptions, run
    from dfl_audio.storage import open_storage

    show = read_show(project).item
    assert show is not None
    storage = open_storage("storage", root=project.root, settings=show.storage)
    run(project, storage, RunOptions(), Meddling(act))  # type: ignore[arg-type]


def test_a_source_changed_during_the_run_is_not_stored(project: Project) -> None:
    """Rewritten in place with the same size and mtime (``touch -r``): refused before upload."""
    source = project.root / "episodes/audio/sample-clip.mp3"

    def rewrite() -> None:
        stat = source.stat()
        data = bytearray(source.read_bytes())
        data[-200] ^= 0x55
        source.write_bytes(bytes(data))
        os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns))

    with pytest.raises(AudioError, match="changed while it was being published"):
        _run_meddling(project, rewrite)
    assert not list((project.root / "storage").rglob("*.mp3"))
    assert not (project.root / STATE).exists()


def test_a_hard_link_made_during_the_run_is_not_a_change(project: Project) -> None:
    source = project.root / "episodes/audio/sample-clip.mp3"
    _run_meddling(project, lambda: os.link(source, project.root / "backup.mp3"))
    assert list((project.root / "storage").rglob("*.mp3"))


def test_a_chapter_past_the_end_is_refused_before_encoding(project: Project) -> None:
    text = (project.root / SAMPLE_EPISODE).read_text()
    assert "chapters:" in text
    edit(
        project.root / SAMPLE_EPISODE,
        "links:\n",
        "  - {start: '1:00:00', title: Late}\nlinks:\n",
    )
    message = refused(project, "publish")
    assert message == (
        f"Error: {SAMPLE_EPISODE}: chapters: chapter 'Late' starts at 3600 s, not before the "
        "end of the audio (7.8 s)"
    ), message
    assert not (project.root / "storage").exists()


def test_corrupt_audio_is_refused_before_anything_is_stored(project: Project) -> None:
    (project.root / "episodes/audio/sample-clip.mp3").write_bytes(b"not audio at all" * 100)
    message = refused(project, "publish")
    assert message.startswith(f"Error: {SAMPLE_EPISODE}: audio: episodes/audio/sample-clip.mp3: ")
    assert not (project.root / "storage").exists()


@pytest.mark.parametrize(
    ("obstacle", "expected"),
    [
        ("feeds/interviews.published.json/", f"{STATE}: cannot write: a folder"),
        ("feeds/interviews.xml/", f"{FEED}: cannot write: a folder"),
        ("feeds", f"{STATE}: cannot write here: feeds is a file"),
    ],
)
def test_what_would_block_the_last_writes_is_refused_first(
    project: Project, obstacle: str, expected: str
) -> None:
    """A folder where the state or the local feed goes: refused before the audio is stored."""
    target = project.root / obstacle.rstrip("/")
    if target.exists():
        target.rmdir() if target.is_dir() else target.unlink()
    if obstacle.endswith("/"):
        target.mkdir(parents=True)
    else:
        target.write_text("not a folder")
    message = refused(project, "publish")
    assert message.startswith(f"Error: {expected}"), message
    assert not (project.root / "storage").exists()


def test_validate_finds_a_changed_guid_before_publish_would(published: Project) -> None:
    """Issue 8 item 6: what publish refuses, validate reports first, with the file."""
    episode = published.root / SAMPLE_EPISODE
    old = next(line for line in episode.read_text().splitlines() if line.startswith("guid:"))
    edit(episode, old, "guid: 11111111-2222-4333-8444-555555555555")
    message = refused(published, "validate")
    assert message == (
        f"Error: {SAMPLE_EPISODE}: guid: was {old.split()[1]} when it was published; apps "
        "would lose or duplicate the episode: restore it"
    )


def test_validate_finds_a_published_episode_whose_file_is_gone(published: Project) -> None:
    (published.root / SAMPLE_EPISODE).unlink()
    message = refused(published, "validate")
    assert message.startswith(f"Error: {SAMPLE_EPISODE}: was published (guid ")
    assert message.endswith("publish --allow-removal")


def test_validate_audio_probes_every_recording_and_reports_all(project: Project) -> None:
    (project.root / "episodes/audio/sample-clip.mp3").write_bytes(b"not audio at all" * 100)
    code, _out, err = dfl(project, "validate")
    assert code == 0, err  # without --audio the recordings are not opened
    before = output_bytes(project.root)
    code, _out, err = dfl(project, "validate", "--audio")
    assert code == 1
    assert f"{SAMPLE_EPISODE}: audio: episodes/audio/sample-clip.mp3: " in err
    assert output_bytes(project.root) == before


def test_validate_checks_the_files_of_an_episode_whose_fields_do_not_parse(
    project: Project,
) -> None:
    """Issue 8 item 6: every problem of every file in one run, not one more per fix."""
    episode = project.root / SAMPLE_EPISODE
    text = episode.read_text()
    text = text.replace("audio: episodes/audio/sample-clip.mp3", "audio: episodes/audio/gone.mp3")
    episode.write_text(text.replace("explicit: false", "explicit: maybe"))
    code, _out, err = dfl(project, "validate")
    assert code == 1
    lines = err.splitlines()
    assert any(": explicit: input should be a valid boolean" in line for line in lines), err
    assert f"{SAMPLE_EPISODE}:7: audio: file not found: episodes/audio/gone.mp3" in lines
    assert lines[-1] == "Error: 2 problems"
