"""The one exception hierarchy of dfl-audio.

Every error the core raises is a :class:`DflAudioError`; the CLI turns it into a one-line
message and an exit code. Errors carry the file they are about (and a line, when known) and
keep the third-party exception that caused them as ``original``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Problem:
    """One located problem in an input file: ``path:line: field: message``."""

    path: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return (
            f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )


class DflAudioError(Exception):
    """Base error: formats as ``path: message`` when it is about a file."""

    def __init__(
        self,
        message: str,
        path: str | Path | None = None,
        original: BaseException | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = str(path) if path is not None else None
        self.original = original

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class EpisodeError(DflAudioError):
    """Show or episode metadata is invalid; holds every problem found, not just the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        first = str(self.problems[0]) if self.problems else "invalid metadata"
        more = len(self.problems) - 1
        super().__init__(first + (f" (and {more} more problem{'s' * (more > 1)})" if more else ""))

    def __str__(self) -> str:
        return self.message


class AudioError(DflAudioError):
    """The audio cannot be read, measured, normalized, encoded or tagged."""


class StorageError(DflAudioError):
    """Storage (local folder or S3) refused or failed an operation."""


class FeedError(DflAudioError):
    """The feed cannot be generated, or regenerating it would break subscribers."""


class ConfigError(DflAudioError):
    """Settings are missing or contradictory."""


class ArtworkError(DflAudioError):
    """An artwork image cannot be read, or cannot be made into a tag cover."""


class ConflictError(StorageError):
    """A conditional write lost a race: the object changed since it was read."""


class TranscriptError(DflAudioError):
    """A transcript cannot be parsed, so it cannot be re-timed for an intro."""


class FileAccessError(DflAudioError):
    """A file dfl-audio reads or writes in the repository could not be (a folder where a file
    should be, no space left, no permission): the path and the system's reason."""


def os_error(exc: OSError, path: str | Path | None = None, doing: str = "") -> FileAccessError:
    """An ``OSError`` as one located line: ``path: cannot write: No space left on device``."""
    where = path if path is not None else exc.filename
    reason = exc.strerror or exc.__class__.__name__
    return FileAccessError(f"{doing + ': ' if doing else ''}{reason}", where, exc)
