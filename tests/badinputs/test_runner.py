"""The runner's own checks can fail: a snapshot sees every kind of change, and a case that
changes the published feed is reported as such."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from badinputs.case import Case
from badinputs.damage import episode
from badinputs.runner import Context, differences, run_case, snapshot


def test_snapshot_sees_content_mode_new_folders_links_and_removals(tmp_path: Path) -> None:
    (tmp_path / "feeds").mkdir()
    (tmp_path / "feeds" / "a.json").write_text("{}")
    (tmp_path / "feeds" / "b.xml").write_text("<rss/>")
    (tmp_path / ".dfl-audio").mkdir()  # the parse cache is not compared
    ctx = Context(tmp_path)
    before = snapshot(ctx)
    (tmp_path / "feeds" / "a.json").write_text("{ }")
    os.chmod(tmp_path / "feeds" / "b.xml", 0o600)
    (tmp_path / "tmp" / "dfl-audio-x").mkdir(parents=True)
    (tmp_path / "storage").mkdir()
    (tmp_path / "storage" / "link.mp3").symlink_to("/etc/hostname")
    (tmp_path / ".dfl-audio" / "episodes.json").write_text("{}")
    assert differences(before, snapshot(ctx)) == [
        "+storage/",
        "+storage/link.mp3",
        "+tmp/",
        "+tmp/dfl-audio-x/",
        "~feeds/a.json",
        "~feeds/b.xml",
    ]
    (tmp_path / "feeds" / "a.json").unlink()
    assert "-feeds/a.json" in differences(before, snapshot(ctx))


def test_a_run_that_changes_the_feed_is_caught(template: Path, tmp_path: Path) -> None:
    """``feed`` after a title edit rewrites the feed: the runner must list those files."""
    root = tmp_path / "project"
    shutil.copytree(template, root, symlinks=True)
    episode({"title": "A new title"})(root)
    outcome = run_case(Case("runner.changes", "cli", ("feed",)), Context(root))
    assert outcome.exit == 0 and not outcome.traceback
    assert "~feeds/interviews.xml" in outcome.changed
    assert "~storage/interviews.xml" in outcome.changed
