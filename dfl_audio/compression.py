"""The site's pages, sitemap and assets travel gzip-encoded: one deterministic gzip for all.

An hour-long transcript makes an episode page ~100 KB of HTML, which gzip shrinks about
fourfold; browsers and search engines all accept ``Content-Encoding: gzip``. S3 stores these
objects compressed (with that header), and ``dfl-audio serve`` compresses them when the
request accepts it. The bytes must depend on the content only, never on the clock or the
machine: the storage skips a write when the key already holds the same bytes, so the gzip
header's time is 0, no file name is recorded, and the level is fixed.

The feed, the audio and the transcripts are not compressed: podcast apps fetch those, and
not all of them decode a ``Content-Encoding``.
"""

from __future__ import annotations

import gzip
import zlib

from dfl_audio.mediatypes import EPISODE_PAGES, SHOW_PAGE, SITE_ASSETS, SITEMAP_NAME

GZIP = "gzip"  # the Content-Encoding
LEVEL = 9  # fixed: another level would make other bytes, and a write, for the same page


def gzip_bytes(data: bytes) -> bytes:
    """``data`` gzip-compressed, the same bytes for the same input on every run.

    >>> gzip_bytes(b"page") == gzip_bytes(b"page")
    True
    >>> gzip.decompress(gzip_bytes(b"page"))
    b'page'
    """
    return gzip.compress(data, compresslevel=LEVEL, mtime=0)


def gunzip_bytes(data: bytes) -> bytes:
    """The content of a gzip body (what a client that decodes ``Content-Encoding`` reads)."""
    return zlib.decompress(data, wbits=31)


def travels_compressed(key: str) -> bool:
    """Is ``key`` one of the site's files (pages, sitemap, JS and CSS), which travel gzipped?

    >>> [travels_compressed(k) for k in ("index.html", "episodes/t5.html", "sitemap.xml")]
    [True, True, True]
    >>> travels_compressed("assets/player-0123456789ab.css")
    True
    >>> [travels_compressed(k) for k in ("feed.xml", "audio/t5-0123456789ab.html", "a.mp3")]
    [False, False, False]
    """
    if key in (SHOW_PAGE, SITEMAP_NAME):
        return True
    if key.startswith(EPISODE_PAGES):
        return key.endswith(".html")
    return key.startswith(SITE_ASSETS) and key.endswith((".js", ".css"))
