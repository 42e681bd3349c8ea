"""Pages and the sitemap as bytes: Jinja2 templates (autoescaped) over the views.

Pure: the same views give the same bytes, so a publish that changes nothing stores nothing.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dfl_audio.site import jsonld
from dfl_audio.site.assets import Assets
from dfl_audio.site.listing import ListedEpisode
from dfl_audio.site.urls import SHOW_PAGE
from dfl_audio.site.views import EpisodeView, ShowView

if TYPE_CHECKING:
    import jinja2


@dataclass(frozen=True)
class PageMeta:
    """What a page says about itself in ``<head>``: its title and its link preview."""

    title: str  # <title>
    heading: str  # og:title, twitter:title
    description: str
    image: str  # absolute URL
    og_type: str


@functools.cache
def environment() -> jinja2.Environment:
    """Templates from the package, every value escaped unless marked safe (the notes HTML,
    which :mod:`dfl_audio.notes` made with raw HTML escaped, and the escaped JSON-LD).
    Jinja2 is imported here: a run whose pages all come from the page cache renders none."""
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("dfl_audio.site", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,  # a misspelt name fails the render, not the page
    )


def render_show_page(show: ShowView, episodes: Sequence[ListedEpisode], assets: Assets) -> bytes:
    """``index.html``: the show and every published episode, newest first."""
    template = environment().get_template("show.html")
    html = template.render(
        show=show,
        episodes=episodes,
        assets=assets,
        root="",
        home=SHOW_PAGE,
        canonical=show.url,
        page=PageMeta(show.title, show.title, show.summary, show.image_url, "website"),
        json_ld=jsonld.script_json(jsonld.series(show)),
    )
    return html.encode("utf-8")


def render_episode_page(show: ShowView, episode: EpisodeView, assets: Assets) -> bytes:
    """``episodes/<slug>.html``: the episode, its player, chapters and transcript."""
    template = environment().get_template("episode.html")
    html = template.render(
        show=show,
        episode=episode,
        assets=assets,
        root="../",
        home=f"../{SHOW_PAGE}",
        canonical=episode.url,
        page=PageMeta(
            f"{episode.title} · {show.title}",
            episode.title,
            episode.summary,
            episode.image_url,
            "article",
        ),
        json_ld=jsonld.script_json(jsonld.episode(show, episode)),
    )
    return html.encode("utf-8")


def render_sitemap(show: ShowView, episodes: Sequence[ListedEpisode]) -> bytes:
    """``sitemap.xml`` (sitemaps.org 0.9): the show page and every episode page."""
    template = environment().get_template("sitemap.xml")
    return template.render(show=show, episodes=episodes).encode("utf-8")
