"""The pipeline: episode files → validate → normalize → tag → upload → site → feed.

Order is the safety rule: every object a feed points to is stored and verified before the
feed that points to it is written — the show's website (its pages link the same objects)
included — and the feed is written last, in one operation. A run that dies anywhere leaves
the previous feed in place and is finished by the next run. Pages of episodes that left the
feed are deleted only after it.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

from dfl_audio.episode_audio import publish_audio, retag_audio
from dfl_audio.episodes import Project
from dfl_audio.errors import ConflictError, DflAudioError, FeedError
from dfl_audio.feed import FeedDiff, merge_foreign_items
from dfl_audio.feed import check_feed as check_feed_xml
from dfl_audio.feed_build import render
from dfl_audio.feed_plan import FeedUpdate, StoredFeed, known_guids, next_feed, refuse_removals
from dfl_audio.fsutil import atomic_write_bytes
from dfl_audio.gc import collect, referenced, supersede
from dfl_audio.leftovers import work_dir
from dfl_audio.models.episode import Episode
from dfl_audio.models.show import Show
from dfl_audio.plan import EpisodePlan, Plan, RunOptions, Unchanged, prepare
from dfl_audio.progress import Reporter, Silent
from dfl_audio.records import Published
from dfl_audio.run_memo import RunOutputs, fingerprint, forget, remember, stored_files
from dfl_audio.side_files import SideFile, side_files, store_side_files
from dfl_audio.site.build import SiteFile, Website, build_site
from dfl_audio.site.gzip_digests import GzipDigests
from dfl_audio.site.page_cache import page_cache
from dfl_audio.site.store import (
    changed_files,
    compressed,
    delete_pages,
    known_slugs,
    review_copy_matches,
    stale_pages,
    store_site,
    write_review_copy,
)
from dfl_audio.state import PublishState, load_state, save_state
from dfl_audio.storage_base import Storage
from dfl_audio.validate import load_catalog

__all__ = [
    "FeedWrite",
    "RunOptions",
    "RunResult",
    "check_feed",
    "collect_garbage",
    "run",
    "write_feed",
]

log = logging.getLogger(__name__)

FEED_WRITE_ATTEMPTS = 5


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
    deleted: list[str] = field(default_factory=list)  # superseded objects past their grace
    site_written: list[str] = field(default_factory=list)  # pages, sitemap, assets (or would be)
    site_deleted: list[str] = field(default_factory=list)  # pages of episodes that left
    built: bool = True  # False: inputs and stored objects as the last run left them (run_memo)


def run(
    project: Project,
    storage: Storage,
    options: RunOptions,
    reporter: Reporter | None = None,
    show: Show | None = None,
) -> RunResult:
    """Publish (or only re-feed) the show: the one entry point of ``publish`` and ``feed``.

    ``show`` is the show with command-line and environment overrides applied, when any.
    Everything that could be refused is refused by :func:`prepare` before the first write.
    """
    reporter = reporter or Silent()
    now = options.now or datetime.now(UTC)
    file_show, episodes = load_catalog(project).require_valid()
    show = show or file_show
    plan = prepare(project, storage, show, episodes, options, now)
    if isinstance(plan, Unchanged):
        return _nothing_to_build(project, show, storage, episodes, plan, options, now)
    feed_path = project.feed_file(show)
    known = known_slugs(episodes, plan.state)
    if options.dry_run:
        update = plan.feed
        return RunResult(
            feed_path,
            show.feed_url,
            plan.episodes,
            update.diff,
            update.old != update.new,
            [],
            True,
            site_written=changed_files(plan.site, plan.inventory, storage, plan.pages.gzip),
            site_deleted=stale_pages(plan.site, plan.inventory, known),
        )
    state = plan.state
    before = referenced(state)
    forget(project)  # a run that stops half-way leaves no record of what it built
    if plan.mark_storage:
        state.storage = storage.identity(create=True)
    published = _process_audio(project, show, storage, state, plan.episodes, reporter, now)
    if published:
        state, files = side_files(project, show, episodes, state)
    else:  # no new record: the plan's side keys are exact
        files = plan.side_files
        state = plan.side_state.model_copy(update={"storage": state.storage})
    store_side_files(storage, files, plan.inventory)
    if published:  # else the plan's feed and site are exact
        update = next_feed(
            project, show, state, episodes, now, plan.stored_feed, storage, options.rebuild_feed
        )
        items = update.parts.items if update.parts is not None else None
        site = build_site(project.root, show, episodes, state, now, update.new, plan.pages, items)
    else:
        update, site = plan.feed, plan.site
    state.site_assets = list(site.asset_keys)
    supersede(before, state, now)
    state_sha256 = save_state(project.state_file(show), state)
    site_written = store_site(storage, site, plan.inventory, plan.pages.gzip)  # before the feed
    feed = FeedWrite(options, now, plan.stored_feed, update)
    result = write_feed(project, show, storage, state, episodes, plan.episodes, published, feed)
    result.site_written = site_written
    known |= known_slugs((), state)
    result.site_deleted = delete_pages(storage, stale_pages(site, plan.inventory, known))
    write_review_copy(project.site_dir, site, plan.pages)
    superseded = len(state.superseded)
    result.deleted = collect(storage, state, plan.inventory, now, options.gc_grace)
    if len(state.superseded) != superseded:  # after the feed: it no longer points at them
        state_sha256 = save_state(project.state_file(show), state)
    try:
        outputs = _outputs(update, files, site, plan, storage)
    except OSError as exc:  # a repository file gone since it was stored: no record this time
        log.debug("not recording this run: %s", exc)
        return result
    remember(project, fingerprint(plan.inputs, state_sha256), outputs)
    return result


def _outputs(
    update: FeedUpdate, files: Sequence[SideFile], site: Website, plan: Plan, storage: Storage
) -> RunOutputs:
    """What a complete run built, as :mod:`dfl_audio.run_memo` records it: each object as the
    storage holds it (a site file gzip-encoded where stored so, as changed_files compares)."""
    side = ((item.key, item.size, item.sha256, item.md5) for item in files)
    pages = (_as_stored(storage, item, plan.pages.gzip) for item in site.files)
    stored = stored_files([*side, *pages], plan.inventory)
    return RunOutputs(update.new, stored, site.episode_pages, [item.key for item in site.files])


def _as_stored(
    storage: Storage, item: SiteFile, gzip: GzipDigests
) -> tuple[str, int, str, Callable[[], str]]:
    if compressed(storage, item.key):
        packed = gzip.packed(item.data, item.sha256)
        return item.key, packed.size, packed.sha256, partial(str, packed.md5)
    return item.key, len(item.data), item.sha256, partial(_md5, item.data)


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def _nothing_to_build(
    project: Project,
    show: Show,
    storage: Storage,
    episodes: Sequence[Episode],
    plan: Unchanged,
    options: RunOptions,
    now: datetime,
) -> RunResult:
    """The inputs and everything they came to are as the last complete run left them: the
    feed is the stored one (``feeds/`` has it too), the site and side files are stored,
    nothing is written but the state's refreshed source stamps, and old objects are
    collected as on every run."""
    state = plan.state
    save_state(project.state_file(show), state)
    feed = FeedWrite(options, now, plan.stored_feed, plan.feed)
    result = write_feed(project, show, storage, state, episodes, plan.episodes, [], feed)
    result.built = False
    superseded = len(state.superseded)
    result.deleted = collect(storage, state, plan.inventory, now, options.gc_grace)
    if len(state.superseded) != superseded:
        save_state(project.state_file(show), state)
    log.debug("nothing changed since the last run: the feed, side files and site are stored")
    return result


def _process_audio(
    project: Project,
    show: Show,
    storage: Storage,
    state: PublishState,
    plans: list[EpisodePlan],
    reporter: Reporter,
    now: datetime,
) -> list[Published]:
    """Encode (or re-tag) and store every planned episode; the state is saved after each
    one, so an interrupted run keeps what it finished."""
    published: list[Published] = []
    with (
        work_dir() as workdir,  # named for this process: a killed run's is removed next time
        _paths_as_the_editor_knows_them(project),
    ):
        for plan in plans:
            if plan.action == "encode":
                record = publish_audio(
                    project, show, plan.episode, storage, Path(workdir), reporter, now
                )
            elif plan.action == "retag":
                old = state.episodes[plan.episode.meta.guid]
                record = retag_audio(
                    project, show, plan.episode, old, storage, Path(workdir), reporter
                )
            else:
                continue
            state.episodes[record.guid] = record
            published.append(record)
            save_state(project.state_file(show), state)
    return published


@contextlib.contextmanager
def _paths_as_the_editor_knows_them(project: Project) -> Iterator[None]:
    """The engine names files by absolute path; an error shows them relative to the repo."""
    try:
        yield
    except DflAudioError as exc:
        if exc.path is not None and Path(exc.path).is_absolute():
            exc.path = project.rel(Path(exc.path))
        raise


@dataclass(frozen=True)
class FeedWrite:
    """How to write the feed: the run's options and clock, and the stored feed as last read."""

    options: RunOptions
    now: datetime
    stored: StoredFeed
    planned: FeedUpdate | None = None  # the first attempt's update, when already worked out


def write_feed(
    project: Project,
    show: Show,
    storage: Storage,
    state: PublishState,
    episodes: Sequence[Episode],
    plans: list[EpisodePlan],
    published: list[Published],
    feed: FeedWrite,
) -> RunResult:
    """Upload the feed in one conditional write; on a lost race, re-read, re-merge, retry."""
    feed_path = project.feed_file(show)
    options, stored = feed.options, feed.stored
    for attempt in range(FEED_WRITE_ATTEMPTS):
        if attempt:
            stored = storage.get(show.feed_name)
        if attempt == 0 and feed.planned is not None:
            update = feed.planned
        else:
            update = next_feed(
                project, show, state, episodes, feed.now, stored, storage, options.rebuild_feed
            )
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


def collect_garbage(
    project: Project, storage: Storage, show: Show, grace: timedelta, now: datetime | None = None
) -> list[str]:
    """``dfl-audio gc``: delete superseded objects past ``grace`` now, without a publish."""
    state_path = project.state_file(show)
    state = load_state(state_path)
    if state.storage != storage.identity(create=False):
        raise FeedError(
            f"the publish state describes another storage than {storage.description}; "
            "nothing was deleted",
            project.rel(state_path),
        )
    deleted = collect(storage, state, storage.inventory(), now or datetime.now(UTC), grace)
    save_state(state_path, state)
    return deleted


def check_feed(project: Project, now: datetime | None = None) -> bool:
    """True when ``feeds/`` holds exactly the feed the episode files and state produce (with
    the items another publisher added, which a merge carried into it), and the site that goes
    with it in ``feeds/site/``."""
    show, episodes = load_catalog(project).require_valid()
    state = load_state(project.state_file(show), project.rel(project.state_file(show)))
    path = project.feed_file(show)
    if not path.is_file():
        return False
    local = path.read_bytes()
    try:
        check_feed_xml(local)
    except DflAudioError:
        return False
    now = now or datetime.now(UTC)
    ours = render(show, episodes, state, now)
    if merge_foreign_items(ours, local, known_guids(state, episodes)) != local:
        return False
    site = build_site(project.root, show, episodes, state, now, local, page_cache(project))
    return review_copy_matches(project.site_dir, site)
