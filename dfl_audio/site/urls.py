"""Where the site's files live: their storage keys and public URLs.

Pages have explicit ``.html`` names, so any bucket (or folder) serves them without index
documents; the show page is ``index.html`` so a server that has them serves it at ``/`` too.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from dfl_audio.episodes import EPISODE_NAME  # the one file-name rule
from dfl_audio.mediatypes import EPISODE_PAGES as EPISODE_PAGES  # every episode page key starts so
from dfl_audio.mediatypes import SHOW_PAGE as SHOW_PAGE
from dfl_audio.mediatypes import SITEMAP_NAME
from dfl_audio.models.show import Show

SITEMAP = SITEMAP_NAME


def episode_page_key(slug: str) -> str:
    """``episodes/<slug>.html``: slugs are unique in a show (validate refuses duplicates).

    >>> episode_page_key("t5")
    'episodes/t5.html'
    """
    return f"{EPISODE_PAGES}{slug}.html"


def slug_of_page(key: str) -> str | None:
    """The slug an episode page's key names, or None for any other key.

    >>> slug_of_page("episodes/t5.html"), slug_of_page("episodes/a/b.html"), slug_of_page("x")
    ('t5', None, None)
    """
    if not key.startswith(EPISODE_PAGES) or not key.endswith(".html"):
        return None
    name = key.removeprefix(EPISODE_PAGES).removesuffix(".html")
    return name if name and "/" not in name else None


def slug_of_episode_file(path: str) -> str | None:
    """The slug of ``episodes/YYYY-MM-DD-<slug>.md`` (a published record's ``episode_path``).

    >>> slug_of_episode_file("episodes/2021-07-27-t5.md")
    't5'
    """
    match = EPISODE_NAME.match(PurePosixPath(path).name)
    return match["slug"] if match else None


def show_page_url(show: Show) -> str:
    """The show page's public URL: the feed's channel ``<link>`` and every canonical root."""
    return show.public_url + SHOW_PAGE


def episode_page_url(show: Show, slug: str) -> str:
    """An episode page's public URL: its feed item's ``<link>`` unless the episode sets one."""
    return show.public_url + episode_page_key(slug)
