"""What ``dfl-audio serve`` shows: the local storage folder and its feed."""

from __future__ import annotations

from dfl_audio.config import Overrides, effective_show
from dfl_audio.episodes import Project, read_show
from dfl_audio.errors import ConfigError, FeedError
from dfl_audio.feed_build import enclosure_url
from dfl_audio.serve import Site
from dfl_audio.validate import load_catalog


def site_for(project: Project, overrides: Overrides) -> Site:
    """The folder to serve and the feed as stored, with the URLs that mean "the storage"."""
    show = read_show(project).item
    if show is None:
        load_catalog(project).require_valid()
        raise AssertionError("unreachable: require_valid raised")
    show = effective_show(show, overrides)
    location = show.storage.location
    if location.startswith("s3://"):
        raise ConfigError(f"serve previews local storage only; {location} is S3")
    folder = project.root / location
    feed = folder / show.feed_name
    if not feed.is_file():
        feed = project.feed_file(show)
    if not feed.is_file():
        raise FeedError("no feed yet: run dfl-audio publish first", project.rel(feed))
    marker = "\0key\0"
    analytics = enclosure_url(show, marker).removesuffix(marker)
    prefixes = sorted({analytics, show.public_url}, key=len, reverse=True)
    return Site(folder, show.feed_name, feed.read_bytes(), tuple(prefixes))
