"""② Validate the show and its episodes: every problem at once, each located.

Field-level rules live in the models; this module adds what only the whole catalog can
tell: files that must exist, artwork Apple accepts, slugs and GUIDs that must be unique,
episode numbers a serial show needs.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from dfl_audio.artwork import artwork_problems, chapter_image_problems
from dfl_audio.episodes import Parsed, Project, read_episode, read_show
from dfl_audio.errors import AudioError, EpisodeError, Problem, TranscriptError
from dfl_audio.mediatypes import TRANSCRIPT_SOURCES
from dfl_audio.models.episode import CLIP_ROLES, Episode
from dfl_audio.models.fields import is_remote_image
from dfl_audio.models.show import Show
from dfl_audio.parse_cache import cache_for
from dfl_audio.transcript_check import transcript_slips
from dfl_audio.transcript_cues import Slip


@dataclass(frozen=True)
class Catalog:
    """The show and every episode that parsed, plus every problem found anywhere."""

    show: Show | None
    episodes: list[Episode]
    problems: list[Problem]

    def require_valid(self) -> tuple[Show, list[Episode]]:
        """The show and episodes, or an :class:`EpisodeError` listing every problem."""
        if self.problems or self.show is None:
            raise EpisodeError(
                self.problems or [Problem("episodes/show.yaml", None, "", "missing")]
            )
        return self.show, self.episodes


def load_catalog(project: Project, only: Sequence[Path] = ()) -> Catalog:
    """Read and check the show and all episodes (``only`` limits which episodes are reported).

    Uniqueness is always checked against every episode file, so validating one file still
    catches a slug or GUID that another file already uses.
    """
    token = _real_folders.set({})
    try:
        return _load_catalog(project, only)
    finally:
        _real_folders.reset(token)


def _load_catalog(project: Project, only: Sequence[Path]) -> Catalog:
    show_file = read_show(project)
    cache = cache_for(project)
    parsed = [cache.read(project, path) for path in project.episode_files()]
    wanted = {project.rel(path) for path in only}
    if wanted:
        missing = wanted - {item.rel for item in parsed}
        parsed += [read_episode(project, project.root / rel) for rel in sorted(missing)]
    cache.save()
    problems = list(show_file.problems)
    if show_file.item is not None:
        problems += show_problems(project.root, show_file)
    problems += catalog_problems(parsed)
    for item in parsed:
        problems += item.problems
        if item.item is not None:
            problems += episode_file_problems(project.root, item, show_file.item)
        else:  # its model did not parse: the files it names are still checked
            problems += named_file_problems(project.root, item)
    if wanted:
        parsed = [item for item in parsed if item.rel in wanted]
        shown = wanted | {show_file.rel} | transcript_files(parsed)
        problems = [p for p in problems if p.path in shown]
    problems = list(dict.fromkeys(problems))  # a transcript two episodes share: once
    episodes = [item.item for item in parsed if item.item is not None]
    return Catalog(show_file.item, episodes, problems)


def transcript_files(parsed: Iterable[Parsed[Episode]]) -> set[str]:
    """The transcript files these episodes name: their problems are located in them."""
    return {item.item.meta.transcript for item in parsed if item.item and item.item.meta.transcript}


def show_problems(root: Path, parsed: Parsed[Show]) -> list[Problem]:
    """The show's artwork must exist and be what Apple accepts; its clips must be short audio."""
    show = parsed.item
    assert show is not None
    problems = _artwork(root, parsed, show.artwork, "artwork", show_level=True)
    for role in CLIP_ROLES:
        clip = getattr(show, role)
        if clip is not None:
            problems += _clip(root, parsed, clip, role)
    return problems


def episode_file_problems(root: Path, parsed: Parsed[Episode], show: Show | None) -> list[Problem]:
    """Files an episode names must exist inside the repository; published ones need audio;
    a transcript that an intro will move must parse."""
    episode = parsed.item
    assert episode is not None
    meta = episode.meta
    problems: list[Problem] = []
    if meta.audio is None and not meta.draft:
        problems.append(_at(parsed, "audio", "is required unless the episode is a draft"))
    if meta.audio is not None and not meta.draft:  # a draft may wait for its recording
        problems += _existing_file(root, parsed, meta.audio, "audio")
    if meta.artwork is not None:
        problems += _artwork(root, parsed, meta.artwork, "artwork", show_level=False)
    for index, chapter in enumerate(meta.chapters):
        if chapter.img is not None and not is_remote_image(chapter.img):
            problems += _chapter_image(root, parsed, chapter.img, index)
    if meta.transcript is not None:
        suffix = PurePosixPath(meta.transcript).suffix.lower()
        if suffix not in TRANSCRIPT_SOURCES:
            kinds = ", ".join(TRANSCRIPT_SOURCES)
            problems.append(_at(parsed, "transcript", f"must be one of {kinds}, got {suffix!r}"))
        problems += _existing_file(root, parsed, meta.transcript, "transcript")
    for role in CLIP_ROLES:
        own = getattr(meta, role)
        if isinstance(own, str):
            problems += _clip(root, parsed, own, role)
    if meta.transcript and not problems:  # every format is made from it: it must be sound
        problems += transcript_problems(root, parsed, meta.transcript)
    serial = show is not None and show.type == "serial"
    if serial and meta.episode_type == "full" and meta.episode is None:
        problems.append(_at(parsed, "episode", "is required: the show is serial"))
    return problems


def named_file_problems(root: Path, parsed: Parsed[Episode]) -> list[Problem]:
    """The files an episode that did not parse names must exist all the same: one validate
    run reports every problem, not the next one after the first is fixed."""
    problems = []
    for field, rel_path in parsed.named_files.items():
        path = PurePosixPath(rel_path)
        if rel_path.strip() and not path.is_absolute() and ".." not in path.parts:
            problems += _existing_file(root, parsed, rel_path, field)
    return problems


def catalog_problems(parsed: Iterable[Parsed[Episode]]) -> list[Problem]:
    """Slugs, GUIDs and season/episode numbers must each belong to one episode file.

    GUIDs are compared ignoring letter case: some podcast apps and databases do, and would
    merge the two episodes (a GUID's case also changes when a UUID is retyped).
    """
    problems: list[Problem] = []
    owners: dict[tuple[str, object], tuple[str, object]] = {}
    for item in parsed:
        if item.item is None:
            continue
        meta = item.item.meta
        keys: list[tuple[str, object, object]] = [
            ("slug", item.item.slug, item.item.slug),
            ("guid", meta.guid.casefold(), meta.guid),
        ]
        if meta.episode is not None:
            numbering = _numbering(meta.season, meta.episode)
            keys.append(("episode", (meta.season, meta.episode), numbering))
        for field, key, shown in keys:
            first, first_shown = owners.setdefault((field, key), (item.rel, shown))
            if first != item.rel:
                how = f" as {first_shown} (GUIDs are compared ignoring case)"
                same = first_shown == shown
                message = f"{shown} is already used by {first}" + ("" if same else how)
                problems.append(_at(item, field, message))
    return problems


def _numbering(season: int | None, episode: int | None) -> str:
    return f"season {season} episode {episode}" if season else f"episode {episode}"


def _at(parsed: Parsed[Episode] | Parsed[Show], field: str, message: str) -> Problem:
    return Problem(parsed.rel, parsed.line_of(field), field, message)


def _existing_file(
    root: Path, parsed: Parsed[Episode] | Parsed[Show], rel_path: str, field: str
) -> list[Problem]:
    path = root / rel_path
    if not path.is_file():
        return [_at(parsed, field, f"file not found: {rel_path}")]
    if not _real_path(path).startswith(_real_root(root)):
        return [_at(parsed, field, f"{rel_path} points outside the repository")]
    return []


# Folder → its real path, for one load_catalog: a thousand episodes name files in a few
# folders, and resolving every component of every path was a third of reading the catalog.
_real_folders: ContextVar[dict[str, str] | None] = ContextVar("_real_folders", default=None)


def _real_path(path: Path) -> str:
    """``os.path.realpath(path)``, resolving each folder once per catalog read: a file that
    is not a symlink is its folder's real path plus its name."""
    folders = _real_folders.get()
    name = os.fspath(path)
    if folders is None or os.path.islink(name):
        return os.path.realpath(name)
    folder, base = os.path.split(name)
    if folder not in folders:
        folders[folder] = os.path.realpath(folder)
    return os.path.join(folders[folder], base)


@functools.lru_cache(maxsize=8)
def _real_root(root: Path) -> str:
    """The repository's real path with a trailing separator: a symlink may not lead out."""
    return os.path.join(os.path.realpath(root), "")


def _artwork(
    root: Path,
    parsed: Parsed[Episode] | Parsed[Show],
    rel_path: str,
    field: str,
    *,
    show_level: bool,
) -> list[Problem]:
    missing = _existing_file(root, parsed, rel_path, field)
    if missing:
        return missing
    path = root / rel_path
    stat = path.stat()
    messages = _artwork_problems(path, stat.st_size, stat.st_mtime_ns, show_level)
    return [_at(parsed, field, f"{rel_path}: {message}") for message in messages]


def _chapter_image(root: Path, parsed: Parsed[Episode], rel_path: str, index: int) -> list[Problem]:
    """A chapter's repository image: present, inside the repository, an image apps show."""
    field = f"chapters[{index}].img"
    line = parsed.line_of("chapters", index, "img")
    missing = _existing_file(root, parsed, rel_path, field)
    if missing:
        return [Problem(parsed.rel, line, field, problem.message) for problem in missing]
    path = root / rel_path
    stat = path.stat()
    messages = _chapter_image_problems(path, stat.st_size, stat.st_mtime_ns)
    return [Problem(parsed.rel, line, field, f"{rel_path}: {message}") for message in messages]


@functools.lru_cache(maxsize=256)
def _chapter_image_problems(path: Path, size: int, mtime_ns: int) -> tuple[str, ...]:
    """Decoded once per file version: a chapter image is often reused."""
    return tuple(chapter_image_problems(path))


def _clip(
    root: Path, parsed: Parsed[Episode] | Parsed[Show], rel_path: str, field: str
) -> list[Problem]:
    missing = _existing_file(root, parsed, rel_path, field)
    if missing:
        return missing
    stat = (root / rel_path).stat()
    message = _clip_problem(root / rel_path, stat.st_size, stat.st_mtime_ns)
    return [_at(parsed, field, f"{rel_path}: {message}")] if message else []


@functools.lru_cache(maxsize=64)
def _clip_problem(path: Path, size: int, mtime_ns: int) -> str | None:
    """Decode the clip once per file version (up to the cap): readable audio, short enough."""
    from dfl_audio.audio.assemble import (
        probe_clip,  # numpy and pydub load only for shows with clips
    )

    try:
        probe_clip(path)
    except AudioError as exc:
        return exc.message
    return None


def transcript_problems(
    root: Path, parsed: Parsed[Episode], rel_path: str, duration: float | None = None
) -> list[Problem]:
    """Every problem of the episode's transcript: at its line in the transcript file when
    the format has lines, else at the episode's ``transcript:`` field, naming the file.

    ``duration`` (the recording's length, once probed) adds the cues past its end.
    """
    path = root / rel_path
    try:
        stat = path.stat()
    except OSError as exc:
        return [_at(parsed, "transcript", f"{rel_path}: cannot be read: {exc.strerror}")]
    slips = _transcript_slips(path, rel_path, (stat.st_size, stat.st_mtime_ns), duration)
    return [
        Problem(rel_path, slip.line, "transcript", slip.message)
        if slip.line
        else _at(parsed, "transcript", f"{rel_path}: {slip.message}")
        for slip in slips
    ]


def late_transcript_problems(root: Path, episode: Episode, duration: float) -> list[Problem]:
    """The transcript's cues past the end of a recording of ``duration`` seconds (what only
    a probed or published recording tells: the file's other problems are the catalog's)."""
    rel_path = episode.meta.transcript
    if rel_path is None or not (root / rel_path).is_file():
        return []
    stat = (root / rel_path).stat()
    version = (stat.st_size, stat.st_mtime_ns)
    known = set(_transcript_slips(root / rel_path, rel_path, version, None))
    late = [
        slip
        for slip in _transcript_slips(root / rel_path, rel_path, version, duration)
        if slip not in known
    ]
    return [
        Problem(rel_path, slip.line, "transcript", slip.message)
        if slip.line
        else Problem(episode.path, None, "transcript", f"{rel_path}: {slip.message}")
        for slip in late
    ]


@functools.lru_cache(maxsize=256)
def _transcript_slips(
    path: Path, rel_path: str, version: tuple[int, int], duration: float | None
) -> tuple[Slip, ...]:
    """Read and checked once per file version (by the reader every published form uses)."""
    try:
        return tuple(transcript_slips(path.read_bytes(), rel_path, duration))
    except TranscriptError as exc:
        return (Slip(None, exc.message),)
    except OSError as exc:
        return (Slip(None, f"cannot be read: {exc.strerror}"),)


@functools.lru_cache(maxsize=256)
def _artwork_problems(path: Path, size: int, mtime_ns: int, show_level: bool) -> tuple[str, ...]:
    """Artwork decoded once per file version: episodes often share one image."""
    return tuple(artwork_problems(path, show_level=show_level))
