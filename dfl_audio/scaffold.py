"""``dfl-audio new``: start an episode file the way a DFL author starts a Jekyll post."""

from __future__ import annotations

import re
import unicodedata
import uuid
from datetime import datetime
from pathlib import Path

import yaml
from pydantic import ValidationError

from dfl_audio.episodes import Project, validation_problems
from dfl_audio.errors import EpisodeError, Problem
from dfl_audio.models.episode import EpisodeMeta


def slugify(title: str, max_length: int = 60) -> str:
    """A file-name slug: ASCII, lowercase, words joined by dashes.

    >>> slugify("Characterising Bias in Compressed Models!")
    'characterising-bias-in-compressed-models'
    >>> slugify("Émile & the T5 — encoder/decoder")
    'emile-the-t5-encoder-decoder'
    """
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_title.lower())
    slug = "-".join(words)[:max_length].strip("-")
    return slug or "episode"


def new_episode(project: Project, title: str, guests: list[str], now: datetime) -> Path:
    """Write a draft episode file with a fresh, permanent GUID; refuse to overwrite one."""
    path = project.episodes_dir / f"{now.date().isoformat()}-{slugify(title)}.md"
    if path.exists():
        raise EpisodeError(
            [Problem(project.rel(path), None, "", "already exists; choose another title")]
        )
    front = {
        "title": title,
        "date": "DATE",
        "guid": str(uuid.uuid4()),
        "guests": [{"name": name} for name in guests],
        "episode_type": "full",
        "explicit": False,
        "draft": True,
    }
    _check_front_matter({**front, "date": now}, project.rel(path))
    # Written unquoted, as Jekyll authors write it: YAML reads it back as a timestamp.
    date_line = f"date: {now.isoformat(sep=' ', timespec='seconds')}"
    text = (
        "---\n"
        + yaml.safe_dump(front, sort_keys=False, allow_unicode=True).replace(
            "date: DATE", date_line
        )
        + "# audio: episodes/audio/<recording>.wav   (required once draft is false)\n"
        + '# chapters:\n#   - {start: "0:00", title: Introduction}\n'
        + "---\n"
        + "Show notes in Markdown: who the guest is, what you talk about, links.\n"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("x", encoding="utf-8") as handle:
        handle.write(text)
    return path


def _check_front_matter(front: dict[str, object], rel: str) -> None:
    """A title or guest the episode model refuses is refused now: ``new`` never writes a file
    that ``validate`` would then reject."""
    try:
        EpisodeMeta.model_validate(front)
    except ValidationError as exc:
        raise EpisodeError(validation_problems(exc, rel, EpisodeMeta)) from exc
