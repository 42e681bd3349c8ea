"""The last feed rendered, remembered with a digest of exactly what it was rendered from
(``.dfl-audio/feed.json``, git-ignored, like the other caches).

Rendering a 1,000-item feed takes most of a second, and a ``feed`` run that changes nothing
renders the same bytes again. :func:`dfl_audio.feed.render_feed` is pure: its output is a
function of the show, the items, the image URL and the build date, and of the code that
renders them. The digest covers all of these — the show and every item as their full JSON
(every field the render can read), dfl-audio's code and templates byte for byte, and the
versions of feedgen and libxml2 that serialise the XML — so any edit that could change one
byte of the feed renders it afresh. The remembered bytes are checked against their SHA-256
before use: a damaged cache file is only a slower run.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from dfl_audio.cache_file import load_entries, package_digest, save_entries
from dfl_audio.models.show import Show
from dfl_audio.records import FeedItem

FORMAT = 1


def render_inputs_digest(
    show: Show, items: Sequence[FeedItem], image_url: str, last_build: datetime | None
) -> str:
    """SHA-256 of everything :func:`~dfl_audio.feed.render_feed` reads, and of the code."""
    from feedgen import version as feedgen_version
    from lxml import etree

    digest = hashlib.sha256(package_digest().encode())
    for part in (
        feedgen_version.version_str,
        repr(etree.LXML_VERSION),
        repr(etree.LIBXML_VERSION),
        show.model_dump_json(),
        image_url,
        last_build.isoformat() if last_build is not None else "",
        str(len(items)),
    ):
        digest.update(b"\0" + part.encode())
    for item in items:
        digest.update(b"\0" + item.model_dump_json().encode())
    return digest.hexdigest()


class FeedMemo:
    """One remembered render: its inputs' digest and the feed's bytes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.entries = load_entries(path, FORMAT)

    def get(self, inputs: str) -> bytes | None:
        """The feed rendered from ``inputs`` last time, if remembered intact."""
        entries = self.entries
        feed, sha256 = entries.get("feed"), entries.get("sha256")
        if entries.get("inputs") != inputs or not isinstance(feed, str):
            return None
        data = feed.encode("utf-8")
        return data if hashlib.sha256(data).hexdigest() == sha256 else None

    def keep(self, inputs: str, feed: bytes) -> None:
        """Remember ``feed`` as rendered from ``inputs`` (best effort, like every cache)."""
        entries = {
            "inputs": inputs,
            "sha256": hashlib.sha256(feed).hexdigest(),
            "feed": feed.decode("utf-8"),
        }
        if entries != self.entries:
            self.entries = entries
            save_entries(self.path, FORMAT, entries)
