"""The pipeline end to end on local storage: real audio in, a real feed and MP3 out.

Each test publishes the shipped sample episode (a few seconds of espeak-ng speech), then
checks what a listener's app would get: the feed parsed by gPodder's parser, the MP3
decoded and re-measured by ffmpeg, the ID3 tags read back by mutagen.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from unittest.mock import ANY

import podcastparser
import pytest
from click.testing import CliRunner
from mutagen.id3 import ID3
from project_fixtures import SAMPLE_EPISODE, edit, project

from dfl_audio import audio, episode_audio, publish
from dfl_audio.cli import cli
from dfl_audio.episodes import Project
from dfl_audio.errors import EpisodeError, FeedError
from dfl_audio.models.show import AudioSettings
from dfl_audio.publish import RunOptions, run
from dfl_audio.state import load_state
from dfl_audio.storage import LocalStorage, open_storage

__all__ = ["project"]

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
GUID = "190bd4dd-f34d-4f16-a06a-213eaff1a95a"
FEED = "feeds/interviews.xml"


def storage_of(project: Project) -> LocalStorage:
    store = open_storage("storage", root=project.root, settings=_show(project).storage)
    assert isinstance(store, LocalStorage)
    return store


def _show(project: Project):  # type: ignore[no-untyped-def]
    from dfl_audio.episodes import read_show

    show = read_show(project).item
    assert show is not None
    return show


def publish_now(project: Project, **options: object) -> publish.RunResult:
    return run(project, storage_of(project), RunOptions(now=NOW, **options))  # type: ignore[arg-type]


def stored_files(project: Project) -> dict[str, int]:
    root = project.root / "storage"
    return {
        p.relative_to(root).as_posix(): p.stat().st_mtime_ns
        for p in root.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts)
    }


def parsed_feed(project: Project) -> dict:  # type: ignore[type-arg]
    path = project.root / FEED
    with path.open("rb") as handle:
        return podcastparser.parse("https://audio.depthfirstlearning.com/interviews.xml", handle)  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def published_once(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """One real publish of the sample, shared by the read-only checks below."""
    from project_fixtures import REPO

    root = tmp_path_factory.mktemp("published")
    shutil.copytree(REPO / "episodes", root / "episodes")
    project = Project(root)
    publish_now(project)
    return project


def test_publish_stores_a_podcast_loud_mp3_and_a_feed_that_points_at_it(
    published_once: Project,
) -> None:
    project = published_once
    feed = parsed_feed(project)
    assert [episode["guid"] for episode in feed["episodes"]] == [GUID]
    episode = feed["episodes"][0]
    enclosure = episode["enclosures"][0]
    key = enclosure["url"].removeprefix("https://audio.depthfirstlearning.com/")
    mp3 = project.root / "storage" / key
    assert key.startswith("audio/welcome-") and key.endswith(".mp3")
    assert enclosure["file_size"] == mp3.stat().st_size
    assert enclosure["mime_type"] == "audio/mpeg"
    lufs, true_peak = audio.measure_file_with_ffmpeg(mp3)
    assert abs(lufs - (-16.0)) <= 0.5
    assert true_peak <= -1.0
    probe = audio.probe(mp3)
    assert (probe.sample_rate, probe.channels) == (44100, 1)
    assert abs(episode["total_time"] - round(probe.duration)) <= 1
    assert feed["episodes"][0]["title"] == "Welcome to the Depth First Learning Interviews"


def test_published_mp3_is_tagged(published_once: Project) -> None:
    state = load_state(published_once.root / "feeds/interviews.published.json")
    record = state.episodes[GUID]
    tags = ID3(published_once.root / "storage" / record.audio_key)
    assert tags.version[:2] == (2, 4)
    assert str(tags["TIT2"]) == "Welcome to the Depth First Learning Interviews"
    assert str(tags["TGID"]) == GUID
    assert tags["WFED"].url == "https://audio.depthfirstlearning.com/interviews.xml"
    assert [str(chap.sub_frames["TIT2"]) for chap in tags.getall("CHAP")] == [
        "Welcome",
        "The guest says hello",
    ]
    assert tags.getall("APIC")[0].mime == "image/jpeg"


def test_side_files_are_stored_and_linked(published_once: Project) -> None:
    xml = (published_once.root / FEED).read_text()
    state = load_state(published_once.root / "feeds/interviews.published.json")
    record = state.episodes[GUID]
    for key in (
        record.chapters_key,
        *record.transcript_keys,
        record.artwork_key,
        state.show_artwork_key,
    ):
        assert key and (published_once.root / "storage" / key).is_file()
        assert f"https://audio.depthfirstlearning.com/{key}" in xml
    assert record.output_lufs is not None and abs(record.output_lufs + 16) <= 0.5


def test_republish_of_unchanged_episode_does_nothing(project: Project) -> None:
    publish_now(project)
    before = stored_files(project)
    feed_before = (project.root / FEED).read_bytes()
    result = publish_now(project)
    assert [plan.action for plan in result.plans] == ["current"]
    assert not result.feed_changed and result.published == []
    assert stored_files(project) == before
    assert (project.root / FEED).read_bytes() == feed_before


def _mpeg_frames(mp3: Path) -> bytes:
    """The audio without its ID3v2 tag (the tag's size is in its 10-byte header)."""
    data = mp3.read_bytes()
    assert data[:3] == b"ID3"
    size = 0
    for byte in data[6:10]:  # a synchsafe integer: 7 bits per byte
        size = (size << 7) | byte
    return data[10 + size :]


def test_metadata_edit_retags_the_mp3_without_re_encoding(project: Project) -> None:
    publish_now(project)
    state_path = project.root / "feeds/interviews.published.json"
    before = load_state(state_path).episodes[GUID]
    old_mp3 = project.root / "storage" / before.audio_key
    frames_before = _mpeg_frames(old_mp3)
    edit(project.root / SAMPLE_EPISODE, 'title: "Welcome to', 'title: "Hello & welcome to')
    edit(project.root / SAMPLE_EPISODE, "title: Welcome\n", "title: Hello\n")  # a chapter
    result = publish_now(project)
    assert [(plan.action, plan.reason) for plan in result.plans] == [
        ("retag", "the metadata in its ID3 tags changed")
    ]
    after = load_state(state_path).episodes[GUID]
    assert after.audio_key != before.audio_key and after.guid == before.guid
    new_mp3 = project.root / "storage" / after.audio_key
    assert _mpeg_frames(new_mp3) == frames_before  # the audio frames, byte for byte
    tags = ID3(new_mp3)
    assert str(tags["TIT2"]) == "Hello & welcome to the Depth First Learning Interviews"
    chapter_titles = [str(frame.sub_frames["TIT2"]) for frame in tags.getall("CHAP")]
    assert chapter_titles[0] == "Hello"
    assert after.audio_bytes == new_mp3.stat().st_size
    feed = parsed_feed(project)
    assert feed["episodes"][0]["guid"] == GUID
    assert feed["episodes"][0]["enclosures"][0]["url"].endswith(after.audio_key)
    assert feed["episodes"][0]["enclosures"][0]["file_size"] == after.audio_bytes
    assert old_mp3.is_file()  # superseded: deleted only after the grace period
    files = stored_files(project)
    again = publish_now(project)
    assert [plan.action for plan in again.plans] == ["current"]
    assert stored_files(project) == files and not again.feed_changed


def test_new_recording_gets_a_new_url_and_keeps_the_guid(project: Project) -> None:
    publish_now(project)
    old_key = load_state(project.root / "feeds/interviews.published.json").episodes[GUID].audio_key
    clip = project.root / "episodes/audio/sample-clip.mp3"
    louder = clip.with_name("louder.mp3")
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-i", str(clip), "-af", "volume=-6dB", str(louder)],
        check=True,
    )
    louder.replace(clip)
    result = publish_now(project)
    assert [(plan.action, plan.reason) for plan in result.plans] == [
        ("encode", "the source recording changed")
    ]
    new_key = result.published[0].audio_key
    assert new_key != old_key
    feed = parsed_feed(project)
    assert feed["episodes"][0]["guid"] == GUID
    assert feed["episodes"][0]["enclosures"][0]["url"].endswith(new_key)


def test_force_reprocesses(project: Project) -> None:
    publish_now(project)
    result = publish_now(project, force=True)
    assert [plan.action for plan in result.plans] == ["encode"]


def test_dropping_a_published_episode_is_refused_unless_allowed(project: Project) -> None:
    publish_now(project)
    feed_before = (project.root / FEED).read_bytes()
    edit(project.root / SAMPLE_EPISODE, "explicit: false", "explicit: false\ndraft: true")
    with pytest.raises(FeedError) as error:
        publish_now(project)
    assert str(error.value) == (
        f"{FEED}: refusing to drop 'Welcome to the Depth First Learning Interviews' (guid {GUID}) "
        "from the feed: it was published before, and a changed or missing GUID makes apps lose "
        "or duplicate it; restore it, or pass --allow-removal"
    )
    assert (project.root / FEED).read_bytes() == feed_before
    result = publish_now(project, allow_removal=True)
    assert [entry.guid for entry in result.diff.removed] == [GUID]
    assert parsed_feed(project)["episodes"] == []


def test_changing_a_published_guid_is_refused(project: Project) -> None:
    publish_now(project)
    edit(project.root / SAMPLE_EPISODE, GUID, "a-brand-new-guid")
    with pytest.raises(FeedError, match="refusing to drop"):
        publish_now(project)


def test_future_episode_stays_out_until_due(project: Project) -> None:
    sample = project.root / SAMPLE_EPISODE
    future = project.episodes_dir / "2027-01-05-welcome-again.md"
    future.write_text(
        sample.read_text()
        .replace("2026-11-20 09:00:00", "2027-01-05 09:00:00")
        .replace(GUID, "future-guid")
    )
    publish_now(project)
    assert [e["guid"] for e in parsed_feed(project)["episodes"]] == [GUID]
    run(project, storage_of(project), RunOptions(now=datetime(2027, 1, 6, tzinfo=UTC)))
    assert [e["guid"] for e in parsed_feed(project)["episodes"]] == ["future-guid", GUID]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"this is not audio at all" * 100, ""),
    ],
)
def test_bad_audio_leaves_storage_and_feed_untouched(
    project: Project, content: bytes, message: str
) -> None:
    (project.root / "episodes/audio/sample-clip.mp3").write_bytes(content)
    with pytest.raises(EpisodeError) as error:  # found by the plan, before any work
        publish_now(project)
    assert "episodes/audio/sample-clip.mp3" in str(error.value)
    assert message in str(error.value)
    assert stored_files(project) == {}
    assert not (project.root / FEED).exists()
    assert not (project.root / "feeds/interviews.published.json").exists()


def test_interrupted_publish_leaves_nothing_and_recovers(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    ours = f"dfl-audio-{os.getpid()}-*"  # other processes' work folders come and go meanwhile
    temp_before = set(Path(tempfile.gettempdir()).glob(ours))

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(LocalStorage, "put_file", interrupted)
    with pytest.raises(KeyboardInterrupt):
        publish_now(project)
    monkeypatch.undo()
    assert stored_files(project) == {}
    assert not (project.root / FEED).exists()
    assert set(Path(tempfile.gettempdir()).glob(ours)) == temp_before
    result = publish_now(project)
    assert [plan.action for plan in result.plans] == ["encode"]
    assert [e["guid"] for e in parsed_feed(project)["episodes"]] == [GUID]


def test_dry_run_changes_nothing(project: Project) -> None:
    result = publish_now(project, dry_run=True)
    assert [(plan.action, plan.reason) for plan in result.plans] == [("encode", "new episode")]
    assert stored_files(project) == {}
    assert not (project.root / "feeds/interviews.xml").exists()


def test_feed_command_after_metadata_edit_and_check(project: Project) -> None:
    runner = CliRunner()
    root = ["--root", str(project.root)]
    result = runner.invoke(cli, [*root, "publish"])
    assert result.exit_code == 0, result.output
    assert runner.invoke(cli, [*root, "feed", "--check"]).exit_code == 0
    edit(project.root / SAMPLE_EPISODE, 'title: "Welcome to', 'title: "Welcome back to')
    stale = runner.invoke(cli, [*root, "feed", "--check"])
    assert (stale.exit_code, stale.stderr) == (
        1,
        "Error: the feed in feeds/ is stale: run dfl-audio feed\n",
    )
    result = runner.invoke(cli, [*root, "feed"])
    assert result.exit_code == 0
    assert "changed: Welcome back to the Depth First Learning Interviews" in result.stdout
    assert runner.invoke(cli, [*root, "feed", "--check"]).exit_code == 0


def test_publish_json_reports_the_record(project: Project) -> None:
    result = CliRunner().invoke(cli, ["--root", str(project.root), "publish", "--json"])
    assert result.exit_code == 0, result.output
    import json

    report = json.loads(result.stdout)
    (record,) = report["published"]
    assert record["guid"] == GUID
    stored = project.root / "storage" / record["audio_key"]
    assert record["audio_bytes"] == stored.stat().st_size


def test_settings_change_marks_audio_stale() -> None:
    from dfl_audio.models.show import Show

    show = _show(Project(Path(__file__).resolve().parent.parent))
    louder = Show.model_validate({**show.model_dump(), "audio": AudioSettings(loudness=-14)})
    assert episode_audio.settings_digest(show) != episode_audio.settings_digest(louder)


def test_unpublish_takes_the_episode_out_first_then_its_files(project: Project) -> None:
    first = publish_now(project)
    record = first.published[0]
    runner = CliRunner()
    root = ["--root", str(project.root)]
    result = runner.invoke(cli, [*root, "unpublish", str(project.root / SAMPLE_EPISODE)])
    assert result.exit_code == 0, result.output
    assert "removed: Welcome to the Depth First Learning Interviews" in result.stdout
    assert parsed_feed(project)["episodes"] == []
    assert (project.root / "storage" / record.audio_key).is_file()  # kept without --delete-audio
    # a plain publish keeps a withdrawn episode out; naming it publishes it again
    assert publish_now(project).plans == []
    assert parsed_feed(project)["episodes"] == []
    publish_now(project, only=[project.root / SAMPLE_EPISODE])
    assert [e["guid"] for e in parsed_feed(project)["episodes"]] == [GUID]
    result = runner.invoke(
        cli, [*root, "unpublish", str(project.root / SAMPLE_EPISODE), "--delete-audio"]
    )
    assert result.exit_code == 0, result.output
    assert parsed_feed(project)["episodes"] == []
    assert not (project.root / "storage" / record.audio_key).exists()
    state = load_state(project.root / "feeds/interviews.published.json")
    site = dict.fromkeys(["index.html", "sitemap.xml", *state.site_assets], ANY)  # its page went
    assert stored_files(project) == {
        "interviews.xml": stored_files(project)["interviews.xml"],
        state.show_artwork_key: ANY,
        **site,
    }


def test_unpublish_of_an_unpublished_episode_is_an_error(project: Project) -> None:
    result = CliRunner().invoke(
        cli, ["--root", str(project.root), "unpublish", str(project.root / SAMPLE_EPISODE)]
    )
    assert (result.exit_code, result.stderr) == (
        1,
        f"Error: {SAMPLE_EPISODE}: was never published; nothing to unpublish\n",
    )


def test_two_publishers_keep_each_others_episodes(project: Project, tmp_path: Path) -> None:
    """B's clone lacks A's new episode; B's publish must not drop it from the shared feed."""
    other = Project(tmp_path / "clone-b")
    shutil.copytree(project.root / "episodes", other.root / "episodes")
    shared = storage_of(project)
    (other.root / SAMPLE_EPISODE).unlink()
    second = other.root / "episodes/2026-11-21-second.md"
    second.write_text(
        (project.root / SAMPLE_EPISODE)
        .read_text()
        .replace("2026-11-20 09:00:00", "2026-11-21 09:00:00")
        .replace(GUID, "guid-from-b")
    )
    run(project, shared, RunOptions(now=NOW))
    run(other, shared, RunOptions(now=NOW))
    stored_feed, _ = shared.get("interviews.xml") or (b"", "")
    guids = [e["guid"] for e in podcastparser.parse("x", io.BytesIO(stored_feed))["episodes"]]
    assert guids == ["guid-from-b", GUID]
    # and A, publishing again, keeps B's episode too
    run(project, shared, RunOptions(now=NOW))
    assert [e["guid"] for e in parsed_feed(project)["episodes"]] == ["guid-from-b", GUID]


def test_feed_refuses_a_storage_that_does_not_hold_the_published_files(project: Project) -> None:
    publish_now(project)
    result = CliRunner().invoke(
        cli, ["--root", str(project.root), "feed", "--storage", "elsewhere"]
    )
    elsewhere = (project.root / "elsewhere").resolve()
    assert (result.exit_code, result.stderr) == (
        1,
        "Error: feeds/interviews.published.json: the published files are not in local folder "
        f"{elsewhere}/ (another storage, or a new or emptied folder); run dfl-audio publish "
        "to store them there first\n",
    )
    assert not (project.root / "elsewhere").exists()
    moved = CliRunner().invoke(
        cli, ["--root", str(project.root), "publish", "--storage", "elsewhere"]
    )
    assert moved.exit_code == 0, moved.output
    feed = (project.root / "elsewhere/interviews.xml").read_bytes()
    for url in re.findall(rb'(?:url|href)="https://audio\.depthfirstlearning\.com/([^"]+)"', feed):
        assert (project.root / "elsewhere" / url.decode()).is_file(), url


def test_a_fresh_or_emptied_storage_folder_gets_everything_again(project: Project) -> None:
    """A clone has the state file but not the git-ignored storage folder it describes."""
    publish_now(project)
    shutil.rmtree(project.root / "storage")
    result = publish_now(project)
    assert [(plan.action, plan.reason) for plan in result.plans] == [("encode", "new episode")]
    feed = (project.root / FEED).read_bytes()
    for key in re.findall(rb'(?:url|href)="https://audio\.depthfirstlearning\.com/([^"]+)"', feed):
        assert (project.root / "storage" / key.decode()).is_file(), key


def test_invalid_episode_writes_nothing(project: Project) -> None:
    edit(project.root / SAMPLE_EPISODE, "explicit: false", "explicit: perhaps")
    result = CliRunner().invoke(cli, ["--root", str(project.root), "publish"])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {SAMPLE_EPISODE}:6: explicit:")
    assert not (project.root / "storage").exists()
    assert list((project.root / "feeds").iterdir()) == []


def test_analytics_prefix_wraps_enclosures_only(project: Project) -> None:
    edit(
        project.show_file,
        "  location: storage",
        "  location: storage\n"
        "  analytics_prefix: https://op3.dev/e,pg=d0353db7-a715-5b55-adbd-72f8142a995d/",
    )
    publish_now(project)
    episode = parsed_feed(project)["episodes"][0]
    url = episode["enclosures"][0]["url"]
    assert url.startswith(
        "https://op3.dev/e,pg=d0353db7-a715-5b55-adbd-72f8142a995d/audio.depthfirstlearning.com/audio/welcome-"
    )
    xml = (project.root / FEED).read_text()
    assert 'podcast:transcript url="https://audio.depthfirstlearning.com/audio/welcome-' in xml


def test_publishing_a_file_that_is_not_an_episode_is_an_error(project: Project) -> None:
    result = CliRunner().invoke(
        cli, ["--root", str(project.root), "publish", str(project.root / "episodes/nope.md")]
    )
    assert (result.exit_code, result.stderr) == (
        1,
        "Error: episodes/nope.md: not an episode file of this show (episodes/*.md)\n",
    )
