"""The site the browser tests load: published with the CLI, served as ``dfl-audio serve`` does.

:func:`serve_site` is the one place that decides what is under test; the browser fixtures and
scripts/screenshots.sh use it. The shipped show is copied and its sample episode given 40 s
of two-voice speech, three chapters and a sixteen-cue transcript, so that skips, chapters and
a following transcript have room to show.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from audio_fixtures import export, run_ffmpeg, speech
from click.testing import CliRunner
from hour_transcript import SECONDS as HOUR
from hour_transcript import hour_vtt
from project_fixtures import REPO, SAMPLE_EPISODE

from dfl_audio.cli import cli
from dfl_audio.config import Overrides
from dfl_audio.episodes import Project
from dfl_audio.preview import site_for
from dfl_audio.serve import start

SECONDS = 40.0
HOUR_AUDIO = "episodes/audio/hour.wav"
CUE_SECONDS = 2.5
CHAPTERS = """chapters:
  - start: "0:00"
    title: Welcome
  - start: "0:12"
    title: Attention as a weighted average
  - start: "0:25"
    title: Making it fast
    url: https://www.depthfirstlearning.com/
"""
LINES = (
    ("Host", "Welcome back to Depth First Learning."),
    ("Host", "Today we talk about attention and memory."),
    ("Guest", "The key idea is simple."),
    ("Guest", "Compute a weighted average."),
    ("Guest", "The weights come from how well each key matches the query."),
    ("Host", "That sounds expensive."),
    ("Host", "How did you make it fast enough to train on long sequences?"),
    ("Guest", "We looked at where the time went."),
    ("Guest", "Most of it was memory traffic, not arithmetic."),
    ("Guest", "So we tiled the computation."),
    ("Guest", "Each block stays in fast memory."),
    ("Guest", "And the result is exact, not an approximation."),
    ("Host", "That surprised a lot of people."),
    ("Host", "What would you tell a student starting out?"),
    ("Guest", "Read the original papers slowly."),
    ("Guest", "And write the code yourself."),
)


@dataclass(frozen=True)
class SiteUrls:
    show: str  # the show page
    episode: str  # an episode page with a player, chapters and a transcript


def _clock(seconds: float) -> str:
    return f"00:00:{int(seconds):02d}.{int(seconds * 1000) % 1000:03d}"


def transcript_vtt() -> str:
    """Sixteen cues of 2.5 s, two speakers, as WebVTT with voice tags."""
    blocks = ["WEBVTT", ""]
    for index, (speaker, text) in enumerate(LINES):
        start, end = index * CUE_SECONDS + 0.25, (index + 1) * CUE_SECONDS
        blocks += [f"{_clock(start)} --> {_clock(end)}", f"<v {speaker}>{text}", ""]
    return "\n".join(blocks)


def make_project(root: Path) -> Project:
    """The shipped show, its sample episode made long enough for the player to be exercised."""
    shutil.copytree(REPO / "episodes", root / "episodes")
    (root / "feeds").mkdir()
    scratch = root / "scratch"
    scratch.mkdir()
    audio = root / "episodes" / "audio"
    mp3 = export(speech(scratch, SECONDS), scratch, "speech", "mp3", rate=44100, channels=1)
    shutil.move(mp3, audio / "sample-clip.mp3")
    (audio / "sample-clip.vtt").write_text(transcript_vtt(), encoding="utf-8")
    episode = root / SAMPLE_EPISODE
    text = episode.read_text(encoding="utf-8")
    start, end = text.index("chapters:\n"), text.index("links:\n")
    episode.write_text(text[:start] + CHAPTERS + text[end:], encoding="utf-8")
    return Project(root)


@contextmanager
def serve_site(folder: Path) -> Iterator[SiteUrls]:
    """Publish the project to its local storage with the CLI, then serve it on 127.0.0.1."""
    with published_and_served(make_project(folder)) as base:
        yield SiteUrls(show=base, episode=base + "episodes/welcome.html")


@contextmanager
def published_and_served(project: Project) -> Iterator[str]:
    """Publish ``project`` with the CLI and serve it on 127.0.0.1; yields the base URL."""
    result = CliRunner().invoke(cli, ["--root", str(project.root), "--quiet", "publish"])
    assert result.exit_code == 0, result.output
    server, base = start(site_for(project, Overrides(None, None)), port=0)
    try:
        yield base
    finally:
        server.shutdown()


def make_hour_project(root: Path) -> Project:
    """The shipped show, its sample episode an hour long with an hour's transcript (600 cues):
    the size of every real DFL interview. The audio is the sample clip looped, as 8 kHz WAV
    (quick to make; publish encodes it as any source)."""
    shutil.copytree(REPO / "episodes", root / "episodes")
    (root / "feeds").mkdir()
    clip = root / "episodes" / "audio" / "sample-clip.mp3"
    looped = root / HOUR_AUDIO
    seconds = str(HOUR + 20)  # the transcript ends just before the hour
    run_ffmpeg("-stream_loop", "-1", "-i", str(clip), "-t", seconds, "-ac", "1", "-ar", "8000",
               "-c:a", "pcm_s16le", str(looped))  # fmt: skip
    (root / "episodes" / "audio" / "sample-clip.vtt").write_text(hour_vtt(), encoding="utf-8")
    episode = root / SAMPLE_EPISODE
    text = episode.read_text(encoding="utf-8")
    episode.write_text(text.replace("episodes/audio/sample-clip.mp3", HOUR_AUDIO), encoding="utf-8")
    return Project(root)


@contextmanager
def serve_hour_site(folder: Path) -> Iterator[str]:
    """Publish the hour-long episode with the CLI, serve it; yields its page's URL."""
    with published_and_served(make_hour_project(folder)) as base:
        yield base + "episodes/welcome.html"
