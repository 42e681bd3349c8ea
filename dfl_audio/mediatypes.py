"""The one table of media types: what every file dfl-audio stores, serves or lists is.

S3 uploads, the local storage, ``dfl-audio serve``, the feed's ``podcast:transcript`` types
and the publish state's checks all read it, so a podcast app sees the same type in the feed
as in the ``Content-Type`` the file is served with (from the preview as from production).
"""

from __future__ import annotations

from pathlib import PurePosixPath

# Suffix → media type, as the feed declares it (``type=``) and the storage serves it.
MEDIA_TYPES: dict[str, str] = {
    ".mp3": "audio/mpeg",
    ".m4a": "audio/mp4",
    ".xml": "application/rss+xml",
    ".json": "application/json",
    ".vtt": "text/vtt",
    ".srt": "application/x-subrip",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".txt": "text/plain",
    ".html": "text/html",
}
# Served with the charset said: browsers guess it wrong for these when it is missing.
WITH_CHARSET = frozenset({"text/plain", "text/html"})

CHAPTERS_TYPE = "application/json+chapters"  # Podcasting 2.0 JSON chapters: *.chapters.json

# An episode's ``transcript:`` may be any of these (``.html``: a DFL site caption page).
TRANSCRIPT_SOURCES = (".vtt", ".srt", ".json", ".html")
# What publish makes from it, each its own ``podcast:transcript``, in feed order (WebVTT
# first: the format the spec prefers; apps pick their own, AntennaPod JSON > VTT > SRT).
TRANSCRIPT_OUTPUTS = (".vtt", ".srt", ".json", ".html")
# Time-coded caption files: listed with rel="captions" (Podcasting 2.0 ``podcast:transcript``).
CAPTION_TYPES = frozenset({"text/vtt", "application/x-subrip"})

# Content-addressed media never changes under its key; the feed changes on every publish.
IMMUTABLE = "public, max-age=31536000, immutable"
FEED = "public, max-age=300, must-revalidate"


def media_type(path: str) -> str | None:
    """The media type of a file or key by its extension, None when it is not in the table.

    >>> media_type("audio/ep-1a2b.chapters.json"), media_type("audio/ep-1a2b.json")
    ('application/json+chapters', 'application/json')
    >>> media_type("notes.doc") is None
    True
    """
    if path.lower().endswith(".chapters.json"):
        return CHAPTERS_TYPE
    return MEDIA_TYPES.get(PurePosixPath(path).suffix.lower())


def transcript_type(path: str) -> str | None:
    """The ``podcast:transcript`` type of a transcript file or URL path, None when it is
    not a transcript format.

    >>> transcript_type("episodes/audio/ep.vtt"), transcript_type("ep.mp3")
    ('text/vtt', None)
    """
    suffix = PurePosixPath(path).suffix.lower()
    return MEDIA_TYPES[suffix] if suffix in TRANSCRIPT_OUTPUTS else None


def content_type_for(key: str) -> str:
    """Content-Type by file extension.

    >>> content_type_for("audio/ep-1a2b.mp3")
    'audio/mpeg'
    >>> content_type_for("feed.xml")
    'application/rss+xml'
    >>> content_type_for("audio/ep-1a2b.chapters.json"), content_type_for("audio/ep-1a2b.json")
    ('application/json+chapters', 'application/json')
    >>> content_type_for("audio/ep-1a2b.html")
    'text/html; charset=utf-8'
    """
    kind = media_type(key) or "application/octet-stream"
    return f"{kind}; charset=utf-8" if kind in WITH_CHARSET else kind


def cache_control_for(key: str) -> str:
    """Short-lived for the feed, long and immutable for everything content-addressed."""
    return FEED if key.endswith(".xml") else IMMUTABLE
