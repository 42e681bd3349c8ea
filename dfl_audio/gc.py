"""Superseded objects: remembered when the state stops pointing at them, deleted after a grace.

A re-tag, an edited chapter list or a new transcript gives a file a new content key; the old
object stays referenced by feeds that caches and apps still hold and by downloads under way.
So a key the state stops using is only *remembered*, with the time it was superseded, and
deleted once the grace period (7 days by default) has passed and nothing points at it again.
Only keys this repository's state once recorded are ever deleted: objects another publisher
stored in the same bucket are never touched.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from dfl_audio.state import PublishState
from dfl_audio.storage_base import Storage, StoredObject

GRACE = timedelta(days=7)


def referenced(state: PublishState) -> set[str]:
    """Every key the state points at (and so the feed and the site it produces)."""
    keys = {state.show_artwork_key, *state.site_assets}
    for record in state.episodes.values():
        keys |= {record.audio_key, record.chapters_key, record.transcript_key, record.artwork_key}
        keys |= set(record.chapter_image_keys)
    return {key for key in keys if key}


def supersede(before: set[str], state: PublishState, now: datetime) -> None:
    """Remember in ``state`` when each key of ``before`` stopped being referenced; a key that
    is referenced again is forgotten (it is live, whatever happened before)."""
    live = referenced(state)
    for key in sorted(before - live):
        state.superseded.setdefault(key, now)
    for key in live & set(state.superseded):
        del state.superseded[key]


def collect(
    storage: Storage,
    state: PublishState,
    inventory: Mapping[str, StoredObject],
    now: datetime,
    grace: timedelta = GRACE,
) -> list[str]:
    """Delete superseded keys older than ``grace`` (and drop them from ``state``); returns
    the keys deleted. Keys already gone from the storage are just forgotten."""
    live = referenced(state)
    due = sorted(
        key for key, since in state.superseded.items() if now - since >= grace and key not in live
    )
    deleted = []
    for key in due:
        if key in inventory:
            storage.delete(key)
            deleted.append(key)
        del state.superseded[key]
    return deleted
