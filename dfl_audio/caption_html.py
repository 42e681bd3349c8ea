"""The DFL site's caption pages as cues: ``_includes/captions/<guest>.<topic>.html``.

Each interview's transcript on depthfirstlearning.com is a sequence of ``div.caption``, each
holding a ``div.speaker`` (the name), a ``div.time`` (``[HH:MM:SS]``, where the turn starts)
and a ``div.content`` (what was said). Long turns carry further ``[HH:MM:SS]`` marks inside
their text, about once a minute; each mark starts a new cue with the same speaker, so a
player can follow along inside a long answer.

The page says only where cues start: a cue ends where the next one begins, and the last one
at the end of the recording (or after the time its words take to say, when that is unknown).
A mark at the very time its turn starts, or at the time the next turn starts, splits
nothing (the pages round to the second, so both happen) and is left out of the text.

Parsed with lxml's HTML parser (a forgiving HTML5-ish tree builder that keeps each element's
line), so a malformed time or a mark out of order is reported at its line.
"""

from __future__ import annotations

import re

import lxml.html
from lxml import etree

from dfl_audio.transcript_cues import OPEN_END, Cue, Reading, Slip, close_open_ends

# A mark as the pages write it, and anything in brackets that tries to be one.
CLOCK = re.compile(r"\[(\d{1,2}):([0-5]\d):([0-5]\d)\]")
_LOOKS_LIKE_A_MARK = re.compile(r"\[\s*\d+\s*(?::\s*[\d.]*\s*)+\]")
SHAPE = "[HH:MM:SS]"


def read_caption_page(text: str, duration: float | None) -> Reading:
    """The cues of a DFL caption page, each with its line, and every slip found."""
    reading = Reading()
    if not text.strip():
        reading.slips.append(Slip(None, "is empty: a DFL caption page holds div.caption blocks"))
        return reading
    try:
        root = lxml.html.fromstring(text)
    except (etree.ParserError, ValueError) as exc:
        reading.slips.append(Slip(None, f"is not HTML: {exc}"))
        return reading
    captions = _with_class(root, "caption")
    if not captions:
        reading.slips.append(
            Slip(None, "has no div.caption: not a DFL caption page (_includes/captions/*.html)")
        )
        return reading
    for number, caption in enumerate(captions, 1):
        _read_caption(caption, number, reading)
    reading.cues = close_open_ends(reading.cues, duration)
    _drop_empty_splits(reading)
    return reading


def _read_caption(caption: lxml.html.HtmlElement, number: int, reading: Reading) -> None:
    """One turn: its speaker, its start, and one cue per stretch between its marks."""
    line = caption.sourceline
    speaker_div = _first(caption, "speaker")
    time_div = _first(caption, "time")
    content_div = _first(caption, "content")
    speaker = CLOCK.sub("", _text(speaker_div)).strip() or None if speaker_div is not None else None
    if time_div is None:
        reading.slips.append(Slip(line, f"caption {number} has no div.time ({SHAPE})"))
        return
    written = _text(time_div).strip()
    match = CLOCK.fullmatch(written)
    if match is None:
        where = time_div.sourceline or line
        reading.slips.append(Slip(where, f"malformed timestamp {written!r} (expected {SHAPE})"))
    content = _text(content_div) if content_div is not None else ""
    content_line = content_div.sourceline if content_div is not None else line
    start = _seconds(match) if match else 0.0
    pieces = _split_at_marks(content, start, content_line or line, reading)
    if match is None:  # its marks were checked; with no start, the turn makes no cues
        return
    if pieces and pieces[0][3] is None:  # the turn itself: where its time is written
        pieces[0] = (pieces[0][0], time_div.sourceline or line, *pieces[0][2:])
    for start, piece_line, words, mark in pieces:
        name = f"caption {number}" + (f" (its mark {mark})" if mark else "")
        reading.add(Cue(start, OPEN_END, words, speaker), piece_line, name)


Piece = tuple[float, int | None, str, str | None]  # start, line, words, the mark (None: the turn)


def _split_at_marks(content: str, start: float, line: int | None, reading: Reading) -> list[Piece]:
    """The stretches of a turn's text between its ``[HH:MM:SS]`` marks.

    A bracket that looks like a mark but is not a valid time is a slip, and stays in the text.
    """
    pieces: list[Piece] = []
    begin, at, at_line, at_mark = 0, start, line, None
    for found in _LOOKS_LIKE_A_MARK.finditer(content):
        mark_line = line + content.count("\n", 0, found.start()) if line else None
        match = CLOCK.fullmatch(found.group())
        if match is None:
            message = f"malformed timestamp {found.group()!r} inside a turn (expected {SHAPE})"
            reading.slips.append(Slip(mark_line, message))
            continue
        pieces.append((at, at_line, content[begin : found.start()], at_mark))
        begin, at, at_line, at_mark = found.end(), _seconds(match), mark_line, found.group()
    pieces.append((at, at_line, content[begin:], at_mark))
    return [(when, where, _words(text), mark) for when, where, text, mark in pieces if _words(text)]


def _drop_empty_splits(reading: Reading) -> None:
    """A mark at the time its turn starts, or at the time the next cue starts, makes a cue
    of no length: its words join the cue before it when that is the same speaker's."""
    cues, lines, names = reading.cues, reading.lines, reading.names
    index = 1
    while index < len(cues):
        cue, before = cues[index], cues[index - 1]
        if cue.end == cue.start and before.speaker == cue.speaker and before.end == cue.start:
            cues[index - 1] = Cue(before.start, cue.end, f"{before.text} {cue.text}", cue.speaker)
            del cues[index], lines[index], names[index]
            continue
        if before.end == before.start and before.speaker == cue.speaker:
            cues[index] = Cue(before.start, cue.end, f"{before.text} {cue.text}", cue.speaker)
            del cues[index - 1], lines[index], names[index]  # joined: the first one's place
            continue
        index += 1


def _with_class(root: lxml.html.HtmlElement, name: str) -> list[lxml.html.HtmlElement]:
    """The ``div`` elements at or under ``root`` whose class list holds ``name``."""
    found: list[lxml.html.HtmlElement] = root.find_class(name)  # descendant-or-self
    return [element for element in found if element.tag == "div"]


def _first(caption: lxml.html.HtmlElement, name: str) -> lxml.html.HtmlElement | None:
    found = _with_class(caption, name)
    return found[0] if found else None


def _text(element: lxml.html.HtmlElement | None) -> str:
    return "" if element is None else str(element.text_content())


def _words(text: str) -> str:
    """Text as shown: runs of spaces (and line breaks of the HTML source) made one space."""
    return " ".join(text.split())


def _seconds(match: re.Match[str]) -> float:
    hours, minutes, seconds = (int(part) for part in match.groups())
    return float(hours * 3600 + minutes * 60 + seconds)
