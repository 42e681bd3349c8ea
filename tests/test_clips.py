"""Intros and outros in the show and episode files: validated, resolved, and what publish
does with them (shifted chapters, transcript and CHAP frames; stale audio when a clip
changes). The clips are real espeak-ng speech."""

from __future__ import annotations

import json
import shutil

import pytest
from audio_fixtures import espeak, sine, write_wav
from mutagen.id3 import ID3
from project_fixtures import REPO, SAMPLE_EPISODE, edit, project
from pydub import AudioSegment
from test_publish import GUID, publish_now

from dfl_audio import audio, episode_audio, mp3_calibration
from dfl_audio.audio.assemble import prepare_clip
from dfl_audio.episodes import Project, read_show
from dfl_audio.models.episode import episode_clip
from dfl_audio.records import Published
from dfl_audio.state import load_state
from dfl_audio.validate import load_catalog

__all__ = ["project"]

SHOW = "episodes/show.yaml"
STATE = "feeds/interviews.published.json"
INTRO = "episodes/audio/intro.wav"
OUTRO = "episodes/audio/outro.wav"


def make_clip(project: Project, rel: str, text: str, lead_ms: int = 400) -> str:
    """Speech by espeak-ng with silence around it, as the editor would drop it in."""
    raw = espeak(project.root / (rel + ".raw.wav"), text)
    speech = AudioSegment.from_wav(raw)
    rate = speech.frame_rate
    padded = AudioSegment.silent(lead_ms, rate) + speech + AudioSegment.silent(600, rate)
    padded.export(project.root / rel, format="wav")
    raw.unlink()
    return rel


def set_show_clips(project: Project, **clips: str) -> None:
    with (project.root / SHOW).open("a", encoding="utf-8") as handle:
        handle.writelines(f"{role}: {value}\n" for role, value in clips.items())


def set_episode_clip(project: Project, role: str, value: str) -> None:
    edit(project.root / SAMPLE_EPISODE, "explicit: false\n", f"explicit: false\n{role}: {value}\n")


def line_of(project: Project, rel: str, text: str) -> int:
    lines = (project.root / rel).read_text(encoding="utf-8").splitlines()
    return next(number for number, line in enumerate(lines, 1) if line.startswith(text))


def problems_of(project: Project) -> list[str]:
    return [str(problem) for problem in load_catalog(project).problems]


def record_of(project: Project) -> Published:
    return load_state(project.root / STATE).episodes[GUID]


def intro_length(project: Project, rel: str) -> float:
    """What prepare_clip makes of the clip at the show's output format."""
    show = read_show(project).item
    assert show is not None
    return prepare_clip(
        project.root / rel,
        sample_rate=show.audio.sample_rate,
        channels=show.audio.channels,
        loudness_lufs=show.audio.loudness,
    ).seconds


@pytest.fixture(autouse=True)
def _calibration_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(mp3_calibration.CACHE_ENV_VAR, str(tmp_path_factory.getbasetemp() / "cache"))


# --- the files -----------------------------------------------------------------------------


def test_an_episode_inherits_overrides_or_turns_off_the_shows_clips(project: Project) -> None:
    make_clip(project, INTRO, "Depth First Learning.")
    make_clip(project, OUTRO, "Thanks for listening.")
    set_show_clips(project, intro=INTRO, outro=OUTRO)
    make_clip(project, "episodes/audio/other.wav", "A special episode.")
    set_episode_clip(project, "intro", "episodes/audio/other.wav")
    set_episode_clip(project, "outro", "false")
    catalog = load_catalog(project)
    assert catalog.problems == []
    show, episodes = catalog.require_valid()
    welcome = next(episode for episode in episodes if episode.path == SAMPLE_EPISODE)
    draft = next(episode for episode in episodes if episode.path != SAMPLE_EPISODE)
    assert episode_clip(show, welcome.meta, "intro") == "episodes/audio/other.wav"
    assert episode_clip(show, welcome.meta, "outro") is None
    assert (episode_clip(show, draft.meta, "intro"), episode_clip(show, draft.meta, "outro")) == (
        INTRO,
        OUTRO,
    )


def test_clip_problems_are_located(project: Project) -> None:
    folder = project.root / "episodes/audio"
    write_wav(folder / "long.wav", sine(61.0, 300, 0.2, rate=8000)[:, None], rate=8000)
    (folder / "notes.wav").write_text("these are notes, not audio\n", encoding="utf-8")
    set_show_clips(project, intro="episodes/audio/missing.wav", outro="episodes/audio/long.wav")
    set_episode_clip(project, "intro", "episodes/audio/notes.wav")
    set_episode_clip(project, "outro", "true")
    show_intro, show_outro = line_of(project, SHOW, "intro:"), line_of(project, SHOW, "outro:")
    ep_outro = line_of(project, SAMPLE_EPISODE, "outro:")
    problems = problems_of(project)
    assert problems[:2] == [
        f"{SHOW}:{show_intro}: intro: file not found: episodes/audio/missing.wav",
        f"{SHOW}:{show_outro}: outro: episodes/audio/long.wav: longer than 60 s: an intro or "
        "outro must be a short clip",
    ]
    assert problems[2] == (
        f"{SAMPLE_EPISODE}:{ep_outro}: outro: must be a path to an audio clip, or false for none;"
        " got True"
    )
    edit(project.root / SAMPLE_EPISODE, "outro: true\n", "")
    ep_intro = line_of(project, SAMPLE_EPISODE, "intro:")
    (ep_problem,) = [p for p in problems_of(project) if p.startswith(SAMPLE_EPISODE)]
    assert ep_problem.startswith(
        f"{SAMPLE_EPISODE}:{ep_intro}: intro: episodes/audio/notes.wav: not readable audio: "
        "ffmpeg: Invalid data found when processing input"
    )


def test_a_clip_may_not_leave_the_repository(project: Project) -> None:
    set_show_clips(project, intro="../intro.wav")
    line = line_of(project, SHOW, "intro:")
    assert problems_of(project) == [
        f"{SHOW}:{line}: intro: must be a path inside the repository (no '..' or leading '/'): "
        "'../intro.wav'"
    ]


def test_a_transcript_must_parse_with_or_without_an_intro(project: Project) -> None:
    (project.root / "episodes/audio/sample-clip.vtt").write_text("not webvtt\n", encoding="utf-8")
    line = line_of(project, SAMPLE_EPISODE, "transcript:")
    expected = [
        f"{SAMPLE_EPISODE}:{line}: transcript: episodes/audio/sample-clip.vtt: is not a valid "
        "WebVTT transcript: Invalid format"
    ]
    assert problems_of(project) == expected  # published as it is: apps must read it
    set_show_clips(project, intro=make_clip(project, INTRO, "Depth First Learning."))
    assert problems_of(project) == expected


# --- publish -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def with_intro(tmp_path_factory: pytest.TempPathFactory) -> tuple[Project, float]:
    """The sample published with a show intro and outro; and the intro's prepared length."""
    project = Project(tmp_path_factory.mktemp("with-intro"))
    shutil.copytree(REPO / "episodes", project.root / "episodes")
    set_show_clips(
        project,
        intro=make_clip(project, INTRO, "Depth First Learning."),
        outro=make_clip(project, OUTRO, "Thanks for listening."),
    )
    publish_now(project)
    return project, intro_length(project, INTRO)


def test_publish_records_the_intro_length(with_intro: tuple[Project, float]) -> None:
    project, seconds = with_intro
    assert 0.8 < seconds < 3.0  # espeak's phrase, its padding trimmed
    assert record_of(project).intro_seconds == pytest.approx(seconds, abs=1e-6)


def test_the_mp3_plays_intro_interview_and_outro_on_target(
    with_intro: tuple[Project, float],
) -> None:
    """The clips are stitched into the one encode: the MP3 is exactly as long as the three
    parts, speech is heard during the intro, and the whole is on the loudness target."""
    project, seconds = with_intro
    record = record_of(project)
    mp3 = project.root / "storage" / record.audio_key
    outro = intro_length(project, OUTRO)
    interview = audio.probe(project.root / "episodes/audio/sample-clip.mp3").duration
    assert record.audio_report is not None
    assert record.audio_report.intro_seconds == pytest.approx(seconds, abs=1e-3)
    assert record.audio_report.outro_seconds == pytest.approx(outro, abs=1e-3)
    assert record.duration == pytest.approx(seconds + interview + outro, abs=0.05)
    assert audio.probe(mp3).duration == pytest.approx(record.duration, abs=0.06)
    decoded = AudioSegment.from_file(mp3)
    intro_part = decoded[: int(seconds * 1000)]
    assert intro_part.dBFS > -30  # the intro's words, not silence before the interview
    lufs, peak = audio.measure_file_with_ffmpeg(mp3)
    # the sample is dry synthetic speech: in mono it may stop short of -16 at the drive cap
    assert lufs == pytest.approx(-16.0, abs=0.5)
    assert peak <= -1.0


def test_stored_chapters_and_transcript_move_by_the_intro(
    with_intro: tuple[Project, float],
) -> None:
    project, seconds = with_intro
    record = record_of(project)
    assert record.chapters_key and record.transcripts
    chapters = json.loads((project.root / "storage" / record.chapters_key).read_bytes())
    starts = [chapter["startTime"] for chapter in chapters["chapters"]]
    assert starts == pytest.approx([seconds, 3 + seconds], abs=0.001)
    vtt_key = record.transcripts[0].key
    vtt = (project.root / "storage" / vtt_key).read_text(encoding="utf-8")
    original = (project.root / "episodes/audio/sample-clip.vtt").read_text(encoding="utf-8")
    first_cue = next(line for line in vtt.splitlines() if "-->" in line)
    start_ms = round((0.25 + seconds) * 1000)
    assert first_cue.startswith(f"00:00:{start_ms // 1000:02d}.{start_ms % 1000:03d} --> ")
    assert vtt.count("<v Host>") == original.count("<v Host>") == 2
    assert "<v Guest>Thanks for having me. Happy to be here." in vtt
    assert vtt_key.endswith(".vtt")
    srt = (project.root / "storage" / record.transcripts[1].key).read_text(encoding="utf-8")
    assert f"00:00:{start_ms // 1000:02d},{start_ms % 1000:03d} --> " in srt  # made from the cues
    segments = json.loads((project.root / "storage" / record.transcripts[2].key).read_bytes())
    assert segments["segments"][0]["startTime"] == pytest.approx(0.25 + seconds, abs=0.001)


def test_chap_frames_move_by_the_intro(with_intro: tuple[Project, float]) -> None:
    project, seconds = with_intro
    tags = ID3(project.root / "storage" / record_of(project).audio_key)
    chapters = sorted(tags.getall("CHAP"), key=lambda chap: chap.start_time)
    assert [chap.start_time for chap in chapters] == [
        round(seconds * 1000),
        round((3 + seconds) * 1000),
    ]
    assert [str(chap.sub_frames["TIT2"]) for chap in chapters] == [
        "Welcome",
        "The guest says hello",
    ]


def test_turning_the_intro_off_publishes_the_files_as_they_are(project: Project) -> None:
    set_show_clips(project, intro=make_clip(project, INTRO, "Depth First Learning."))
    set_episode_clip(project, "intro", "false")
    publish_now(project)
    record = record_of(project)
    assert record.intro_seconds == 0.0
    assert record.transcripts[0].type == "text/vtt"
    stored = (project.root / "storage" / record.transcripts[0].key).read_bytes()
    assert stored == (project.root / "episodes/audio/sample-clip.vtt").read_bytes()
    show = read_show(project).item
    assert show is not None
    assert record.settings_digest == episode_audio.settings_digest(show)


def test_only_a_changed_clip_makes_the_audio_stale(project: Project) -> None:
    set_show_clips(project, intro=make_clip(project, INTRO, "Depth First Learning."))
    publish_now(project)

    def plan() -> tuple[str, str]:
        (only,) = publish_now(project, dry_run=True).plans
        return only.action, only.reason

    stale = ("encode", "the audio settings or the intro/outro changed")
    assert plan()[0] == "current"
    (project.root / INTRO).touch()  # touched, same bytes: still current
    assert plan()[0] == "current"
    make_clip(project, INTRO, "Depth First Learning, again.")
    assert plan() == stale
    publish_now(project)
    assert plan()[0] == "current"
    set_episode_clip(project, "intro", "false")
    assert plan() == stale
    set_episode_clip(project, "outro", make_clip(project, OUTRO, "Goodbye."))
    assert plan() == stale


def test_without_clips_the_digest_is_the_one_already_recorded(project: Project) -> None:
    show = read_show(project).item
    assert show is not None
    catalog = load_catalog(project)
    episode = next(e for e in catalog.episodes if e.path == SAMPLE_EPISODE)
    assert episode_audio.episode_settings_digest(
        project, show, episode
    ) == episode_audio.settings_digest(show)
    assert episode_audio.settings_digest(show) == _digest_before_clips(show)


def _digest_before_clips(show: object) -> str:
    """How 0.1 computed it: the records already in state files must stay current."""
    import hashlib

    audio = show.audio.model_dump()  # type: ignore[attr-defined]
    text = json.dumps(audio, sort_keys=True) + episode_audio.PIPELINE_VERSION
    return hashlib.sha256(text.encode()).hexdigest()[:16]
