"""Cues written as each transcript format an app reads (Podcasting 2.0 ``podcast:transcript``).

WebVTT keeps the speaker as a voice tag ``<v Name>``; SRT, which has no speakers, starts the
cue's text with ``Name:``; JSON keeps it as ``speaker``; the HTML form of the spec gives each
change of speaker a ``<cite>``, each cue a ``<time>`` and a ``<p>``. Caption lines are
wrapped at 65 characters, the longest line a caption display is made for.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Sequence

from dfl_audio.transcript_cues import Cue, format_clock, short_clock

CAPTION_LINE = 65  # characters: longer caption lines are cut off or shrunk by players
CAPTION_LINES = 2  # lines on screen at once: more cover the picture and cannot be read in time
JSON_VERSION = "1.0.0"  # Podcasting 2.0 JSON transcript version


def shifted_cues(cues: Sequence[Cue], seconds: float) -> list[Cue]:
    """The cues ``seconds`` later (the intro played before the interview)."""
    if not seconds:
        return list(cues)
    return [
        Cue(round(c.start + seconds, 3), round(c.end + seconds, 3), c.text, c.speaker) for c in cues
    ]


def caption_cues(cues: Sequence[Cue]) -> list[Cue]:
    """The cues as captions: a cue longer than two caption lines is cut into pieces of at
    most two lines, each timed in proportion to its share of the cue's characters (the
    source says only when the whole cue starts and ends; a DFL turn can be a minute long).

    >>> [(c.start, c.end, len(c.text.split())) for c in caption_cues([Cue(0, 3, "word " * 30)])]
    [(0, 2.615, 26), (2.615, 3, 4)]
    """
    captions: list[Cue] = []
    for cue in cues:
        lines = _wrapped(cue.text, str)
        if len(lines) <= CAPTION_LINES:
            captions.append(cue)
            continue
        pieces = [
            " ".join(lines[at : at + CAPTION_LINES]) for at in range(0, len(lines), CAPTION_LINES)
        ]
        total = sum(len(piece) for piece in pieces)
        start, done = cue.start, 0
        for index, piece in enumerate(pieces):
            done += len(piece)
            last = index == len(pieces) - 1
            end = cue.end if last else round(cue.start + (cue.end - cue.start) * done / total, 3)
            captions.append(Cue(start, end, piece, cue.speaker))
            start = end
    return captions


def to_vtt(cues: Sequence[Cue]) -> bytes:
    """WebVTT with ``<v Speaker>`` voice tags.

    >>> print(to_vtt([Cue(1, 2.5, "Hi & bye", "Ann")]).decode(), end="")
    WEBVTT
    <BLANKLINE>
    00:00:01.000 --> 00:00:02.500
    <v Ann>Hi &amp; bye
    """
    blocks = ["WEBVTT"]
    for cue in cues:
        text = "\n".join(_wrapped(cue.text, lambda line: html.escape(line, quote=False)))
        voice = f"<v {_vtt_voice(cue.speaker)}>" if cue.speaker else ""
        blocks.append(f"{format_clock(cue.start)} --> {format_clock(cue.end)}\n{voice}{text}")
    return ("\n\n".join(blocks) + "\n").encode()


def to_srt(cues: Sequence[Cue]) -> bytes:
    """SRT, numbered from 1; the speaker starts the text (``Name: ...``).

    >>> print(to_srt([Cue(61.1, 62.9, "Hi", "Ann")]).decode(), end="")
    1
    00:01:01,100 --> 00:01:02,900
    Ann: Hi
    """
    blocks = []
    for number, cue in enumerate(cues, 1):
        said = f"{cue.speaker}: {cue.text}" if cue.speaker else cue.text
        text = "\n".join(_wrapped(said, _srt_text))
        timing = f"{format_clock(cue.start, ',')} --> {format_clock(cue.end, ',')}"
        blocks.append(f"{number}\n{timing}\n{text}")
    return ("\n\n".join(blocks) + "\n").encode()


def to_json(cues: Sequence[Cue]) -> bytes:
    """Podcasting 2.0 JSON: ``{"version": "1.0.0", "segments": [...]}``, speakers kept."""
    segments = [
        {
            **({"speaker": cue.speaker} if cue.speaker else {}),
            "startTime": cue.start,
            "endTime": cue.end,
            "body": cue.text,
        }
        for cue in cues
    ]
    document = {"version": JSON_VERSION, "segments": segments}
    return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode()


def to_html(cues: Sequence[Cue], *, title: str, language: str) -> bytes:
    """The spec's HTML transcript: a ``<cite>`` when the speaker changes, then for each cue
    its ``<time>`` (``datetime`` in seconds, for machines) and its ``<p>``."""
    lines = [
        "<!DOCTYPE html>",
        f'<html lang="{html.escape(language)}">',
        '<head><meta charset="utf-8"><title>'
        + html.escape(f"Transcript: {title}")
        + "</title></head>",
        "<body>",
    ]
    speaker: str | None = None
    for cue in cues:
        if cue.speaker and cue.speaker != speaker:
            lines.append(f"<cite>{html.escape(cue.speaker)}:</cite>")
        speaker = cue.speaker
        stamp = f'<time datetime="PT{cue.start:g}S">{short_clock(cue.start)}</time>'
        lines += [stamp, f"<p>{html.escape(cue.text)}</p>"]
    lines += ["</body>", "</html>"]
    return ("\n".join(lines) + "\n").encode()


WRITERS: dict[str, Callable[[Sequence[Cue]], bytes]] = {
    ".vtt": to_vtt,
    ".srt": to_srt,
    ".json": to_json,
}


def _wrapped(text: str, escape: Callable[[str], str]) -> list[str]:
    """The cue's words on lines of at most :data:`CAPTION_LINE` characters (a longer word
    keeps its line); never an empty line, which would end the cue.

    A greedy fill, as ``textwrap.wrap(..., break_long_words=False)`` does on single-spaced
    words, at a tenth of its cost: every feed run writes every transcript.

    >>> _wrapped("a " * 40, str)
    ['a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a', 'a a a a a a a']
    """
    lines: list[str] = []
    line = ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > CAPTION_LINE:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    if line:
        lines.append(line)
    return [escape(line) for line in lines] or [escape("…")]


# SRT has no escapes: "<...>" is read as a formatting tag and "-->" as a timing, so angle
# brackets become their look-alikes, the single angle quotation marks (words stay readable).
SRT_BRACKETS = str.maketrans({"<": "\u2039", ">": "\u203a"})


def _srt_text(line: str) -> str:
    """A caption line as SRT can hold it (:data:`SRT_BRACKETS`).

    >>> _srt_text("a <b> --> c") == "a \u2039b\u203a --\u203a c"
    True
    """
    return line.translate(SRT_BRACKETS)


def _vtt_voice(name: str) -> str:
    """A speaker's name as a voice tag annotation: no '>' or line break may end it early."""
    return html.escape(" ".join(name.split()), quote=False)
