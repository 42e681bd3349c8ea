"""Is a transcript one apps can follow along with? Every problem of the file, each located.

Reading (:mod:`dfl_audio.transcript_cues`) finds what cannot be read: a malformed time, a
file that is not its format. This module adds what only the cues together tell: cues out of
order, cues that overlap, a cue that ends before it starts, and — once the recording's
length is known (``validate --audio``, ``publish``, ``feed``) — a cue past its end.
"""

from __future__ import annotations

from dfl_audio.transcript_cues import Cue, Reading, Slip, read_transcript
from dfl_audio.transcript_cues import format_clock as clock

# Two cues may overlap by this much: caption editors snap cue edges to video frames, and
# several (Descript, Premiere) start a cue one frame (≤ 40 ms at 25 fps) before the last
# ends. Less than a syllable: no listener sees two cues at once. More is an error.
OVERLAP_TOLERANCE = 0.05
# A cue may end this long after the recording does: transcripts made at whole seconds (the
# DFL pages) round an end up by up to a second, and the MP3 encoder's padding is not audio
# the speaker said anything in. More means the transcript belongs to another cut.
END_TOLERANCE = 1.0


def transcript_slips(data: bytes, path: str, duration: float | None = None) -> list[Slip]:
    """Every problem of the transcript ``data`` (read from ``path``), in file order.

    ``duration``, the recording's length in seconds when known, adds the cues past its end.
    """
    reading = read_transcript(data, path, duration=duration)
    return sorted(reading.slips + cue_slips(reading, duration), key=lambda slip: slip.line or 0)


def cue_slips(reading: Reading, duration: float | None = None) -> list[Slip]:
    """Cues out of order, overlapping, ending before they start, or past ``duration``."""
    slips: list[Slip] = []
    late: list[tuple[Cue, int | None, str]] = []
    rows = zip(reading.cues, reading.lines, reading.names, strict=True)
    for index, (cue, line, name) in enumerate(rows):
        following = reading.cues[index + 1] if index + 1 < len(reading.cues) else None
        if cue.end <= cue.start and not _ends_at_an_unordered(cue, following):
            slips.append(
                Slip(
                    line,
                    f"{name} ends at {clock(cue.end)}, not after it starts ({clock(cue.start)})",
                )
            )
        if index:
            before = reading.cues[index - 1], reading.names[index - 1]
            slips += _against_previous(before, cue, name, line)
        if duration is not None and cue.end > duration + END_TOLERANCE:
            ends_at_a_late_one = following is not None and following.start == cue.end
            if not ends_at_a_late_one:  # a caption page's cue ends where the late one starts
                late.append((cue, line, name))
    if late:
        slips.append(_past_the_end(late, duration or 0.0))
    return slips


def _ends_at_an_unordered(cue: Cue, following: Cue | None) -> bool:
    """A cue that ends where the next, out-of-order cue starts: the next one's problem (a
    caption page's cue ends where the next begins), said once, where it is."""
    return following is not None and following.start < cue.start and cue.end == following.start


def _past_the_end(late: list[tuple[Cue, int | None, str]], duration: float) -> Slip:
    """One slip for the cues past the end (the first, and how many follow): a transcript of
    another cut would otherwise list every cue after the end of this one."""
    cue, line, name = late[0]
    what, when = ("starts", cue.start) if cue.start >= duration else ("ends", cue.end)
    more = len(late) - 1
    also = f" (and {more} more cue{'s' * (more > 1)} after it)" if more else ""
    return Slip(
        line,
        f"{name} {what} at {clock(when)}, after the end of the audio ({clock(duration)}){also}",
    )


def _against_previous(
    previous: tuple[Cue, str], cue: Cue, name: str, line: int | None
) -> list[Slip]:
    before, before_name = previous
    if cue.start < before.start:
        return [
            Slip(
                line,
                f"{name} starts at {clock(cue.start)}, before {before_name} "
                f"({clock(before.start)}): cues must be in time order",
            )
        ]
    if cue.start < before.end - OVERLAP_TOLERANCE:
        return [
            Slip(
                line,
                f"{name} starts at {clock(cue.start)}, before {before_name} ends "
                f"({clock(before.end)}): cues must not overlap",
            )
        ]
    return []
