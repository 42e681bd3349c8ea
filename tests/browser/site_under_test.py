"""The site the browser tests load: built, served on 127.0.0.1, and its two page URLs.

:func:`serve_site` is the one place that decides what is under test. Used by the browser
fixtures and by scripts/screenshots.sh.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from audio_fixtures import export, speech

from dfl_audio.serve import Site, start

HERE = Path(__file__).resolve().parent
STATIC = HERE.parent.parent / "dfl_audio" / "site" / "static"


@dataclass(frozen=True)
class SiteUrls:
    show: str  # the show page
    episode: str  # an episode page with a player, chapters and a transcript


@contextmanager
def serve_site(folder: Path) -> Iterator[SiteUrls]:
    """A hand-written page that follows the site contract, with the real player and a real MP3."""
    shutil.copytree(HERE / "fixture_site", folder, dirs_exist_ok=True)
    (folder / "assets").mkdir()
    for name in ("player.js", "player.css"):
        shutil.copyfile(STATIC / name, folder / "assets" / name)
    (folder / "audio").mkdir()
    scratch = folder / ".scratch"  # hidden: the server does not serve it
    scratch.mkdir()
    mp3 = export(speech(scratch, seconds=40.0), scratch, "welcome", "mp3", rate=44100, channels=1)
    shutil.move(mp3, folder / "audio" / "welcome.mp3")
    server, base = start(Site(folder, "feed.xml", b"", ()), port=0)
    try:
        yield SiteUrls(show=base + "index.html", episode=base + "episodes/welcome.html")
    finally:
        server.shutdown()
