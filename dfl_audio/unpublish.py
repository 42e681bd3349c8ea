"""``dfl-audio unpublish``: an episode out of the feed, the feed first.

The GUID is remembered as withdrawn, so later runs keep it out until it is published again by
name; the episode's page goes once the feed no longer links it, and its stored objects (with
``--delete-audio``) only after that, so no subscriber is ever sent to a missing file.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from dfl_audio.episodes import Project
from dfl_audio.errors import FeedError
from dfl_audio.feed_plan import next_feed
from dfl_audio.gc import referenced, supersede
from dfl_audio.models.show import Show
from dfl_audio.plan import RunOptions
from dfl_audio.publish import FeedWrite, RunResult, write_feed
from dfl_audio.site.build import build_site
from dfl_audio.site.page_cache import page_cache
from dfl_audio.site.store import (
    delete_pages,
    known_slugs,
    stale_pages,
    store_site,
    write_review_copy,
)
from dfl_audio.state import load_state, save_state
from dfl_audio.storage_base import Storage
from dfl_audio.validate import load_catalog


def unpublish(
    project: Project,
    storage: Storage,
    episode_file: Path,
    *,
    delete_audio: bool = False,
    show: Show | None = None,
    now: datetime | None = None,
) -> RunResult:
    """Take an episode out of the feed (the feed first), then optionally delete its objects.

    The GUID is remembered as withdrawn, so later runs keep it out until it is published
    again by name; deleting objects only after the feed stopped pointing at them means no
    subscriber is ever sent to a missing file.
    """
    now = now or datetime.now(UTC)
    file_show, episodes = load_catalog(project).require_valid()
    show = show or file_show
    wanted = project.rel(episode_file.resolve())
    matches = [episode for episode in episodes if episode.path == wanted]
    if not matches:
        raise FeedError("not an episode file of this show", wanted)
    guid = matches[0].meta.guid
    state_path = project.state_file(show)
    state = load_state(state_path, project.rel(state_path))
    record = state.episodes.get(guid)
    if record is None:
        raise FeedError("was never published; nothing to unpublish", wanted)
    state.withdrawn = sorted({*state.withdrawn, guid})
    stored = storage.get(show.feed_name)  # refuse an unreadable stored feed before any write
    update = next_feed(project, show, state, episodes, now, stored, storage)
    inventory = storage.inventory()
    pages = page_cache(project)
    site = build_site(project.root, show, episodes, state, now, update.new, pages)
    before = referenced(state)
    state.site_assets = list(site.asset_keys)
    supersede(before, state, now)
    save_state(state_path, state)
    site_written = store_site(storage, site, inventory, pages.gzip)
    feed = FeedWrite(RunOptions(), now, stored, update)
    result = write_feed(project, show, storage, state, episodes, [], [], feed)
    result.site_written = site_written
    stale = stale_pages(site, inventory, known_slugs(episodes, state))
    result.site_deleted = delete_pages(storage, stale)  # the feed no longer links them
    write_review_copy(project.site_dir, site, pages)
    if delete_audio:
        keys = [record.audio_key, record.chapters_key, *record.transcript_keys, record.artwork_key]
        keys = list(dict.fromkeys([*keys, *record.chapter_image_keys]))  # art may repeat
        del state.episodes[guid]
        still_used = referenced(state)
        for key in keys:
            if key and key not in still_used:
                storage.delete(key)
                state.superseded.pop(key, None)
        save_state(state_path, state)
    return result
