"""What a run will do, decided before anything is written.

``publish`` and ``feed`` first find everything they could refuse: a damaged state, a storage
that cannot be listed with these credentials, a stored feed they cannot read, a GUID that
would leave the feed, an object the state records but the storage lost. Only then do they
encode, upload or write, so a refusal leaves storage, state and ``feeds/`` as they were —
and ``--dry-run`` prints this same plan, with the same diff, refusals and exit code.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

from dfl_audio.episode_audio import (
    content_key,
    episode_settings_digest,
    episode_tags_digest,
    source_fingerprint,
)
from dfl_audio.episodes import Project
from dfl_audio.errors import (
    EpisodeError,
    FeedError,
    FileAccessError,
    StorageError,
)
from dfl_audio.feed import FeedDiff
from dfl_audio.feed_plan import FeedUpdate, StoredFeed, next_feed, refuse_removals
from dfl_audio.fsutil import sha256_file
from dfl_audio.gc import GRACE
from dfl_audio.models.episode import Episode
from dfl_audio.models.show import Show
from dfl_audio.records import Published
from dfl_audio.refusals import recording_problems
from dfl_audio.run_memo import fingerprint, nothing_to_do, run_inputs
from dfl_audio.side_files import SideFile, side_files
from dfl_audio.site.build import Website, build_site
from dfl_audio.site.page_cache import PageCache, page_cache
from dfl_audio.site.urls import SHOW_PAGE
from dfl_audio.state import PublishState, read_state
from dfl_audio.storage_base import Storage, StoredObject, check_key
from dfl_audio.storage_check import audio_damage
from dfl_audio.validate import late_transcript_problems

log = logging.getLogger(__name__)

Action = Literal["encode", "retag", "current", "stale", "unpublished"]


@dataclass(frozen=True)
class RunOptions:
    """The choices a user makes for one run."""

    process_audio: bool = True
    only: Sequence[Path] = ()
    force: bool = False
    dry_run: bool = False
    allow_removal: bool = False
    rebuild_feed: bool = False  # replace a stored feed that cannot be read (with a warning)
    gc_grace: timedelta = GRACE  # superseded objects are deleted this long after
    now: datetime | None = None


@dataclass(frozen=True)
class EpisodePlan:
    """What a run will do with one due episode, and why (``--dry-run`` prints these)."""

    episode: Episode
    action: Action
    reason: str


@dataclass
class Plan:
    """Everything a run decided before its first side effect."""

    state: PublishState  # as loaded, a start-over applied in memory only
    mark_storage: bool  # a new, emptied or other storage: mark it as ours when writing
    inventory: dict[str, StoredObject]
    stored_feed: StoredFeed  # as read before the run: the first write builds on it
    episodes: list[EpisodePlan]
    side_state: PublishState  # the state with the side keys the metadata gives now...
    side_files: list[SideFile]  # ...and the files they name (exact when nothing is encoded)
    feed: FeedUpdate  # the feed as it will be once every planned encode is done
    site: Website  # the site that feed goes with (exact when nothing is encoded)
    pages: PageCache  # its episode pages, for building it again after encoding
    inputs: str = ""  # the digest of what side files, feed and site are made from (run_memo)


@dataclass
class Unchanged:
    """A run whose inputs are the ones the last complete run recorded, with everything they
    came to still in place (:mod:`dfl_audio.run_memo`): nothing to build, nothing to write."""

    state: PublishState  # as loaded (with the plan's refreshed source stamps)
    inventory: dict[str, StoredObject]
    stored_feed: tuple[bytes, str]  # the feed's bytes and ETag: the recorded ones
    episodes: list[EpisodePlan]

    @property
    def feed(self) -> FeedUpdate:
        data, etag = self.stored_feed
        return FeedUpdate(data, data, etag, True, FeedDiff(added=[], changed=[], removed=[]))


def prepare(
    project: Project,
    storage: Storage,
    show: Show,
    episodes: list[Episode],
    options: RunOptions,
    now: datetime,
) -> Plan | Unchanged:
    """Read and check everything, write nothing: raises what the run would refuse.

    A run that would build exactly what the last complete run built, all of it still in
    place, gets :class:`Unchanged` (never with ``--dry-run``, ``--force``, named episodes or
    audio to publish).
    """
    feed_rel = project.rel(project.feed_file(show))
    _check_feed_key(show)
    for path in (project.state_file(show), project.feed_file(show), project.site_dir / SHOW_PAGE):
        _check_writable(project, path)
    state, state_sha256 = read_state(
        project.state_file(show), project.rel(project.state_file(show))
    )
    inventory = storage.inventory()  # the first request: a wrong endpoint, key or bucket stops here
    stored_feed = storage.get(show.feed_name)
    mark = state.storage != storage.identity(create=False)
    if mark:
        state = _start_over(storage, state, project.rel(project.state_file(show)), options)
    chosen = _chosen_episodes(project, episodes, state, options, everything=mark)
    plans = [
        plan_episode(project, show, episode, state, options, inventory)
        for episode in chosen
        if episode.is_due(now)
    ]
    _check_recordings(project, plans, state)
    inputs = run_inputs(project, show, episodes, now)
    if _may_be_unchanged(options, mark, plans) and nothing_to_do(
        project,
        fingerprint(inputs, state_sha256),
        state,
        episodes,
        inventory,
        stored_feed[0] if stored_feed is not None else None,
        project.feed_file(show),
    ):
        assert stored_feed is not None  # nothing_to_do requires the recorded stored feed
        return Unchanged(state, inventory, stored_feed, plans)
    predicted, files = side_files(project, show, episodes, _with_placeholders(state, plans, now))
    feed = next_feed(
        project, show, predicted, episodes, now, stored_feed, storage, options.rebuild_feed
    )
    if not options.allow_removal:
        refuse_removals(feed.diff, feed_rel, set(state.withdrawn))
    if feed.unreadable:
        log.warning("%s; replacing it (--rebuild-feed)", feed.unreadable)
    pages = page_cache(project)
    items = feed.parts.items if feed.parts is not None else None
    site = build_site(project.root, show, episodes, predicted, now, feed.new, pages, items)
    return Plan(
        state, mark, inventory, stored_feed, plans, predicted, files, feed, site, pages, inputs
    )


def _may_be_unchanged(options: RunOptions, mark: bool, plans: Sequence[EpisodePlan]) -> bool:
    """Only a plain run with no audio work may find that it has nothing to do."""
    if options.dry_run or options.force or options.only or options.rebuild_feed or mark:
        return False
    return all(plan.action in ("current", "stale", "unpublished") for plan in plans)


def _check_feed_key(show: Show) -> None:
    try:
        check_key(show.feed_name)
    except StorageError as exc:
        raise FeedError(f"feed_name: {exc}", "episodes/show.yaml", exc) from exc


def _check_writable(project: Project, path: Path) -> None:
    """The run will end by writing ``path``: something in the way is refused now, not after
    the audio is stored."""
    rel = project.rel(path)
    folder = next((p for p in (path.parent, *path.parent.parents) if p.exists()), None)
    if folder is not None and not folder.is_dir():
        raise FileAccessError(f"cannot write here: {project.rel(folder)} is a file", rel)
    if path.exists() and not path.is_file():
        raise FileAccessError("cannot write: a folder (or something else) is in the way", rel)


def _start_over(
    storage: Storage, state: PublishState, state_rel: str, options: RunOptions
) -> PublishState:
    """The state describes files in another storage (or a new, emptied or freshly cloned
    local folder): nothing it lists is stored here yet, so everything is published again."""
    if state.episodes and not options.process_audio:
        raise FeedError(
            f"the published files are not in {storage.description} (another storage, or a new "
            "or emptied folder); run dfl-audio publish to store them there first",
            state_rel,
        )
    if state.episodes:
        log.warning("%s does not hold what was published: publishing it again", storage.description)
    return PublishState(storage=None, withdrawn=state.withdrawn)


def _chosen_episodes(
    project: Project,
    episodes: list[Episode],
    state: PublishState,
    options: RunOptions,
    *,
    everything: bool,
) -> list[Episode]:
    """The episodes this run is about: the ones named (a withdrawal no longer holds them
    back: ``state.withdrawn`` forgets them), else all that were not withdrawn."""
    wanted = {project.rel(path) for path in options.only}
    unknown = sorted(wanted - {episode.path for episode in episodes})
    if unknown:
        raise FeedError("not an episode file of this show (episodes/*.md)", unknown[0])
    if not wanted or everything:
        return [episode for episode in episodes if episode.meta.guid not in state.withdrawn]
    chosen = [episode for episode in episodes if episode.path in wanted]
    named = {episode.meta.guid for episode in chosen}
    state.withdrawn = [guid for guid in state.withdrawn if guid not in named]
    return chosen


def plan_episode(
    project: Project,
    show: Show,
    episode: Episode,
    state: PublishState,
    options: RunOptions,
    inventory: dict[str, StoredObject] | None = None,
) -> EpisodePlan:
    """Decide whether an episode's audio needs work: a new source or settings, or stored
    audio that went missing or was altered (encode), or metadata its tags carry (re-tag).

    A source whose size and mtime match the record is not re-hashed; one that was touched
    but not changed (a git checkout) gets its record's fingerprint refreshed in ``state``.
    """
    record = state.episodes.get(episode.meta.guid)
    assert episode.meta.audio is not None  # validation requires audio on due episodes
    if record is None:
        action: Action = "encode" if options.process_audio else "unpublished"
        return EpisodePlan(episode, action, "new episode")
    damage = audio_damage(record, inventory) if inventory is not None else None
    if damage is not None:
        if not options.process_audio:
            raise FeedError(f"{damage}; run dfl-audio publish to store it again", episode.path)
        return EpisodePlan(episode, "encode", damage)
    if options.force and options.process_audio:
        return EpisodePlan(episode, "encode", "--force")
    if not _source_unchanged(project.root / episode.meta.audio, record, state):
        action = "encode" if options.process_audio else "stale"
        return EpisodePlan(episode, action, "the source recording changed")
    if record.settings_digest != episode_settings_digest(project, show, episode):
        action = "encode" if options.process_audio else "stale"
        return EpisodePlan(episode, action, "the audio settings or the intro/outro changed")
    tags = episode_tags_digest(project, show, episode, record.intro_seconds, record.duration)
    if record.tags_digest != tags:  # the MP3 a listener downloads must say what the feed says
        return EpisodePlan(episode, "retag", "the metadata in its ID3 tags changed")
    return EpisodePlan(episode, "current", "audio is current")


def _source_unchanged(source: Path, record: Published, state: PublishState) -> bool:
    """Same bytes as published? Hash only when size or mtime moved; remember a touch."""
    fingerprint = source_fingerprint(source)
    if fingerprint == (record.source_size, record.source_mtime_ns):
        return True
    if sha256_file(source) != record.source_sha256:
        return False
    size, mtime_ns = fingerprint
    update = {"source_size": size, "source_mtime_ns": mtime_ns}
    state.episodes[record.guid] = record.model_copy(update=update)
    return True


def _check_recordings(project: Project, plans: Sequence[EpisodePlan], state: PublishState) -> None:
    """Every recording about to be encoded must be readable audio that its chapters and
    transcript fit, and every published one its transcript (which may have been edited):
    found now, not after the episodes before it were uploaded."""
    encodes = [plan.episode for plan in plans if plan.action == "encode"]
    problems = recording_problems(project, encodes) if encodes else []
    for plan in plans:
        record = state.episodes.get(plan.episode.meta.guid)
        if plan.action != "encode" and record is not None and record.interview_seconds:
            problems += late_transcript_problems(
                project.root, plan.episode, record.interview_seconds
            )
    if problems:
        raise EpisodeError(problems)


def _with_placeholders(
    state: PublishState, plans: Sequence[EpisodePlan], now: datetime
) -> PublishState:
    """The state as the run will leave it, as far as the feed's items go: every episode about
    to be published for the first time stands in with an empty record."""
    episodes = dict(state.episodes)
    for plan in plans:
        meta = plan.episode.meta
        if plan.action == "encode" and meta.guid not in episodes:
            episodes[meta.guid] = Published(
                guid=meta.guid,
                episode_path=plan.episode.path,
                source_sha256="0" * 64,
                settings_digest="0" * 64,
                audio_key=content_key("audio", plan.episode.slug, "0" * 64, ".mp3"),
                audio_sha256="0" * 64,
                audio_bytes=0,
                duration=0.0,
                published_at=now,
            )
    return state.model_copy(update={"episodes": episodes})
