"""The pipeline: episode files → validate → normalize → tag → upload → feed.

Order is the safety rule: every object a feed points to is stored and verified before the
feed that points to it is written, and the feed is written last, in one operation. A run
that dies anywhere leaves the previous feed in place and is finished by the next run.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Literal

from dfl_audio.episode_audio import (
    content_key,
    episode_settings_digest,
    publish_audio,
    shifted_episode,
    source_fingerprint,
)
from dfl_audio.episodes import Project
from dfl_audio.errors import ConflictError, FeedError
from dfl_audio.feed import FeedDiff, chapters_json, diff_feeds, merge_foreign_items, render_feed
from dfl_audio.fsutil import atomic_write_bytes, sha256_bytes, sha256_file
from dfl_audio.models import (
    Episode,
    FeedItem,
    Published,
    Show,
)
from dfl_audio.progress import Reporter, Silent
from dfl_audio.state import PublishState, load_state, save_state
from dfl_audio.storage import Storage
from dfl_audio.transcripts import shift_transcript
from dfl_audio.validate import load_catalog, transcript_type

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)

# Bump when the audio pipeline changes what it produces from the same source and settings.
FEED_WRITE_ATTEMPTS = 5

Action = Literal["encode", "current", "stale", "unpublished"]


@dataclass(frozen=True)
class EpisodePlan:
    """What a run will do with one due episode, and why (``--dry-run`` prints these)."""

    episode: Episode
    action: Action
    reason: str


@dataclass
class RunResult:
    """What a publish or feed run did: for the CLI's summary and ``--json``."""

    feed_path: Path
    feed_url: str
    plans: list[EpisodePlan]
    diff: FeedDiff
    feed_changed: bool
    published: list[Published] = field(default_factory=list)
    dry_run: bool = False


@dataclass(frozen=True)
class RunOptions:
    """The choices a user makes for one run."""

    process_audio: bool = True
    only: Sequence[Path] = ()
    force: bool = False
    dry_run: bool = False
    allow_removal: bool = False
    now: datetime | None = None


def run(
    project: Project,
    storage: Storage,
    options: RunOptions,
    reporter: Reporter | None = None,
    show: Show | None = None,
) -> RunResult:
    """Publish (or only re-feed) the show: the one entry point of ``publish`` and ``feed``.

    ``show`` is the show with command-line and environment overrides applied, when any.
    """
    reporter = reporter or Silent()
    now = options.now or datetime.now(UTC)
    file_show, episodes = load_catalog(project).require_valid()
    show = show or file_show
    state_path = project.state_file(show)
    state = load_state(state_path)
    moved = state.storage != storage.identity(create=False)
    if moved:
        state = _start_over_in(storage, state, project.rel(state_path), options)
    chosen = _chosen_episodes(project, episodes, state, options, everything=moved)
    plans = [
        plan_episode(project, show, episode, state, options)
        for episode in chosen
        if episode.is_due(now)
    ]
    published: list[Published] = []
    if not options.dry_run:
        published = _process_audio(project, show, storage, state, plans, reporter, now)
        state = _store_side_files(project, show, episodes, state, storage)
        save_state(state_path, state)
    return _write_feed(project, show, storage, state, episodes, plans, published, options, now)


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


def _process_audio(
    project: Project,
    show: Show,
    storage: Storage,
    state: PublishState,
    plans: list[EpisodePlan],
    reporter: Reporter,
    now: datetime,
) -> list[Published]:
    """Encode and store every planned episode; the state is saved after each one, so an
    interrupted run keeps what it finished."""
    published: list[Published] = []
    with tempfile.TemporaryDirectory(prefix="dfl-audio-") as workdir:
        for plan in plans:
            if plan.action != "encode":
                continue
            record = publish_audio(
                project, show, plan.episode, storage, Path(workdir), reporter, now
            )
            state.episodes[record.guid] = record
            published.append(record)
            save_state(project.state_file(show), state)
    return published


def _start_over_in(
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
    identity = storage.identity(create=not options.dry_run)
    return PublishState(storage=identity, withdrawn=state.withdrawn)


def plan_episode(
    project: Project,
    show: Show,
    episode: Episode,
    state: PublishState,
    options: RunOptions,
) -> EpisodePlan:
    """Decide whether an episode's audio needs work: only a new source or settings need it.

    A source whose size and mtime match the record is not re-hashed; one that was touched
    but not changed (a git checkout) gets its record's fingerprint refreshed in ``state``.
    """
    record = state.episodes.get(episode.meta.guid)
    assert episode.meta.audio is not None  # validation requires audio on due episodes
    if record is None:
        action: Action = "encode" if options.process_audio else "unpublished"
        return EpisodePlan(episode, action, "not published yet")
    if options.force and options.process_audio:
        return EpisodePlan(episode, "encode", "--force")
    if not _source_unchanged(project.root / episode.meta.audio, record, state):
        action = "encode" if options.process_audio else "stale"
        return EpisodePlan(episode, action, "the source recording changed")
    if record.settings_digest != episode_settings_digest(project, show, episode):
        action = "encode" if options.process_audio else "stale"
        return EpisodePlan(episode, action, "the audio settings or the intro/outro changed")
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


def _store_side_files(
    project: Project,
    show: Show,
    episodes: Sequence[Episode],
    state: PublishState,
    storage: Storage,
) -> PublishState:
    """Artwork, chapters and transcripts follow the metadata: stored on every run (no-op when
    unchanged, since keys are content-addressed), never touching the published audio."""
    stored = _recorded_keys(state)
    state.show_artwork_key = _put_repo_file(project, storage, stored, "art", "show", show.artwork)
    for episode in episodes:
        record = state.episodes.get(episode.meta.guid)
        if record is None:
            continue
        meta = shifted_episode(episode, record.intro_seconds).meta
        chapters_key = None
        if meta.chapters:
            data = chapters_json(meta.chapters)
            chapters_key = _put_side_bytes(storage, stored, episode.slug, ".chapters.json", data)
        transcript_key = (
            _put_transcript(project, storage, stored, episode.slug, meta.transcript, record)
            if meta.transcript
            else None
        )
        artwork_key = (
            _put_repo_file(project, storage, stored, "art", episode.slug, meta.artwork)
            if meta.artwork
            else None
        )
        state.episodes[meta.guid] = record.model_copy(
            update={
                "episode_path": episode.path,
                "chapters_key": chapters_key,
                "transcript_key": transcript_key,
                "transcript_type": transcript_type(meta.transcript) if meta.transcript else None,
                "artwork_key": artwork_key,
            }
        )
    return state


def _put_transcript(
    project: Project, storage: Storage, stored: set[str], slug: str, rel: str, record: Published
) -> str:
    """The transcript as published: its cues moved by the intro the stored audio starts with."""
    if not record.intro_seconds:
        return _put_repo_file(project, storage, stored, "audio", slug, rel)
    data = shift_transcript((project.root / rel).read_bytes(), rel, record.intro_seconds)
    return _put_side_bytes(storage, stored, slug, PurePosixPath(rel).suffix.lower(), data)


def _put_side_bytes(storage: Storage, stored: set[str], slug: str, suffix: str, data: bytes) -> str:
    key = content_key("audio", slug, sha256_bytes(data), suffix)
    if key not in stored:
        storage.put_bytes(key, data)
    return key


def _recorded_keys(state: PublishState) -> set[str]:
    """Keys the state says were stored and verified: content-addressed, so still right."""
    keys = {state.show_artwork_key}
    for record in state.episodes.values():
        keys |= {record.audio_key, record.chapters_key, record.transcript_key, record.artwork_key}
    return {key for key in keys if key}


def _put_repo_file(
    project: Project, storage: Storage, stored: set[str], folder: str, stem: str, rel: str
) -> str:
    """Store a repository file under its content key, unless the state says it is there."""
    path = project.root / rel
    digest = sha256_file(path)
    key = content_key(folder, stem, digest, PurePosixPath(rel).suffix.lower())
    if key not in stored:
        storage.put_file(key, path, sha256=digest)
    return key


def feed_items(
    show: Show, episodes: Sequence[Episode], state: PublishState, now: datetime
) -> list[FeedItem]:
    """Due episodes that have published audio, with absolute URLs for everything stored."""
    url = public_url_maker(show)
    items = []
    for episode in episodes:
        record = state.episodes.get(episode.meta.guid)
        if record is None or not episode.is_due(now) or episode.meta.guid in state.withdrawn:
            continue
        items.append(
            FeedItem(
                episode=episode,
                audio_url=enclosure_url(show, record.audio_key),
                audio_bytes=record.audio_bytes,
                duration=record.duration,
                chapters_url=url(record.chapters_key),
                transcript_url=url(record.transcript_key),
                transcript_type=record.transcript_type,
                image_url=url(record.artwork_key),
            )
        )
    return items


def public_url_maker(show: Show) -> Callable[[str | None], str | None]:
    """Keys → public URLs under the show's storage base URL."""

    def make(key: str | None) -> str | None:
        return show.public_url + key if key else None

    return make


def enclosure_url(show: Show, key: str) -> str:
    """The audio URL, behind the analytics prefix (e.g. OP3) when the show uses one.

    Analytics services take the real URL without its scheme after their prefix.
    """
    real = show.public_url + key
    prefix = show.storage.analytics_prefix
    if not prefix:
        return real
    return prefix.rstrip("/") + "/" + real.split("://", 1)[1]


def last_build(items: Sequence[FeedItem], state: PublishState) -> datetime | None:
    """The newest change the inputs record: deterministic, never the wall clock."""
    stamps = [item.episode.meta.date for item in items]
    stamps += [state.episodes[item.episode.meta.guid].published_at for item in items]
    return max(stamps) if stamps else None


def render(show: Show, episodes: Sequence[Episode], state: PublishState, now: datetime) -> bytes:
    """The feed these episodes and this state produce."""
    items = feed_items(show, episodes, state, now)
    image_url = show.public_url + (state.show_artwork_key or show.artwork)
    return render_feed(show, items, image_url=image_url, last_build=last_build(items, state))


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


@dataclass(frozen=True)
class FeedUpdate:
    """The feed subscribers have now, the one this run would give them, and the diff."""

    old: bytes | None
    new: bytes
    stored_etag: str | None
    stored: bool
    diff: FeedDiff


def next_feed(
    project: Project,
    show: Show,
    storage: Storage,
    state: PublishState,
    episodes: Sequence[Episode],
    now: datetime,
) -> FeedUpdate:
    """Render our feed and carry over what another publisher added to the stored one."""
    stored = storage.get(show.feed_name)
    stored_bytes, etag = stored if stored is not None else (None, None)
    local = project.feed_file(show)
    old = stored_bytes if stored is not None else (local.read_bytes() if local.is_file() else None)
    known = set(state.episodes) | set(state.withdrawn) | {e.meta.guid for e in episodes}
    new = merge_foreign_items(render(show, episodes, state, now), stored_bytes, known)
    return FeedUpdate(old, new, etag, stored is not None, diff_feeds(old, new))


def _write_feed(
    project: Project,
    show: Show,
    storage: Storage,
    state: PublishState,
    episodes: Sequence[Episode],
    plans: list[EpisodePlan],
    published: list[Published],
    options: RunOptions,
    now: datetime,
) -> RunResult:
    """Upload the feed in one conditional write; on a lost race, re-read, re-merge, retry.

    With ``--dry-run``, only say what would change: the feed as it would be if every planned
    encode kept its old audio.
    """
    feed_path = project.feed_file(show)
    if options.dry_run:
        update = next_feed(project, show, storage, state, episodes, now)
        changed = update.old != update.new
        return RunResult(feed_path, show.feed_url, plans, update.diff, changed, dry_run=True)
    for _attempt in range(FEED_WRITE_ATTEMPTS):
        update = next_feed(project, show, storage, state, episodes, now)
        if not options.allow_removal:
            refuse_removals(update.diff, project.rel(feed_path), set(state.withdrawn))
        if update.stored and update.old == update.new:
            break
        try:
            storage.put_conditional(show.feed_name, update.new, expected_etag=update.stored_etag)
            break
        except ConflictError:
            log.warning("the stored feed changed while publishing (another publisher?); merging")
    else:
        raise FeedError(
            f"the stored feed kept changing during {FEED_WRITE_ATTEMPTS} attempts to write it "
            "(several publishers at once?); nothing was lost: run the command again",
            project.rel(feed_path),
        )
    if not feed_path.is_file() or feed_path.read_bytes() != update.new:
        atomic_write_bytes(feed_path, update.new)
    changed = update.old != update.new
    return RunResult(feed_path, show.feed_url, plans, update.diff, changed, published)


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
    state = load_state(state_path)
    record = state.episodes.get(guid)
    if record is None:
        raise FeedError("was never published; nothing to unpublish", wanted)
    state.withdrawn = sorted({*state.withdrawn, guid})
    save_state(state_path, state)
    result = _write_feed(project, show, storage, state, episodes, [], [], RunOptions(), now)
    if delete_audio:
        keys = [record.audio_key, record.chapters_key, record.transcript_key, record.artwork_key]
        del state.episodes[guid]
        still_used = _recorded_keys(state)
        for key in keys:
            if key and key not in still_used:
                storage.delete(key)
        save_state(state_path, state)
    return result


def check_feed(project: Project, now: datetime | None = None) -> bool:
    """True when ``feeds/`` holds exactly the feed the episode files and state produce."""
    show, episodes = load_catalog(project).require_valid()
    state = load_state(project.state_file(show))
    data = render(show, episodes, state, now or datetime.now(UTC))
    path = project.feed_file(show)
    return path.is_file() and path.read_bytes() == data
