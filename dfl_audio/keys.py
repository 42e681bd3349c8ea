"""The storage key rules: what any key may look like, and what the keys we write look like.

Shared by the storage adapters (every key they are handed) and by the published state (every
key it records, before a feed turns it into a URL). Depends on nothing but the errors, so
``models`` and ``storage`` can both import it without importing each other.
"""

from __future__ import annotations

import re

from dfl_audio.errors import StorageError

# What content_key() (episode_audio.py) produces: "<folder>/<slug>-<first 12 hex of the
# SHA-256><suffix>", the suffix being the lower-cased extension(s) of what was stored.
CONTENT_KEY_SHAPES = {
    "audio": re.compile(r"audio/[a-z0-9]+(?:-[a-z0-9]+)*-[0-9a-f]{12}\.mp3"),
    "chapters": re.compile(r"audio/[a-z0-9]+(?:-[a-z0-9]+)*-[0-9a-f]{12}\.chapters\.json"),
    "transcript": re.compile(r"audio/[a-z0-9]+(?:-[a-z0-9]+)*-[0-9a-f]{12}\.[a-z0-9]+"),
    "artwork": re.compile(r"art/[a-z0-9]+(?:-[a-z0-9]+)*-[0-9a-f]{12}\.[a-z0-9]+"),
    "asset": re.compile(r"assets/[a-z0-9]+(?:-[a-z0-9]+)*-[0-9a-f]{12}\.(?:js|css)"),  # the site's
}
_SHAPE_HINTS = {
    "audio": "audio/<slug>-<12 hex digits>.mp3",
    "chapters": "audio/<slug>-<12 hex digits>.chapters.json",
    "transcript": "audio/<slug>-<12 hex digits>.<extension>",
    "artwork": "art/<slug>-<12 hex digits>.<extension>",
    "asset": "assets/<name>-<12 hex digits>.js or .css",
}


def check_key(key: str) -> str:
    """Refuse keys that could escape the folder or hide among sidecars; returns the key.

    >>> check_key("audio/ep-1a2b.mp3")
    'audio/ep-1a2b.mp3'
    >>> check_key("../etc/passwd")
    Traceback (most recent call last):
    ...
    dfl_audio.errors.StorageError: invalid storage key '../etc/passwd': ...
    """
    parts = key.split("/")
    if not key or "\\" in key or any(not part or part.startswith(".") for part in parts):
        raise StorageError(
            f"invalid storage key {key!r}: use '/'-separated names that are not empty "
            "and do not start with '.'"
        )
    return key


def check_content_key(key: str, kind: str) -> str:
    """A key as publish writes it for ``kind`` (a key of :data:`CONTENT_KEY_SHAPES`).

    Raises :class:`ValueError` (for pydantic validators) naming what is wrong.

    >>> check_content_key("audio/t5-0123456789ab.mp3", "audio")
    'audio/t5-0123456789ab.mp3'
    >>> check_content_key("audio/../../etc/passwd", "audio")
    Traceback (most recent call last):
    ...
    ValueError: invalid storage key 'audio/../../etc/passwd': ...
    """
    try:
        check_key(key)
    except StorageError as exc:
        raise ValueError(exc.message) from exc
    if not CONTENT_KEY_SHAPES[kind].fullmatch(key):
        raise ValueError(f"{key!r} is not a key publish writes (expected {_SHAPE_HINTS[kind]})")
    return key
