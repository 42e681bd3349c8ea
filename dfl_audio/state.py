"""What was published: a small JSON file the tool owns, beside the feed.

It lets a re-run skip unchanged audio (same source, same settings → same published file)
without ever writing to the editor's episode files. It is also merged by git and can be
edited by hand, and its keys become the feed's URLs: every field is checked on load
(:class:`dfl_audio.records.Published`), and a bad one is a located error before anything runs.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails

from dfl_audio.errors import FeedError, os_error
from dfl_audio.fsutil import atomic_write_bytes
from dfl_audio.keys import CONTENT_KEY_SHAPES, check_content_key
from dfl_audio.records import Published, RecordedGuid


class PublishState(BaseModel):
    """Every published episode by GUID, plus the key of the show's artwork."""

    model_config = ConfigDict(extra="forbid")

    version: int = 1
    storage: str | None = None  # where the keys below live (see publish.storage_identity)
    show_artwork_key: str | None = None
    episodes: dict[RecordedGuid, Published] = {}
    withdrawn: list[RecordedGuid] = []  # GUIDs taken out by ``unpublish``: kept out until
    # published again
    superseded: dict[str, datetime] = {}  # keys no longer referenced, since when (see gc.py)
    site_assets: list[str] = []  # the site's JS and CSS the pages link (content-addressed)

    @field_validator("show_artwork_key")
    @classmethod
    def _artwork_key(cls, key: str | None) -> str | None:
        return None if key is None else check_content_key(key, "artwork")

    @field_validator("site_assets")
    @classmethod
    def _asset_keys(cls, keys: list[str]) -> list[str]:
        return [check_content_key(key, "asset") for key in keys]

    @field_validator("superseded")
    @classmethod
    def _superseded_keys(cls, keys: dict[str, datetime]) -> dict[str, datetime]:
        for key in keys:  # they are deleted one day: only ever a key publish wrote
            if not any(shape.fullmatch(key) for shape in CONTENT_KEY_SHAPES.values()):
                check_content_key(key, "audio")  # raises, naming what is wrong
        return keys

    @model_validator(mode="after")
    def _filed_under_own_guid(self) -> PublishState:
        """A record filed under another GUID would put its audio under the wrong episode."""
        for guid, record in self.episodes.items():
            if record.guid != guid:
                raise ValueError(
                    f"episodes.{guid}.guid: is {record.guid!r}, but the record is filed "
                    f"under {guid!r}"
                )
        return self


def load_state(path: Path, shown_as: str | None = None) -> PublishState:
    """The recorded state, or an empty one when nothing was published yet.

    ``shown_as`` is the path as the editor knows it (relative to the repository), for errors.
    """
    return read_state(path, shown_as)[0]


def read_state(path: Path, shown_as: str | None = None) -> tuple[PublishState, str]:
    """:func:`load_state`, with the SHA-256 of the very bytes it was read from ("" when
    there is no file): what :mod:`dfl_audio.run_memo` compares with the last run's."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return PublishState(), ""
    except OSError as exc:
        raise os_error(exc, shown_as or path, "cannot read the publish state") from exc
    try:
        return PublishState.model_validate_json(data), hashlib.sha256(data).hexdigest()
    except ValidationError as exc:
        raise FeedError(_first_problem(exc), shown_as or path, exc) from exc
    except ValueError as exc:
        raise FeedError(
            f"state file is damaged ({exc}); restore it from git", shown_as or path, exc
        ) from exc


def _first_problem(exc: ValidationError) -> str:
    """``field.path: message (and N more)``: the first bad field, where it is, what is wrong."""
    errors = exc.errors(include_url=False)
    first = _describe(errors[0])
    more = len(errors) - 1
    extra = f" (and {more} more problem{'s' * (more > 1)})" if more else ""
    return f"{first}{extra}; fix it, or restore the state file from git"


def _describe(error: ErrorDetails) -> str:
    """One pydantic error as ``episodes.<guid>.audio_key: message``, in validate's words."""
    loc = [str(part) for part in error["loc"]]
    if error["type"] == "json_invalid":
        return f"not valid JSON ({error['msg'].removeprefix('Invalid JSON: ')})"
    if error["type"] == "missing":
        message = "is required"
    elif error["type"] == "extra_forbidden":
        message = "is not a field of the state"
    else:
        message = error["msg"].removeprefix("Value error, ")
        message = message[:1].lower() + message[1:]
    if loc[-1:] == ["[key]"]:  # a GUID used as a key of "episodes"
        loc, message = loc[:-2], f"GUID {loc[-2]!r}: {message}"
    return f"{'.'.join(loc)}: {message}" if loc else message


def save_state(path: Path, state: PublishState) -> str:
    """Write the state atomically, keys sorted so git diffs stay readable; no-op if unchanged.

    Returns the SHA-256 of the file's bytes, which now hold exactly ``state``.
    """
    data = state.model_dump(mode="json")  # JSON types in one pass (dates as ISO strings)
    stored = _stored_bytes(path)
    if stored is not None and _parsed(stored) == data:  # compared as data: indented
        return hashlib.sha256(stored).hexdigest()  # json.dumps is pure Python, slow
    text = (json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()
    atomic_write_bytes(path, text)
    return hashlib.sha256(text).hexdigest()


def _stored_bytes(path: Path) -> bytes | None:
    """The state file's bytes as they are now, or None when there is none."""
    try:
        return path.read_bytes()
    except OSError:
        return None


def _parsed(data: bytes) -> object:
    try:
        return json.loads(data)
    except ValueError:
        return None
