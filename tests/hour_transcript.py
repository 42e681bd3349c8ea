"""An hour-long interview transcript, generated: what a real DFL episode's page carries.

Every DFL interview runs about an hour: ~9,000 words, ~600 cues of ~6 s. The words are drawn
(seeded) from the English of Python's own documentation (``pydoc_data``, in every Python),
each with its frequency there, in cues of 8-22 words (one or two sentences); two speakers
alternate in turns of one to five cues. Words drawn independently repeat fewer phrases than
real speech does, so this text compresses no better than a real transcript (gzip: ~0.37 of
its size, English prose ~0.30): a size measured on it is not flattered.

    from hour_transcript import hour_cues, hour_vtt
"""

from __future__ import annotations

import functools
import random
import re
from collections import Counter
from dataclasses import dataclass

CUES = 600
SECONDS = 3600.0
SPEAKERS = ("Avital Oliver", "Emily Denton")  # a host and a guest: full names, as DFL's are


@dataclass(frozen=True)
class HourCue:
    start: float
    end: float
    speaker: str
    text: str


@functools.cache
def _vocabulary() -> tuple[tuple[str, ...], tuple[int, ...]]:
    """Lower-case words of the Python docs and how often each occurs there."""
    from pydoc_data.topics import topics

    counts = Counter(re.findall(r"\b[a-z]{1,14}\b", " ".join(topics.values())))
    words = sorted(counts, key=lambda word: (-counts[word], word))
    return tuple(words), tuple(counts[word] for word in words)


def _sentence(rng: random.Random, length: int) -> str:
    words, weights = _vocabulary()
    chosen = rng.choices(words, weights, k=length)
    for index in range(1, len(chosen) - 1):
        if rng.random() < 0.06:
            chosen[index] += ","
    end = "?" if rng.random() < 0.12 else "."
    return " ".join(chosen).capitalize() + end


def hour_cues(count: int = CUES, seconds: float = SECONDS, seed: int = 9) -> list[HourCue]:
    """``count`` cues filling ``seconds``: about 15 words each, times to the millisecond."""
    rng = random.Random(seed)
    step = seconds / count
    cues, speaker, left = [], 0, rng.randint(1, 5)
    for index in range(count):
        start = round(index * step + rng.uniform(0, 0.4), 3)
        end = round((index + 1) * step - rng.uniform(0.05, 0.3), 3)
        words = rng.randint(8, 22)  # ~15 words in 6 s: 150 words a minute
        first = rng.randint(4, words) if words > 14 else words  # one sentence or two
        text = _sentence(rng, first)
        if first < words:
            text += " " + _sentence(rng, words - first)
        cues.append(HourCue(start, end, SPEAKERS[speaker], text))
        left -= 1
        if left == 0:
            speaker, left = 1 - speaker, rng.randint(1, 5)
    return cues


def _vtt_time(seconds: float) -> str:
    millis = round(seconds * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d}.{rest % 1000:03d}"


def hour_vtt(cues: list[HourCue] | None = None) -> str:
    """The cues as WebVTT with voice tags, as an editor's transcript file holds them."""
    blocks = ["WEBVTT", ""]
    for cue in cues if cues is not None else hour_cues():
        blocks += [
            f"{_vtt_time(cue.start)} --> {_vtt_time(cue.end)}",
            f"<v {cue.speaker}>{cue.text}",
        ]
        blocks.append("")
    return "\n".join(blocks)
