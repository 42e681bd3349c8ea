"""Content-Type and Cache-Control for every kind of file dfl-audio stores or serves.

One table serves the S3 uploads, the local storage and ``dfl-audio serve``, so a podcast
app sees the same headers from the preview as from production.
"""

from __future__ import annotations

from pathlib import PurePosixPath

CONTENT_TYPES: dict[str, str] = {
    ".mp3": "audio/mpeg",
    ".m4a": "audio/mp4",
    ".xml": "application/rss+xml",
    ".json": "application/json",
    ".vtt": "text/vtt",
    ".srt": "application/x-subrip",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".txt": "text/plain; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",  # browsers refuse a stylesheet of any other type
    ".js": "text/javascript; charset=utf-8",
}

CHAPTERS_TYPE = "application/json+chapters"  # Podcasting 2.0 JSON chapters: *.chapters.json
# podcast:transcript's type attribute: the formats the spec and AntennaPod read.
TRANSCRIPT_TYPES: dict[str, str] = {
    ".vtt": "text/vtt",
    ".srt": "application/x-subrip",
    ".json": "application/json",
    ".html": "text/html",
    ".txt": "text/plain",
}
TRANSCRIPT_SOURCES = (".vtt", ".srt", ".json")  # what an episode's transcript: may be

# Content-addressed media never changes under its key; the feed changes on every publish.
IMMUTABLE = "public, max-age=31536000, immutable"
FEED = "public, max-age=300, must-revalidate"


def content_type_for(key: str) -> str:
    """Content-Type by file extension.

    >>> content_type_for("audio/ep-1a2b.mp3")
    'audio/mpeg'
    >>> content_type_for("feed.xml")
    'application/rss+xml'
    >>> content_type_for("audio/ep-1a2b.chapters.json"), content_type_for("audio/ep-1a2b.json")
    ('application/json+chapters', 'application/json')
    """
    if key.lower().endswith(".chapters.json"):
        return CHAPTERS_TYPE
    return CONTENT_TYPES.get(PurePosixPath(key).suffix.lower(), "application/octet-stream")


def cache_control_for(key: str) -> str:
    """Short-lived for the feed, long and immutable for everything content-addressed."""
    return FEED if key.endswith(".xml") else IMMUTABLE
