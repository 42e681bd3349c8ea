"""① Read ``episodes/`` into models: the only place the editor's metadata files are read.

An episode file is a Jekyll post: ``episodes/<YYYY-MM-DD>-<slug>.md`` with YAML front matter
between ``---`` lines and Markdown show notes after it. Every problem comes back located
(``path:line: field: message``) and all at once, so an editor fixes a file in one pass.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from dfl_audio.cache_file import CACHE_DIR
from dfl_audio.errors import Problem
from dfl_audio.models.episode import Episode, EpisodeMeta
from dfl_audio.models.fields import CONTROL_CHARS
from dfl_audio.models.show import Show
from dfl_audio.notes import render_html, render_text, with_chapters_text
from dfl_audio.yamlfile import LineMap, YamlSyntaxError, load_with_lines

EPISODE_NAME = re.compile(r"^(?P<date>\d{4}-\d{2}-\d{2})-(?P<slug>[a-z0-9]+(?:-[a-z0-9]+)*)\.md$")
MAX_NOTES_BYTES = 4000

ModelT = TypeVar("ModelT", bound=BaseModel)
ItemT = TypeVar("ItemT", Show, Episode)


@dataclass(frozen=True)
class Project:
    """Where things live in a dfl-audio repository."""

    root: Path

    @property
    def episodes_dir(self) -> Path:
        return self.root / "episodes"

    @property
    def show_file(self) -> Path:
        return self.episodes_dir / "show.yaml"

    @property
    def feeds_dir(self) -> Path:
        return self.root / "feeds"

    def feed_file(self, show: Show) -> Path:
        return self.feeds_dir / show.feed_name

    @property
    def site_dir(self) -> Path:
        """The review copy of the show's website, as stored (see dfl_audio.site.store)."""
        return self.feeds_dir / "site"

    @property
    def cache_dir(self) -> Path:
        """``.dfl-audio/``: git-ignored caches that only make runs faster (dfl_audio.cache_file)."""
        return self.root / CACHE_DIR

    def state_file(self, show: Show) -> Path:
        """The tool-owned record of what was published, beside the feed it explains."""
        return self.feeds_dir / (Path(show.feed_name).stem + ".published.json")

    def rel(self, path: Path) -> str:
        """A path as the editor knows it: relative to the repository root when inside it."""
        if not path.is_absolute() and ".." not in path.parts:
            return path.as_posix()
        if path.is_relative_to(self.root) and ".." not in path.parts:
            return path.relative_to(self.root).as_posix()  # no filesystem access needed
        try:
            return path.resolve().relative_to(self.root.resolve()).as_posix()
        except ValueError:
            return str(path)

    def episode_files(self) -> list[Path]:
        return sorted(self.episodes_dir.glob("*.md"))


@dataclass(frozen=True)
class Parsed(Generic[ItemT]):
    """One file read: the model (None when it has problems), its problems, its field lines."""

    rel: str
    item: ItemT | None
    problems: list[Problem]
    lines: LineMap
    # the files an episode names, as written, when its model did not parse: their checks
    # still run, so one validate run reports every problem (never cached: problems aren't)
    named_files: dict[str, str] = field(default_factory=dict)

    def line_of(self, *loc: str | int) -> int | None:
        return self.lines.line_of(loc)


def read_show(project: Project) -> Parsed[Show]:
    """Parse ``episodes/show.yaml``."""
    path = project.show_file
    rel = project.rel(path)
    text, problem = _read_text(path, rel)
    if problem:
        return Parsed(rel, None, [problem], LineMap())
    show, problems, lines, _data = _parse_yaml_model(Show, text, rel, offset=0)
    return Parsed(rel, show, problems, lines)


def read_episode(project: Project, path: Path) -> Parsed[Episode]:
    """Parse one episode file: front matter, file name, and show notes."""
    rel = project.rel(path)
    outside = Problem(rel, None, "", "links to a file outside the repository")
    text: str = ""
    problem: Problem | None = outside
    if _inside(path, project.root):  # never read what a symlink points at elsewhere
        text, problem = _read_text(path, rel)
    if problem:
        return Parsed(rel, None, [problem], LineMap())
    problems: list[Problem] = []
    name = EPISODE_NAME.match(path.name)
    if not name:
        problems.append(
            Problem(
                rel,
                None,
                "",
                "file name must be YYYY-MM-DD-slug.md (lowercase slug, digits, dashes)",
            )
        )
    split = split_front_matter(text)
    if split is None:
        problems.append(Problem(rel, 1, "", "missing YAML front matter between '---' lines"))
        return Parsed(rel, None, problems, LineMap())
    front, body = split
    meta, meta_problems, lines, data = _parse_yaml_model(EpisodeMeta, front, rel, offset=1)
    problems += meta_problems
    if meta is None or name is None:
        return Parsed(rel, None, problems, lines, _named_files(data, problems))
    if meta.date.date().isoformat() != name["date"]:
        problems.append(
            Problem(
                rel,
                lines.line_of(("date",)),
                "date",
                f"{meta.date.date()} does not match the file name's {name['date']}",
            )
        )
    episode = Episode(
        path=rel,
        slug=name["slug"],
        meta=meta,
        notes_markdown=body,
        notes_html=render_html(body, meta.links),
        notes_text=render_text(body, meta.links),
    )
    body_line = front.count("\n") + 3
    bad = CONTROL_CHARS.search(body)
    if bad:
        line = body_line + body[: bad.start()].count("\n")
        code = f"U+{ord(bad.group()):04X}"
        problems.append(Problem(rel, line, "notes", f"contain control character {code}"))
    # as the feed's <description> carries them: with the chapter list after the notes
    size = len(with_chapters_text(episode.notes_text.strip(), meta.chapters).encode())
    if size > MAX_NOTES_BYTES:
        with_list = " with the chapter list" if meta.chapters else ""
        problems.append(
            Problem(
                rel,
                body_line,
                "notes",
                f"are {size} bytes as plain text{with_list}; feeds allow {MAX_NOTES_BYTES}",
            )
        )
    return Parsed(rel, None if problems else episode, problems, lines)


def split_front_matter(text: str) -> tuple[str, str] | None:
    """Split ``---`` YAML ``---`` body, as Jekyll does.

    >>> split_front_matter("---\\ntitle: A\\n---\\nNotes\\n")
    ('title: A\\n', 'Notes\\n')
    >>> split_front_matter("no front matter") is None
    True
    """
    match = re.match(r"\A---[ \t]*\r?\n(.*?)^---[ \t]*(?:\r?\n|\Z)", text, re.S | re.M)
    if not match:
        return None
    return match.group(1), text[match.end() :]


def _inside(path: Path, root: Path) -> bool:
    """Whether ``path``, symlinks followed, is a file of the repository at ``root``."""
    return path.resolve().is_relative_to(root.resolve())


def _read_text(path: Path, rel: str) -> tuple[str, Problem | None]:
    """The file's text; a UTF-8 byte order mark (Windows editors add one) is dropped."""
    try:
        return path.read_text(encoding="utf-8-sig"), None
    except FileNotFoundError:
        return "", Problem(rel, None, "", "file not found")
    except UnicodeDecodeError as exc:
        return "", Problem(rel, None, "", f"is not UTF-8 text ({exc.reason} at byte {exc.start})")
    except OSError as exc:
        return "", Problem(rel, None, "", f"cannot be read: {exc.strerror}")


def _parse_yaml_model(
    model: type[ModelT], text: str, rel: str, offset: int
) -> tuple[ModelT | None, list[Problem], LineMap, dict[str, Any]]:
    """The model, the problems, the field lines, and the mapping as read (for what a model
    that did not parse can still tell)."""
    try:
        data, lines = load_with_lines(text, offset)
    except YamlSyntaxError as exc:
        return None, [Problem(rel, exc.line, "", str(exc))], LineMap(), {}
    if not isinstance(data, dict):
        problem = Problem(rel, offset + 1, "", "must be a YAML mapping of field: value")
        return None, [problem], lines, {}
    problems = [
        Problem(rel, line, _field_name(loc), "appears twice") for loc, line in lines.duplicates
    ]
    try:
        parsed = model.model_validate(data)
    except ValidationError as exc:
        problems += validation_problems(exc, rel, model, lines)
        return None, sorted(problems, key=lambda problem: problem.line or 0), lines, data
    return (None if problems else parsed), problems, lines, data


FILE_FIELDS = ("audio", "artwork", "transcript")  # what an episode names in the repository


def _named_files(data: dict[str, Any], problems: list[Problem]) -> dict[str, str]:
    """The episode's file fields that are plain paths and have no problem of their own."""
    troubled = {problem.field for problem in problems}
    if data.get("draft") is True:  # a draft may wait for its recording
        troubled.add("audio")
    return {
        name: value
        for name in FILE_FIELDS
        if isinstance(value := data.get(name), str) and name not in troubled
    }


def validation_problems(
    exc: ValidationError, rel: str, model: type[BaseModel], lines: LineMap | None = None
) -> list[Problem]:
    """A model's validation errors as located problems, in validate's words."""
    errors = _deepest_only(exc.errors())
    return [_problem_from(error, rel, lines or LineMap(), model) for error in errors]


def _deepest_only(errors: list[Any]) -> list[Any]:
    """Drop an error about a list when an error about one of its items says more."""
    locs = [tuple(error["loc"]) for error in errors]
    return [
        error
        for error, loc in zip(errors, locs, strict=True)
        if not any(len(other) > len(loc) and other[: len(loc)] == loc for other in locs)
    ]


def _problem_from(error: Any, rel: str, lines: LineMap, model: type[BaseModel]) -> Problem:
    loc = tuple(error["loc"])
    kind = error["type"]
    if kind == "missing":
        message = "is required"
    elif kind == "extra_forbidden":
        message = "is not a known field" + _suggestion(str(loc[-1]), _known_fields(model, loc))
    else:
        message = str(error["msg"]).removeprefix("Value error, ")
        message = message[0].lower() + message[1:] if message else message
    return Problem(rel, lines.line_of(loc), _field_name(loc), message)


def _known_fields(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        info = getattr(current, "model_fields", {}).get(part)
        if info is None:
            return []
        current = _inner_model(info.annotation)
    return list(getattr(current, "model_fields", {}))


def _inner_model(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def _suggestion(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _field_name(loc: tuple[Any, ...]) -> str:
    """``("chapters", 2, "title")`` → ``chapters[2].title``.

    >>> _field_name(("chapters", 2, "title"))
    'chapters[2].title'
    """
    name = ""
    for part in loc:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name
