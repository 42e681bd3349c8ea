"""The session's shared state: every case's outcome (for the golden update and the tally
JSON), and the one helper that runs the CLI to build fixtures."""

from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from badinputs.case import Case
from badinputs.golden import Expected, read_golden, write_golden
from badinputs.known_failures import KNOWN_FAILURES
from badinputs.runner import Outcome, env_without_ambient

UPDATE = os.environ.get("DFL_UPDATE_GOLDEN") == "1"
REPORT = os.environ.get("DFL_BAD_INPUTS_JSON")  # where to write every case's outcome

RESULTS: dict[str, dict[str, Any]] = {}


def publish_in_process(root: Path, argv: list[str], env: dict[str, str]) -> None:
    """Run the CLI once to build a fixture; fails loudly if it does not succeed."""
    from dfl_audio.cli import cli

    saved = logging.getLogger().handlers[:]
    logging.getLogger().handlers = []
    old_tmp = tempfile.tempdir
    tempfile.tempdir = str(root.parent)
    try:
        result = CliRunner().invoke(
            cli, ["--root", str(root), "-q", *argv], env=env_without_ambient(env)
        )
    finally:
        tempfile.tempdir = old_tmp
        logging.getLogger().handlers = saved
    assert result.exit_code == 0, (result.stderr, result.exception)


def record(case: Case, outcome: Outcome, expected: Expected | None) -> None:
    RESULTS[case.id] = {
        "category": case.category,
        "command": case.command,
        "mode": case.mode,
        "expect": case.expect,
        "exit": outcome.exit,
        "message": outcome.message,
        "traceback": outcome.traceback,
        "hung": outcome.hung,
        "changed": outcome.changed,
        "golden_exit": expected.exit if expected else None,
        "golden_message": expected.message if expected else None,
        "known_failure": KNOWN_FAILURES.get(case.id),
    }


def finish() -> None:
    """At the end of the session: update the golden file and write the JSON, if asked."""
    if not RESULTS:
        return
    if UPDATE:
        update_golden()
    if REPORT:
        Path(REPORT).write_text(json.dumps(RESULTS, indent=1, sort_keys=True) + "\n")


def update_golden() -> None:
    """Actual outcomes become the golden rows, except for known failures (their actual
    output is the bug): those keep their reviewed row, or get an empty one."""
    from badinputs.corpus import CASES

    known = {case.id for case in CASES}
    rows = {case_id: row for case_id, row in read_golden().items() if case_id in known}
    for case_id in known - rows.keys():
        rows[case_id] = Expected(None, "")
    for case_id, data in RESULTS.items():
        if case_id in KNOWN_FAILURES:
            rows.setdefault(case_id, Expected(None, ""))
        else:
            rows[case_id] = Expected(data["exit"], data["message"])
    write_golden(rows)
