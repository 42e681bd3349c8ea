"""The one table of media types: what every file dfl-audio stores, serves or lists is.

S3 uploads, the local storage, ``dfl-audio serve``, the feed's ``podcast:transcript`` types
and the publish state's checks all read it, so a podcast app (and a browser on the show's
site) sees the same type in the feed as in the ``Content-Type`` the file is served with (from
the preview as from production).
"""

from __future__ import annotations

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
    ".js": "text/javascript",
    ".css": "text/css",
}
# Served with the charset said: browsers guess it wrong for these when it is missing.
WITH_CHARSET = frozenset({"text/plain", "text/html", "text/javascript", "text/css"})
SITEMAP_NAME = "sitemap.xml"  # the site's sitemap: XML, but not a feed
SITEMAP_TYPE = "application/xml"
SHOW_PAGE = "index.html"  # the show's website: its show page, and every episode's page under
EPISODE_PAGES = "episodes/"
SITE_ASSETS = "assets/"  # the player's JS and CSS, content-addressed

CHAPTERS_TYPE = "application/json+chapters"  # Podcasting 2.0 JSON chapters: *.chapters.json

# An episode's ``transcript:`` may be any of these (``.html``: a DFL site caption page).
TRANSCRIPT_SOURCES = (".vtt", ".srt", ".json", ".html")
# What publish makes from it, each its own ``podcast:transcript``, in feed order (WebVTT
# first: the format the spec prefers; apps pick their own, AntennaPod JSON > VTT > SRT).
TRANSCRIPT_OUTPUTS = (".vtt", ".srt", ".json", ".html")
# Time-coded caption files: listed with rel="captions" (Podcasting 2.0 ``podcast:transcript``).
CAPTION_TYPES = frozenset({"text/vtt", "application/x-subrip"})

# Content-addressed media and the site's assets never change under their key; the feed, the
# site's pages and its sitemap change on every publish (a new episode lands on the show page).
IMMUTABLE = "public, max-age=31536000, immutable"
FEED = "public, max-age=300, must-revalidate"
PAGE = FEED  # pages follow the feed: a listener sees a new episode as soon as an app does


def media_type(path: str) -> str | None:
    """The media type of a file or key by its extension, None when it is not in the table.

    >>> media_type("audio/ep-1a2b.chapters.json"), media_type("audio/ep-1a2b.json")
    ('application/json+chapters', 'application/json')
    >>> media_type("notes.doc") is None
    True
    """
    if path.lower().endswith(".chapters.json"):
        return CHAPTERS_TYPE
    if path.rpartition("/")[2] == SITEMAP_NAME:
        return SITEMAP_TYPE
    return MEDIA_TYPES.get(suffix_of(path))


def transcript_type(path: str) -> str | None:
    """The ``podcast:transcript`` type of a transcript file or URL path, None when it is
    not a transcript format.

    >>> transcript_type("episodes/audio/ep.vtt"), transcript_type("ep.mp3")
    ('text/vtt', None)
    """
    suffix = suffix_of(path)
    return MEDIA_TYPES[suffix] if suffix in TRANSCRIPT_OUTPUTS else None


def suffix_of(path: str) -> str:
    """The lower-cased suffix of a key or path, as ``PurePosixPath.suffix`` gives it, without
    building a path object (the state's checks call this for every stored object).

    >>> suffix_of("audio/ep-1a2b.VTT"), suffix_of("a.b/c"), suffix_of(".hidden"), suffix_of("x.")
    ('.vtt', '', '', '')
    """
    name = path.rpartition("/")[2]
    dot = name.rfind(".")
    return name[dot:].lower() if 0 < dot < len(name) - 1 else ""


def content_type_for(key: str) -> str:
    """Content-Type by file extension.

    >>> content_type_for("audio/ep-1a2b.mp3")
    'audio/mpeg'
    >>> content_type_for("feed.xml")
    'application/rss+xml'
    >>> content_type_for("audio/ep-1a2b.chapters.json"), content_type_for("audio/ep-1a2b.json")
    ('application/json+chapters', 'application/json')
    >>> content_type_for("audio/ep-1a2b.html"), content_type_for("sitemap.xml")
    ('text/html; charset=utf-8', 'application/xml')
    """
    kind = media_type(key) or "application/octet-stream"
    return f"{kind}; charset=utf-8" if kind in WITH_CHARSET else kind


def cache_control_for(key: str) -> str:
    """Short-lived for the feed, the pages and the sitemap; long and immutable for everything
    content-addressed (media, side files, the site's JS and CSS).

    >>> cache_control_for("index.html") == cache_control_for("feed.xml") == FEED
    True
    >>> cache_control_for("episodes/t5.html") == FEED
    True
    >>> cache_control_for("assets/player-0123456789ab.js") == IMMUTABLE
    True
    >>> cache_control_for("audio/t5-0123456789ab.html") == IMMUTABLE  # an HTML transcript
    True
    """
    lower = key.lower()
    page = lower == SHOW_PAGE or (lower.startswith(EPISODE_PAGES) and lower.endswith(".html"))
    return FEED if page or lower.endswith(".xml") else IMMUTABLE
