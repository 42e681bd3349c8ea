"""What a run tells its user: the summary lines and the ``publish --json`` document.

Pure functions of the run's result, so what a producer reads after a publish is tested
without a terminal; the CLI prints them (and stays the only module that writes to it).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dfl_audio.models.show import Show
    from dfl_audio.publish import RunResult

_VERBS = {  # plan action -> (done, dry run)
    "encode": ("published", "would publish"),
    "retag": ("re-tagged", "would re-tag"),
    "current": ("unchanged", "unchanged"),
    "stale": ("audio changed (run publish)", "audio changed (run publish)"),
    "unpublished": ("not published yet (run publish)", "not published yet (run publish)"),
}


def plural(number: int, noun: str) -> str:
    """
    >>> plural(1, "episode"), plural(3, "problem")
    ('1 episode', '3 problems')
    """
    return f"{number} {noun}{'s' if number != 1 else ''}"


def as_json(result: RunResult) -> dict[str, Any]:
    """``publish --json``: the records stored, or with ``--dry-run`` what would be."""
    out: dict[str, Any] = {"feed": str(result.feed_path), "feed_url": result.feed_url}
    if result.dry_run:
        out["dry_run"] = True
        out["would_publish"] = [
            {"episode": plan.episode.path, "guid": plan.episode.meta.guid, "reason": plan.reason}
            for plan in result.plans
            if plan.action == "encode"
        ]
        out["feed_would_change"] = result.feed_changed
    out["published"] = [json.loads(record.model_dump_json()) for record in result.published]
    return out


def summary_lines(result: RunResult, show: Show) -> list[str]:
    """One line per episode planned, per feed item added, changed or removed, per cleanup,
    the site and the feed, and where to preview a local show."""
    lines = []
    for plan in result.plans:
        verb = _VERBS[plan.action][1 if result.dry_run else 0]
        lines.append(f"{verb}: {plan.episode.path} — {plan.reason}")
    diff = result.diff
    for label, entries in (
        ("added", diff.added),
        ("changed", diff.changed),
        ("removed", diff.removed),
    ):
        lines += [f"{label}: {entry.title}" for entry in entries]
    if result.deleted:
        lines.append(f"deleted {plural(len(result.deleted), 'superseded file')} (past the grace)")
    lines += _site_lines(result, show)
    status = (
        "would change"
        if result.dry_run and result.feed_changed
        else ("updated" if result.feed_changed else "unchanged")
    )
    lines.append(f"feed {status}: {result.feed_path} ({result.feed_url})")
    if not show.storage.location.startswith("s3://") and not result.dry_run:
        lines.append(
            "preview: dfl-audio serve, then open http://127.0.0.1:8000/ or subscribe to "
            f"http://127.0.0.1:8000/{show.feed_name}"
        )
    return lines


def _site_lines(result: RunResult, show: Show) -> list[str]:
    """One line when the run changed (or would change) the show's website."""
    from dfl_audio.site.urls import show_page_url

    written, removed = len(result.site_written), len(result.site_deleted)
    if not written and not removed:
        return []
    if result.dry_run:
        return [f"site would change: {plural(written, 'file')} to write, {removed} to remove"]
    return [
        f"site updated: {plural(written, 'file')} written, {plural(removed, 'page')} "
        f"removed ({show_page_url(show)})"
    ]
