"""The click CLI: each command parses options, calls the core, and reports.

The core raises :class:`DflAudioError`; this module alone turns it into a one-line message
and an exit code (a traceback only with ``--verbose``), and alone writes to the terminal.
"""

from __future__ import annotations

import json
import logging
import sys
import time
import traceback
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from dfl_audio import __version__, run_report
from dfl_audio.config import Overrides
from dfl_audio.episodes import Project
from dfl_audio.errors import DflAudioError, EpisodeError, os_error
from dfl_audio.progress import TqdmReporter
from dfl_audio.run_report import plural

if TYPE_CHECKING:
    from dfl_audio.models.show import Show
    from dfl_audio.publish import RunOptions, RunResult
    from dfl_audio.storage_base import Storage

F = TypeVar("F", bound=Callable[..., Any])
log = logging.getLogger("dfl_audio")


class State:
    """Options every command shares."""

    def __init__(self, root: Path, verbose: bool, quiet: bool) -> None:
        self.project = Project(root)
        self.verbose = verbose
        self.quiet = quiet

    def reporter(self) -> TqdmReporter | None:
        """Progress bars only for a person watching a terminal."""
        return TqdmReporter() if not self.quiet and sys.stderr.isatty() else None


class DflGroup(click.Group):
    """Turns our errors into ``Error: message`` and exit codes instead of tracebacks."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            try:
                return super().invoke(ctx)
            except OSError as exc:  # the last resort: every module should have named it
                raise os_error(exc) from exc
        except DflAudioError as exc:
            state = ctx.find_object(State)
            if state is not None and state.verbose:
                traceback.print_exc()
            if isinstance(exc, EpisodeError) and len(exc.problems) > 1:
                for problem in exc.problems:
                    click.echo(str(problem), err=True)
                raise click.ClickException(plural(len(exc.problems), "problem")) from exc
            raise click.ClickException(str(exc)) from exc


def storage_options(func: F) -> F:
    """``--storage`` and ``--public-url``, shared by every command that writes or serves."""
    func = click.option(
        "--public-url",
        envvar=None,
        default=None,
        help="Public base URL of the storage, written into the feed "
        "(overrides DFL_AUDIO_PUBLIC_URL and show.yaml).",
    )(func)
    func = click.option(
        "--storage",
        "storage",
        default=None,
        help="A local folder or s3://bucket/prefix (overrides DFL_AUDIO_STORAGE and show.yaml).",
    )(func)
    return func


check_public_option = click.option(
    "--check-public/--no-check-public",
    default=None,
    envvar="DFL_AUDIO_CHECK_PUBLIC",
    help="After writing, fetch the feed and new audio anonymously at their public URLs and "
    "warn if listeners would be refused (default: on for S3 storage; DFL_AUDIO_CHECK_PUBLIC).",
)

allow_removal_option = click.option(
    "--allow-removal",
    is_flag=True,
    help="Allow episodes that were in the previous feed to leave it.",
)
rebuild_feed_option = click.option(
    "--rebuild-feed",
    is_flag=True,
    help="Replace a stored feed dfl-audio cannot read with the one built from episodes/.",
)


@click.group(cls=DflGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="dfl-audio")
@click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="The repository holding episodes/ and feeds/.",
)
@click.option("-v", "--verbose", is_flag=True, help="Log details; tracebacks on errors.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars or summaries.")
@click.pass_context
def cli(ctx: click.Context, root: Path, verbose: bool, quiet: bool) -> None:
    """Publish the Depth First Learning interviews: validate, normalize, tag, upload, feed."""
    level = logging.ERROR if quiet else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s: %(message)s", stream=sys.stderr)
    # -v is dfl-audio's own log; other libraries' debug (markdown-it's parser) stays out.
    logging.getLogger("dfl_audio").setLevel(logging.DEBUG if verbose else logging.NOTSET)
    # Even with --verbose: botocore's debug log prints request headers, and with them the
    # access key id and session token. Our own loggers say what was sent where.
    for noisy in ("botocore", "boto3", "s3transfer", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.INFO if verbose else logging.ERROR)
    ctx.obj = State(root, verbose, quiet)


@cli.command()
@click.argument("title")
@click.option("--guest", "guests", multiple=True, help="A guest's name (repeatable).")
@click.pass_obj
def new(state: State, title: str, guests: tuple[str, ...]) -> None:
    """Scaffold a draft episode file dated today, with a permanent GUID."""
    from dfl_audio.scaffold import new_episode

    path = new_episode(state.project, title, list(guests), datetime.now().astimezone())
    click.echo(f"created {state.project.rel(path)}")


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--audio",
    is_flag=True,
    help="Also probe the recordings (and fit the chapters and transcript).",
)
@click.pass_obj
def validate(state: State, paths: tuple[Path, ...], audio: bool) -> None:
    """Check the show and every episode (or PATHS); report every problem at once."""
    from dfl_audio.refusals import validate_project

    only = [path.resolve() for path in paths]
    show, episodes = validate_project(state.project, only, audio=audio)
    if not state.quiet:
        drafts = sum(episode.meta.draft for episode in episodes)
        click.echo(
            f"ok: {show.title!r}, {plural(len(episodes), 'episode')} ({drafts} draft), no problems"
        )


@cli.command()
@click.option("--check", is_flag=True, help="Exit 1 if feeds/ is stale; write nothing.")
@allow_removal_option
@rebuild_feed_option
@check_public_option
@storage_options
@click.pass_obj
def feed(
    state: State,
    check: bool,
    allow_removal: bool,
    rebuild_feed: bool,
    check_public: bool | None,
    storage: str | None,
    public_url: str | None,
) -> None:
    """Regenerate the feed from episodes/ and what was published, and upload it."""
    from dfl_audio.publish import RunOptions, check_feed

    if check:
        if not check_feed(state.project):
            raise click.ClickException("the feed in feeds/ is stale: run dfl-audio feed")
        if not state.quiet:
            click.echo("feed is up to date")
        return
    options = RunOptions(
        process_audio=False, allow_removal=allow_removal, rebuild_feed=rebuild_feed
    )
    show, result = _run(state, options, Overrides(storage, public_url))
    _report(state, result, show)
    _warn_if_not_public(show, result, check_public)


@cli.command()
@click.argument("episodes", nargs=-1, type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Re-process audio even when it is current.")
@click.option("--dry-run", is_flag=True, help="Print the plan; change nothing.")
@allow_removal_option
@rebuild_feed_option
@click.option("--json", "as_json", is_flag=True, help="Print what was published as JSON.")
@check_public_option
@storage_options
@click.pass_obj
def publish(
    state: State,
    episodes: tuple[Path, ...],
    force: bool,
    dry_run: bool,
    allow_removal: bool,
    rebuild_feed: bool,
    as_json: bool,
    check_public: bool | None,
    storage: str | None,
    public_url: str | None,
) -> None:
    """Normalize, encode, tag and store EPISODES (default: all due), then update the feed."""
    from dfl_audio.publish import RunOptions

    options = RunOptions(
        only=[path.resolve() for path in episodes],
        force=force,
        dry_run=dry_run,
        allow_removal=allow_removal,
        rebuild_feed=rebuild_feed,
    )
    show, result = _run(state, options, Overrides(storage, public_url))
    if as_json:
        click.echo(json.dumps(run_report.as_json(result), indent=2))
    else:
        _report(state, result, show)
    _warn_if_not_public(show, result, check_public)


@cli.command()
@click.argument("episode", type=click.Path(path_type=Path))
@click.option(
    "--delete-audio",
    is_flag=True,
    help="Also delete its audio, chapters, transcript and artwork from the storage.",
)
@storage_options
@click.pass_obj
def unpublish(
    state: State, episode: Path, delete_audio: bool, storage: str | None, public_url: str | None
) -> None:
    """Take EPISODE out of the feed (the feed first, its files after, if asked)."""
    from dfl_audio.unpublish import unpublish as take_out

    show, store = _show_and_storage(state, Overrides(storage, public_url))
    result = take_out(state.project, store, episode, delete_audio=delete_audio, show=show)
    _notify_hub(show, result)
    _report(state, result, show)


@cli.command()
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8000,
    show_default=True,
    help="Port on 127.0.0.1 (0: any free one).",
)
@storage_options
@click.pass_obj
def serve(state: State, port: int, storage: str | None, public_url: str | None) -> None:
    """Preview the show and its website on 127.0.0.1 as S3 would serve them."""
    from dfl_audio.preview import site_for
    from dfl_audio.serve import start

    site = site_for(state.project, Overrides(storage, public_url))
    server, base_url = start(site, port)
    click.echo(
        f"serving {state.project.rel(site.folder)} — open {base_url} or subscribe to "
        f"{base_url}{site.feed_name}"
    )
    click.echo("press Ctrl-C to stop")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.shutdown()


@cli.command()
@click.option(
    "--grace-days",
    type=click.FloatRange(min=0),
    default=7.0,
    show_default=True,
    help="Delete only files superseded at least this long ago.",
)
@storage_options
@click.pass_obj
def gc(state: State, grace_days: float, storage: str | None, public_url: str | None) -> None:
    """Delete stored files the show stopped using (publish and feed do it after 7 days)."""
    from datetime import timedelta

    from dfl_audio.publish import collect_garbage

    show, store = _show_and_storage(state, Overrides(storage, public_url))
    deleted = collect_garbage(state.project, store, show, timedelta(days=grace_days))
    if not state.quiet:
        for key in deleted:
            click.echo(f"deleted: {key}")
        click.echo(f"{plural(len(deleted), 'superseded file')} deleted")


@cli.command()
@storage_options
@click.pass_obj
def doctor(state: State, storage: str | None, public_url: str | None) -> None:
    """Report which ffmpeg is used and whether the storage is reachable and public."""
    from dfl_audio.doctor import diagnose

    failed = False
    for check in diagnose(state.project, Overrides(storage, public_url)):
        click.echo(f"{'ok  ' if check.ok else 'FAIL'} {check.name}: {check.detail}")
        failed |= not check.ok
    if failed:
        raise click.ClickException("some checks failed")


def _show_and_storage(state: State, overrides: Overrides) -> tuple[Show, Storage]:
    """The show with overrides applied, and the storage it names."""
    from dfl_audio.config import open_show

    return open_show(state.project, overrides)


def _run(state: State, options: RunOptions, overrides: Overrides) -> tuple[Show, RunResult]:
    from dfl_audio.publish import run

    show, store = _show_and_storage(state, overrides)
    result = run(state.project, store, options, state.reporter(), show=show)
    _notify_hub(show, result)
    return show, result


def _notify_hub(show: Show, result: RunResult) -> None:
    """WebSub: a run that changed the stored feed tells the show's hub (a warning at worst)."""
    from dfl_audio.websub import notify_hub

    notify_hub(show, result.feed_url, feed_changed=result.feed_changed, dry_run=result.dry_run)


def _report(state: State, result: RunResult, show: Show) -> None:
    if state.quiet:
        return
    for line in run_report.summary_lines(result, show):
        click.echo(line)


def _warn_if_not_public(show: Show, result: RunResult, wanted: bool | None) -> None:
    from dfl_audio.reachability import listener_warnings

    for warning in listener_warnings(show, result, wanted):
        log.warning(warning)


def main() -> None:
    """Console-script entry point: SIGTERM and SIGHUP stop a run as cleanly as Ctrl-C, and
    any of them ends it with one line and the shell's exit code (130, 143, 129)."""
    from dfl_audio.interrupts import stop_signals_interrupt

    with stop_signals_interrupt() as received:
        try:
            outcome = cli.main(prog_name="dfl-audio", standalone_mode=False)
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except (click.Abort, KeyboardInterrupt) as exc:
            if isinstance(exc, click.Abort) and not isinstance(exc.__cause__, KeyboardInterrupt):
                click.echo("Aborted!", err=True)
                sys.exit(1)
            click.echo(
                f"Error: interrupted by {received.name}; stopped without leaving partial files",
                err=True,
            )
            sys.exit(received.exit_code)
    sys.exit(outcome if isinstance(outcome, int) else 0)


__all__ = ["cli", "main"]
