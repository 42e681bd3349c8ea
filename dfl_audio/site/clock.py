"""How durations, dates and sizes read on the site (times: transcript_cues.short_clock).

Deep links follow Podlove's convention (``#t=1:02`` or ``#t=1:02:03``); ``data-start`` and
``data-end`` are plain decimal seconds, for the player to compare with ``currentTime``.
"""

from __future__ import annotations

from datetime import datetime

MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


def decimal(seconds: float) -> str:
    """Seconds as a short decimal, to the millisecond.

    >>> decimal(12.5), decimal(0.0), decimal(3.25), decimal(1234.5678)
    ('12.5', '0', '3.25', '1234.568')
    """
    text = f"{round(seconds, 3):.3f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


def iso_duration(seconds: float) -> str:
    """An ISO 8601 duration (``<time datetime>`` and schema.org), whole seconds.

    >>> iso_duration(4.2), iso_duration(3723)
    ('PT4S', 'PT1H2M3S')
    """
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    parts = (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
    return "PT" + parts + (f"{secs}S" if secs or not parts else "")


def duration_text(seconds: float) -> str:
    """What a listener reads: ``45 s``, ``42 min``, ``1 h 05 min``.

    >>> duration_text(8.4), duration_text(2530), duration_text(3900)
    ('8 s', '42 min', '1 h 05 min')
    """
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes = round(whole / 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


def date_text(moment: datetime) -> str:
    """The episode's date in its own time zone, in English whatever the machine's locale.

    >>> from datetime import datetime, timezone
    >>> date_text(datetime(2026, 11, 20, 9, tzinfo=timezone.utc))
    'November 20, 2026'
    """
    return f"{MONTHS[moment.month - 1]} {moment.day}, {moment.year}"


def size_text(size: int) -> str:
    """A download's size in decimal units, as apps show it.

    >>> size_text(97_310), size_text(42_400_000), size_text(512)
    ('97 KB', '42 MB', '1 KB')
    """
    if size >= 1_000_000:
        return f"{round(size / 1_000_000)} MB"
    return f"{max(1, round(size / 1000))} KB"
