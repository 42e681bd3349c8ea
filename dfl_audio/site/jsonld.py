"""schema.org JSON-LD for search engines: ``PodcastSeries`` and ``PodcastEpisode``.

The JSON goes inside ``<script type="application/ld+json">``, where the HTML parser ends the
script at the first ``</script>`` whatever JSON says: ``<``, ``>`` and ``&`` are written as
``\\u003c`` escapes, which JSON reads back as the same characters.
"""

from __future__ import annotations

import json
from typing import Any

from markupsafe import Markup

from dfl_audio.site.views import EpisodeView, ShowView

CONTEXT = "https://schema.org"
_SCRIPT_SAFE = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)


def series(show: ShowView) -> dict[str, Any]:
    """The show as a ``PodcastSeries``."""
    return {
        "@context": CONTEXT,
        "@type": "PodcastSeries",
        "name": show.title,
        "description": show.description,
        "url": show.url,
        "image": show.image_url,
        "webFeed": show.feed_url,
        "inLanguage": show.language,
        "author": {"@type": "Organization", "name": show.author},
        "identifier": show.guid,
        "sameAs": show.website,
    }


def episode(show: ShowView, view: EpisodeView) -> dict[str, Any]:
    """One episode as a ``PodcastEpisode`` of the series, its MP3 as the associated media."""
    data: dict[str, Any] = {
        "@context": CONTEXT,
        "@type": "PodcastEpisode",
        "name": view.title,
        "url": view.url,
        "datePublished": view.date_iso,
        "description": view.summary,
        "image": view.image_url,
        "timeRequired": view.duration_iso,
        "associatedMedia": {
            "@type": "MediaObject",
            "contentUrl": view.audio_url,
            "encodingFormat": view.audio_type,
            "duration": view.duration_iso,
            "contentSize": str(view.audio_bytes),
        },
        "partOfSeries": {"@type": "PodcastSeries", "name": show.title, "url": show.url},
    }
    if view.number is not None:
        data["episodeNumber"] = view.number
    if view.guests:
        data["actor"] = [{"@type": "Person", "name": guest.name} for guest in view.guests]
    return data


def script_json(data: dict[str, Any]) -> Markup:
    """JSON that cannot end the ``<script>`` holding it.

    >>> print(script_json({"name": "</script><b>&"}))
    {"name": "\\u003c/script\\u003e\\u003cb\\u003e\\u0026"}
    """
    return Markup(json.dumps(data, ensure_ascii=False).translate(_SCRIPT_SAFE))
