"""Intros and outros in the show and episode files: validated, resolved, and what publish
does with them (shifted chapters, transcript and CHAP frames; stale audio when a clip
changes). The clips are real espeak-ng speech."""

from __future__ import annotations

import pytest
from audio_fixtures import espeak, sine, write_wav
from project_fixtures import SAMPLE_EPISODE, edit, project
from pydub import AudioSegment

from dfl_audio import ffmpeg
from dfl_audio.episodes import Project
from dfl_audio.models import episode_clip
from dfl_audio.validate import load_catalog

__all__ = ["project"]

SHOW = "episodes/show.yaml"
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


@pytest.fixture(autouse=True)
def _calibration_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ffmpeg.CACHE_ENV_VAR, str(tmp_path_factory.getbasetemp() / "cache"))


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


def test_a_transcript_an_intro_moves_must_parse(project: Project) -> None:
    (project.root / "episodes/audio/sample-clip.vtt").write_text("not webvtt\n", encoding="utf-8")
    assert problems_of(project) == []  # without an intro the file is published as it is
    set_show_clips(project, intro=make_clip(project, INTRO, "Depth First Learning."))
    line = line_of(project, SAMPLE_EPISODE, "transcript:")
    assert problems_of(project) == [
        f"{SAMPLE_EPISODE}:{line}: transcript: episodes/audio/sample-clip.vtt: cannot be "
        "re-timed: Invalid format"
    ]
