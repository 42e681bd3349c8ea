"""What was published: a small JSON file the tool owns, beside the feed.

It lets a re-run skip unchanged audio (same source, same settings → same published file)
without ever writing to the editor's episode files.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from dfl_audio.errors import FeedError
from dfl_audio.fsutil import atomic_write_bytes
from dfl_audio.models import Published


class PublishState(BaseModel):
    """Every published episode by GUID, plus the key of the show's artwork."""

    model_config = ConfigDict(extra="forbid")

    version: int = 1
    storage: str | None = None  # where the keys below live (see publish.storage_identity)
    show_artwork_key: str | None = None
    episodes: dict[str, Published] = {}
    withdrawn: list[str] = []  # GUIDs taken out by ``unpublish``: kept out until published again
    superseded: dict[str, datetime] = {}  # keys no longer referenced, since when (see gc.py)


def load_state(path: Path) -> PublishState:
    """The recorded state, or an empty one when nothing was published yet."""
    try:
        return PublishState.model_validate_json(path.read_bytes())
    except FileNotFoundError:
        return PublishState()
    except (ValidationError, ValueError) as exc:
        raise FeedError(
            f"state file is damaged ({exc.__class__.__name__}); restore it from git", path, exc
        ) from exc


def save_state(path: Path, state: PublishState) -> None:
    """Write the state atomically, keys sorted so git diffs stay readable; no-op if unchanged."""
    data = json.loads(state.model_dump_json())
    text = (json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()
    if path.is_file() and path.read_bytes() == text:
        return
    atomic_write_bytes(path, text)
