"""Content-Type and Cache-Control for every kind of file dfl-audio stores or serves.

One table serves the S3 uploads, the local storage and ``dfl-audio serve``, so a podcast
app (and a browser on the show's site) sees the same headers from the preview as from
production.
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
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}
SITEMAP_NAME = "sitemap.xml"  # the site's sitemap: XML, but not a feed
SITEMAP_TYPE = "application/xml"

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

# Content-addressed media and the site's assets never change under their key; the feed, the
# site's pages and its sitemap change on every publish (a new episode lands on the show page).
IMMUTABLE = "public, max-age=31536000, immutable"
FEED = "public, max-age=300, must-revalidate"
PAGE = FEED  # pages follow the feed: a listener sees a new episode as soon as an app does
_SHORT_LIVED = (".xml", ".html")


def content_type_for(key: str) -> str:
    """Content-Type by file extension.

    >>> content_type_for("audio/ep-1a2b.mp3")
    'audio/mpeg'
    >>> content_type_for("feed.xml")
    'application/rss+xml'
    >>> content_type_for("audio/ep-1a2b.chapters.json"), content_type_for("audio/ep-1a2b.json")
    ('application/json+chapters', 'application/json')
    >>> content_type_for("sitemap.xml"), content_type_for("episodes/t5.html")
    ('application/xml', 'text/html; charset=utf-8')
    """
    if key.lower().endswith(".chapters.json"):
        return CHAPTERS_TYPE
    if PurePosixPath(key).name == SITEMAP_NAME:
        return SITEMAP_TYPE
    return CONTENT_TYPES.get(PurePosixPath(key).suffix.lower(), "application/octet-stream")


def cache_control_for(key: str) -> str:
    """Short-lived for the feed, the pages and the sitemap; long and immutable for everything
    content-addressed (media, side files, the site's JS and CSS).

    >>> cache_control_for("index.html") == cache_control_for("feed.xml") == FEED
    True
    >>> cache_control_for("assets/player-0123456789ab.js") == IMMUTABLE
    True
    """
    return FEED if key.lower().endswith(_SHORT_LIVED) else IMMUTABLE
