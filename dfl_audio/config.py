"""Settings in one place: show.yaml, overridden by the environment, overridden by options.

Credentials are deliberately absent: boto3's own chain (environment, profile, instance
role) finds them, so no secret ever passes through a dfl-audio file, option or message.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import ValidationError

from dfl_audio.episodes import Project, read_show
from dfl_audio.errors import ConfigError
from dfl_audio.models.show import Show
from dfl_audio.storage import open_storage
from dfl_audio.storage_base import Storage

ENV_STORAGE = "DFL_AUDIO_STORAGE"
ENV_PUBLIC_URL = "DFL_AUDIO_PUBLIC_URL"


@dataclass(frozen=True)
class Overrides:
    """What the command line said (None: not said)."""

    storage: str | None = None
    public_url: str | None = None


def effective_show(show: Show, overrides: Overrides, env: Mapping[str, str] = os.environ) -> Show:
    """The show with storage location and public URL resolved: option > environment > file."""
    location = overrides.storage or env.get(ENV_STORAGE) or show.storage.location
    public_url = overrides.public_url or env.get(ENV_PUBLIC_URL) or show.public_url
    data = show.model_dump()
    data["public_url"] = public_url
    data["storage"]["location"] = location
    try:
        return Show.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        message = str(first["msg"]).removeprefix("Value error, ")
        source = _SOURCES.get(field, "the command line or the environment")
        raise ConfigError(f"{field}: {message} (from {source})", original=exc) from exc


_SOURCES = {  # where an overridden field can come from, for the message
    "storage.location": f"--storage or {ENV_STORAGE}",
    "public_url": f"--public-url or {ENV_PUBLIC_URL}",
}


def configured_show(project: Project, overrides: Overrides) -> Show:
    """The show as this run sees it: show.yaml, then the environment, then the options. A
    show.yaml that does not parse raises every problem of every file (as validate would)."""
    show = read_show(project).item
    if show is None:
        from dfl_audio.validate import load_catalog

        load_catalog(project).require_valid()  # raises, with every problem
        raise AssertionError("unreachable: require_valid raised")
    return effective_show(show, overrides)


def open_show(project: Project, overrides: Overrides) -> tuple[Show, Storage]:
    """The one place a command gets its show and the storage it names."""
    show = configured_show(project, overrides)
    return show, open_storage(show.storage.location, root=project.root, settings=show.storage)
