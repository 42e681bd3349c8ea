"""What ``dfl-audio serve`` shows: the local storage folder and its feed."""

from __future__ import annotations

from dfl_audio.config import Overrides, configured_show
from dfl_audio.episodes import Project
from dfl_audio.errors import ConfigError, FeedError
from dfl_audio.feed_build import enclosure_url
from dfl_audio.serve import Site


def site_for(project: Project, overrides: Overrides) -> Site:
    """The folder to serve and the feed as stored, with the URLs that mean "the storage"."""
    show = configured_show(project, overrides)
    location = show.storage.location
    if location.startswith("s3://"):
        raise ConfigError(f"serve previews local storage only; {location} is S3")
    folder = project.root / location
    if not folder.is_dir():
        raise FeedError(
            "the storage folder does not exist: run dfl-audio publish first", project.rel(folder)
        )
    feed = folder / show.feed_name
    if not feed.is_file():
        feed = project.feed_file(show)
    if not feed.is_file():
        raise FeedError("no feed yet: run dfl-audio publish first", project.rel(feed))
    marker = "\0key\0"
    analytics = enclosure_url(show, marker).removesuffix(marker)
    prefixes = sorted({analytics, show.public_url}, key=len, reverse=True)
    return Site(folder, show.feed_name, feed.read_bytes(), tuple(prefixes))
