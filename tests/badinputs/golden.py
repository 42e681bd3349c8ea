"""The expected exit code and message of every case: tests/golden/bad_inputs.tsv.

One row a case: ``id<TAB>exit<TAB>message``, sorted by id. The exit column holds the HTTP
status for serve requests; an empty exit means "not decided yet" (the lead fills it after
the fix lands). Rewritten from actual runs with ``DFL_UPDATE_GOLDEN=1`` (see known_failures
for the rows that update keeps), then reviewed by eye.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

GOLDEN = Path(__file__).resolve().parent.parent / "golden" / "bad_inputs.tsv"
HEADER = "id\texit\tmessage"


@dataclass(frozen=True)
class Expected:
    exit: int | None
    message: str

    @property
    def decided(self) -> bool:
        return self.exit is not None


def read_golden(path: Path = GOLDEN) -> dict[str, Expected]:
    if not path.is_file():
        return {}
    rows: dict[str, Expected] = {}
    for line in path.read_text(encoding="utf-8").splitlines()[1:]:
        case_id, exit_text, message = line.split("\t", 2)
        rows[case_id] = Expected(int(exit_text) if exit_text else None, unescape(message))
    return rows


def write_golden(rows: dict[str, Expected], path: Path = GOLDEN) -> None:
    lines = [HEADER]
    for case_id in sorted(rows):
        row = rows[case_id]
        exit_text = "" if row.exit is None else str(row.exit)
        lines.append(f"{case_id}\t{exit_text}\t{escape(row.message)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def escape(text: str) -> str:
    r"""Tabs, newlines and backslashes as ``\t``, ``\n``, ``\\``; control characters as
    ``\xNN``, so every row is one printable line.

    >>> escape("a\tb\\c\x07")
    'a\\tb\\\\c\\x07'
    >>> unescape(escape("a\tb\\c\x07\n")) == "a\tb\\c\x07\n"
    True
    """
    out = []
    for char in text:
        if char == "\\":
            out.append("\\\\")
        elif char == "\t":
            out.append("\\t")
        elif char == "\n":
            out.append("\\n")
        elif ord(char) < 32 or 0x7F <= ord(char) <= 0x9F:
            out.append(f"\\x{ord(char):02x}")
        else:
            out.append(char)
    return "".join(out)


def unescape(text: str) -> str:
    out = []
    index = 0
    while index < len(text):
        char = text[index]
        if char != "\\":
            out.append(char)
            index += 1
            continue
        code = text[index + 1]
        if code == "x":
            out.append(chr(int(text[index + 2 : index + 4], 16)))
            index += 4
            continue
        out.append({"t": "\t", "n": "\n", "\\": "\\"}[code])
        index += 2
    return "".join(out)
