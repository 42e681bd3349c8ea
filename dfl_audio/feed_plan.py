"""The feed a run would write, worked out before anything is: ours rendered from the
episodes and the state, the items another publisher added to the stored feed carried over,
the diff subscribers would see, and the refusals that diff calls for (a stored feed we cannot
read, a GUID that would leave the feed).
"""

from __future__ import annotations

from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import datetime

from dfl_audio.episodes import Project
from dfl_audio.errors import DflAudioError, FeedError
from dfl_audio.feed import FeedDiff, check_feed, diff_feeds, merge_foreign_items
from dfl_audio.feed_build import FeedParts, feed_parts, render_parts
from dfl_audio.feed_memo import FeedMemo
from dfl_audio.models.episode import Episode
from dfl_audio.models.show import Show
from dfl_audio.state import PublishState
from dfl_audio.storage_base import Storage

StoredFeed = tuple[bytes, str] | None  # the stored feed's bytes and ETag, or nothing stored


@dataclass(frozen=True)
class FeedUpdate:
    """The feed subscribers have now, the one this run would give them, and the diff."""

    old: bytes | None
    new: bytes
    stored_etag: str | None
    stored: bool
    diff: FeedDiff
    unreadable: str | None = None  # why the old feed could not be read (``--rebuild-feed``)
    parts: FeedParts | None = None  # what ours was rendered from (the site shows its items)


def next_feed(
    project: Project,
    show: Show,
    state: PublishState,
    episodes: Sequence[Episode],
    now: datetime,
    stored: StoredFeed,
    storage: Storage,
    rebuild: bool = False,
) -> FeedUpdate:
    """Render our feed and carry over what another publisher added to the stored one.

    The feed subscribers have now must be one dfl-audio can read: anything else is refused
    (it is never overwritten blindly) unless ``rebuild`` (``--rebuild-feed``) says to
    replace it.
    """
    stored_bytes, etag = stored if stored is not None else (None, None)
    local = project.feed_file(show)
    old = stored_bytes if stored is not None else (local.read_bytes() if local.is_file() else None)
    where = f"{storage.description.rstrip('/')}/{show.feed_name}" if stored else project.rel(local)
    parts = feed_parts(show, episodes, state, now)
    ours = render_parts(show, parts, FeedMemo(project.cache_dir / "feed.json"))
    # the feed exactly as we render it now reads as well as ours: parsing it is not needed
    unreadable = None
    if old is not None and old != ours:
        unreadable = _unreadable(old, where, rebuild)
    readable = old is not None and unreadable is None
    known = known_guids(state, episodes)
    theirs = stored_bytes if readable else None
    new = merge_foreign_items(ours, theirs, known)
    diff = diff_feeds(old if readable else None, new)
    return FeedUpdate(old, new, etag, stored is not None, diff, unreadable, parts)


def known_guids(state: PublishState, episodes: Sequence[Episode]) -> set[str]:
    """GUIDs this repository publishes or withdrew: any other item in a feed is foreign."""
    return set(state.episodes) | set(state.withdrawn) | {e.meta.guid for e in episodes}


def _unreadable(feed: bytes, where: str, rebuild: bool) -> str | None:
    """None when ``feed`` is an RSS feed dfl-audio can merge with; else a located refusal, or
    with ``rebuild`` the reason, for the warning that it will be replaced."""
    try:
        check_feed(feed)
    except DflAudioError as exc:
        if rebuild:
            return f"{where}: {exc.message}"
        raise FeedError(
            f"the stored feed is not one dfl-audio can read ({exc.message}); nothing was "
            "changed. Look at it, then run `dfl-audio feed --rebuild-feed` to replace it "
            "with the feed built from episodes/ and the publish state",
            where,
            exc,
        ) from exc
    return None


def refuse_removals(
    diff: FeedDiff, feed_path: str, withdrawn: AbstractSet[str] = frozenset()
) -> None:
    """A GUID that leaves the feed breaks subscribers' history: only on explicit request
    (``--allow-removal``, or ``unpublish`` for the GUIDs it ``withdrew``)."""
    removed = [entry for entry in diff.removed if entry.guid not in withdrawn]
    if removed:
        gone = ", ".join(f"{entry.title!r} (guid {entry.guid})" for entry in removed)
        raise FeedError(
            f"refusing to drop {gone} from the feed: it was published before, and a changed "
            f"or missing GUID makes apps lose or duplicate it; restore it, or pass "
            f"--allow-removal",
            feed_path,
        )
