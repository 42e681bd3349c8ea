"""Every case of the suite, in one list with unique ids."""

from __future__ import annotations

from collections import Counter

from badinputs.case import Case
from badinputs.cases_content import content_cases
from badinputs.cases_metadata import metadata_cases
from badinputs.cases_serve_cli import serve_cli_process_cases
from badinputs.cases_state import state_cases
from badinputs.cases_storage import storage_cases


def all_cases() -> list[Case]:
    cases = (
        metadata_cases()
        + content_cases()
        + state_cases()
        + storage_cases()
        + serve_cli_process_cases()
    )
    repeated = [name for name, count in Counter(c.id for c in cases).items() if count > 1]
    assert not repeated, f"case ids must be unique: {repeated}"
    return cases


CASES = all_cases()
