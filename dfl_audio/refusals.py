"""What ``publish`` would refuse, found without touching the storage, so ``validate`` says it
first: published GUIDs that changed or whose file is gone, and (``--audio``) recordings that
are not readable audio or that their chapters do not fit.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from dfl_audio.episode_audio import source_fingerprint
from dfl_audio.episodes import Project
from dfl_audio.errors import AudioError, EpisodeError, Problem
from dfl_audio.models.episode import Episode
from dfl_audio.models.show import Show
from dfl_audio.state import PublishState, load_state
from dfl_audio.validate import late_transcript_problems, load_catalog


def recording_problems(project: Project, episodes: Sequence[Episode]) -> list[Problem]:
    """Each recording must be readable audio that its chapters and transcript fit (probed,
    not decoded)."""
    from dfl_audio import audio  # numpy and mutagen load only when audio is looked at
    from dfl_audio.tags import chapter_problem

    problems = []
    for episode in episodes:
        if episode.meta.audio is None:
            continue
        try:
            probe = audio.probe(project.root / episode.meta.audio)
        except AudioError as exc:
            found = f"{episode.meta.audio}: {exc.message}"
            problems.append(Problem(episode.path, None, "audio", found))
            continue
        late = chapter_problem(episode, probe.duration)
        if late:
            problems.append(Problem(episode.path, None, "chapters", late))
        problems += late_transcript_problems(project.root, episode, probe.duration)
    return problems


def published_transcript_problems(
    project: Project, episodes: Sequence[Episode], state: PublishState
) -> list[Problem]:
    """A published episode's transcript must fit its published recording (the length the
    state records), as ``feed`` and ``publish`` check; a recording changed since is for
    ``--audio`` (and ``publish``) to measure."""
    problems = []
    for episode in episodes:
        record = state.episodes.get(episode.meta.guid)
        if record is None or not record.interview_seconds or episode.meta.audio is None:
            continue
        source = project.root / episode.meta.audio
        if not source.is_file() or (record.source_size, record.source_mtime_ns) != (
            source_fingerprint(source)
        ):
            continue
        problems += late_transcript_problems(project.root, episode, record.interview_seconds)
    return problems


def published_guid_problems(episodes: Sequence[Episode], state: PublishState) -> list[Problem]:
    """A published GUID that no episode file carries any more would leave the feed: its file
    changed the GUID, or is gone. ``publish`` refuses both (``--allow-removal`` aside)."""
    carried = {episode.meta.guid for episode in episodes}
    by_path = {episode.path: episode for episode in episodes}
    problems = []
    for guid, record in sorted(state.episodes.items()):
        if guid in carried or guid in state.withdrawn:
            continue
        now = by_path.get(record.episode_path)
        if now is not None:
            problems.append(
                Problem(
                    record.episode_path,
                    None,
                    "guid",
                    f"was {guid} when it was published; apps would lose or duplicate the "
                    "episode: restore it",
                )
            )
        else:
            problems.append(
                Problem(
                    record.episode_path,
                    None,
                    "",
                    f"was published (guid {guid}) and is gone: restore it, or let it leave the "
                    "feed with publish --allow-removal",
                )
            )
    return problems


def validate_project(
    project: Project, only: Sequence[Path] = (), *, audio: bool = False
) -> tuple[Show, list[Episode]]:
    """``dfl-audio validate``: every problem of every file in one run — the files' own, the
    published GUIDs publish would refuse to drop, and with ``audio`` the recordings'."""
    catalog = load_catalog(project, only)
    everything = load_catalog(project) if only else catalog
    problems = list(catalog.problems)
    if catalog.show is not None:
        state_path = project.state_file(catalog.show)
        state = load_state(state_path, project.rel(state_path))
        unparsed = {problem.path for problem in everything.problems}
        problems += [
            problem
            for problem in published_guid_problems(everything.episodes, state)
            if problem.path not in unparsed
        ]
        if audio:
            due = [episode for episode in catalog.episodes if not episode.meta.draft]
            problems += recording_problems(project, due)
        else:
            problems += published_transcript_problems(project, catalog.episodes, state)
    if only:
        wanted = {project.rel(path) for path in only}
        transcripts = {e.meta.transcript for e in catalog.episodes if e.meta.transcript}
        shown = {project.rel(project.show_file)} | wanted | transcripts
        problems = [problem for problem in problems if problem.path in shown]
    if problems or catalog.show is None:
        raise EpisodeError(problems or [Problem("episodes/show.yaml", None, "", "missing")])
    return catalog.show, catalog.episodes
