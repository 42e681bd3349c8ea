"""The ONE place that lists cases failing on main, each with its cause.

Each id here is marked ``xfail(strict=True)``: when a fix makes one pass, the suite fails
until the id is removed from this dict (then regenerate its golden row with
``DFL_UPDATE_GOLDEN=1`` and review it). Golden rows of listed cases are kept by the update,
since their actual output is the bug; most are empty, for the lead to fill once fixed.
Causes refer to the items of issue 10's "What to build". Before the three hardening
merges (main at 5eedff1) 107 cases were listed here; after them (main at b3f08ae), these.
"""

from __future__ import annotations

AFTER_SIDE_EFFECTS = "refused only after writing (item 1: preflight)"
TRANSCRIPT_UNCHECKED = "a transcript is parsed only when an intro moves it; else published as is"
NEW_INVALID = "`new` writes an episode file that does not validate"
UNCLEAR = "the message is unclear or names no file and field"

KNOWN_FAILURES: dict[str, str] = {}
