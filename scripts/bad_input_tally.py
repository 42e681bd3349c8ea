#!/usr/bin/env python3
"""Tally the bad-input suite (tests/badinputs) into docs/bad-inputs.md.

    python scripts/bad_input_tally.py              # run the suite (not integration), write docs
    python scripts/bad_input_tally.py --json F     # tally a JSON a run already wrote
    python scripts/bad_input_tally.py --check      # exit 1 unless every case is clear

The suite writes one record per case to ``$DFL_BAD_INPUTS_JSON``. A case is *clear* when
its exit code and message equal its golden row (tests/golden/bad_inputs.tsv), no traceback
escaped, it did not hang, and no file changed (for repair cases: nothing left behind).
The goal is ``cases / clear / 0 tracebacks / 0 files changed`` with clear == cases.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DOC = REPO / "docs" / "bad-inputs.md"
COMMAND = "python scripts/bad_input_tally.py"
# Earlier tallies (cases / clear / tracebacks / files changed), newest last; add a line when
# a merge moves the numbers.
HISTORY = (
    "2026-11-29, main at 5eedff1 (before the three hardening merges): 387 / 280 / 24 / 39",
    "2026-11-29, main at bded67d (after the three hardening merges): 387 / 366 / 0 / 13",
)


@dataclass(frozen=True)
class Verdict:
    """One case as the tally sees it."""

    case_id: str
    category: str
    clear: bool
    traceback: bool
    changed: bool
    problem: str  # why it is not clear ("" when it is)
    cause: str  # the known-failure reason, or "" (a new failure)


def judge(case_id: str, data: dict[str, Any]) -> Verdict:
    problems = []
    if data["traceback"]:
        problems.append("traceback")
    if data["hung"]:
        problems.append("still running at the timeout")
    if data["changed"]:
        shown = ", ".join(data["changed"][:3]) + (" ..." if len(data["changed"]) > 3 else "")
        problems.append(f"{len(data['changed'])} file(s) changed: {shown}")
    expected = (data["golden_exit"], data["golden_message"])
    if data["golden_exit"] is None:
        problems.append("no golden row yet")
    if data["golden_exit"] is None or (data["exit"], data["message"]) != expected:
        shown = data["message"].splitlines()[-1] if data["message"] else ""
        problems.append(f"now exit {data['exit']}: {shown[:160]!r}")
    return Verdict(
        case_id,
        data["category"],
        clear=not problems,
        traceback=bool(data["traceback"]),
        changed=bool(data["changed"]),
        problem="; ".join(problems),
        cause=data.get("known_failure") or "",
    )


def run_suite(json_path: Path) -> int:
    """Run the non-integration cases, each case's record written to ``json_path``."""
    env = dict(os.environ, DFL_BAD_INPUTS_JSON=str(json_path))
    env.pop("DFL_UPDATE_GOLDEN", None)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH", "")]))
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "-m",
        "not integration",
        "tests/badinputs",
    ]
    return subprocess.run(command, cwd=REPO, env=env, check=False).returncode


def render(verdicts: list[Verdict], when: str, revision: str) -> str:
    total = Counter[str]()
    by_category: dict[str, Counter[str]] = defaultdict(Counter)
    for verdict in verdicts:
        for counter in (total, by_category[verdict.category]):
            counter["cases"] += 1
            counter["clear"] += verdict.clear
            counter["traceback"] += verdict.traceback
            counter["changed"] += verdict.changed
    lines = [
        "# Bad inputs and faults: the tally",
        "",
        "Every case of `tests/badinputs/` (issue 10, item 7) damages a fresh copy of the",
        "published sample project (an episode or show field, a file, the publish state, the",
        "storage folder or bucket, a `serve` request, a signal) and runs `dfl-audio` on it. A",
        "case is **clear** when the exit code and the stderr lines equal its row in",
        "`tests/golden/bad_inputs.tsv`, no traceback escaped, and nothing changed in the",
        "storage, `feeds/` (with the state), the episode files or the run's TMPDIR. Repair",
        "cases (a stored object deleted or altered) must instead exit 0 and leave storage",
        "matching the state.",
        "",
        f"Tally of {when} on `{revision}`, made with `{COMMAND}`:",
        "",
        "| | cases | clear errors | tracebacks | files changed |",
        "|---|---:|---:|---:|---:|",
        _row("**all**", total),
    ]
    lines += [_row(name, by_category[name]) for name in sorted(by_category)]
    lines += [
        "",
        f"Goal: **{total['cases']} / {total['cases']} / 0 / 0**.",
        "",
        "Regenerate after a fix: remove the case from `tests/badinputs/known_failures.py`,",
        "run `DFL_UPDATE_GOLDEN=1 pytest tests/badinputs -k <case>`, review the new row of",
        "`tests/golden/bad_inputs.tsv` by eye, then run the command above. The S3 cases that",
        "only a real server can show (a wrong secret) are marked `integration` and run on",
        "Ceph RGW with `bash scripts/ci_s3.sh`; they are not in this tally.",
        "",
        "Where things are: the cases in `tests/badinputs/cases_*.py` (one table per family,",
        "built from the field lists there), the damage helpers in `damage.py`, the runner",
        "(snapshot, CLI in-process or as a subprocess, signals, HTTP) in `runner.py`, and the",
        "one list of cases failing on main, with their causes, in `known_failures.py`.",
    ]
    lines += ["", "Earlier tallies:", "", *(f"- {line}" for line in HISTORY)]
    failing = [verdict for verdict in verdicts if not verdict.clear]
    if failing:
        lines += ["", f"## Not clear yet ({len(failing)})", ""]
        groups: dict[str, list[Verdict]] = defaultdict(list)
        for verdict in failing:
            groups[verdict.cause or "NEW: not in known_failures.py"].append(verdict)
        for cause in sorted(groups):
            lines += [f"### {cause}", ""]
            lines += [
                f"- `{verdict.case_id}`: {verdict.problem}".replace("|", "\\|")
                for verdict in sorted(groups[cause], key=lambda item: item.case_id)
            ]
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _row(name: str, counts: Counter[str]) -> str:
    return (
        f"| {name} | {counts['cases']} | {counts['clear']} | {counts['traceback']} "
        f"| {counts['changed']} |"
    )


def _revision() -> str:
    done = subprocess.run(
        ["git", "-C", str(REPO), "log", "-1", "--format=%h %s"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() or "(unknown)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, help="tally this run's JSON instead of running")
    parser.add_argument("--out", type=Path, default=DOC, help="the Markdown file to write")
    parser.add_argument("--check", action="store_true", help="exit 1 unless all are clear")
    args = parser.parse_args()
    json_path = args.json
    if json_path is None:
        json_path = Path(tempfile.mkdtemp(prefix="bad-inputs-")) / "results.json"
        run_suite(json_path)
    records: dict[str, dict[str, Any]] = json.loads(json_path.read_text(encoding="utf-8"))
    verdicts = [judge(case_id, data) for case_id, data in sorted(records.items())]
    when = datetime.now(UTC).strftime("%Y-%m-%d")
    args.out.write_text(render(verdicts, when, _revision()), encoding="utf-8")
    clear = sum(verdict.clear for verdict in verdicts)
    tracebacks = sum(verdict.traceback for verdict in verdicts)
    changed = sum(verdict.changed for verdict in verdicts)
    print(f"cases {len(verdicts)} / clear {clear} / tracebacks {tracebacks} / changed {changed}")
    print(f"wrote {args.out}")
    return 1 if args.check and clear != len(verdicts) else 0


if __name__ == "__main__":
    sys.exit(main())
