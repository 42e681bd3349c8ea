"""Is this file audio we can publish, and what are its stream facts? (No full decode.)

Two opinions: mutagen (through the tags adapter) reads the container headers exactly where it
knows the format; ffmpeg's own description names every other format and says what kind of
non-audio a file is. The full decode in the measure pass is the final judge of corruption.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from dataclasses import dataclass
from pathlib import Path

from dfl_audio import ffmpeg, ffmpeg_locate
from dfl_audio.audio.wav import wav_data
from dfl_audio.errors import AudioError
from dfl_audio.tags import StreamFacts, stream_facts


@dataclass(frozen=True)
class AudioProbe:
    """Stream facts of a source; ``duration`` is what the container declares."""

    path: Path
    codec: str
    container: str
    sample_rate: int
    channels: int
    duration: float
    bits_per_sample: int | None


def probe(path: Path) -> AudioProbe:
    """Check the file is readable audio and read its stream facts.

    A publish probes each recording twice (its refusal check, then its encode); the second
    look at an unchanged file (same inode, size, modification and change times, and the same
    ffmpeg) is free.
    """
    path = Path(path)
    _check_readable(path)
    found = path.stat()
    stamp = (found.st_ino, found.st_size, found.st_mtime_ns, found.st_ctime_ns)
    return _probe_unchanged(path, ffmpeg_locate.ffmpeg_info().path, stamp)


@functools.lru_cache(maxsize=32)
def _probe_unchanged(path: Path, _ffmpeg: str, _stamp: tuple[int, ...]) -> AudioProbe:
    """The probe of ``path`` as it is now (the other arguments are the cache key)."""
    with ffmpeg.describing(path) as description:
        tagged = stream_facts(path)  # mutagen reads the headers while ffmpeg starts
        facts = _parse_ffmpeg(description.text(), path)
    if tagged is not None:
        facts = _merge(facts, tagged)
    if facts.duration <= 0:
        raise AudioError("no audio: the stream has zero duration", path)
    if facts.sample_rate <= 0 or facts.channels <= 0:
        raise AudioError("no audio: unknown sample rate or channel count", path)
    if facts.container == "wav":
        facts = _wav_length(path, facts)
    return facts


def _check_readable(path: Path) -> None:
    if not path.exists():
        raise AudioError("file not found", path)
    if not path.is_file():
        raise AudioError("not a regular file", path)
    try:
        with path.open("rb") as handle:
            first = handle.read(1)
    except OSError as exc:
        raise AudioError(f"cannot read the file: {exc.strerror}", path, exc) from exc
    if not first:
        raise AudioError("empty file (0 bytes)", path)


def _parse_ffmpeg(text: str, path: Path) -> AudioProbe:
    """Facts from ``ffmpeg -i`` output; the errors name what kind of non-audio this is."""
    container = _search(r"Input #0, ([^,\s]+)", text)
    if container is None:
        last = text.strip().splitlines()[-1] if text.strip() else "unknown format"
        raise AudioError(f"not an audio file (ffmpeg: {last.split(': ')[-1]})", path)
    audio = _search(r"Stream #0:\d+.*?: Audio: (.*)", text)
    if audio is None:
        if "Video:" in text:
            raise AudioError("no audio stream (video or image only)", path)
        raise AudioError("no audio stream", path)
    parts = [part.strip() for part in audio.split(",")]
    codec = parts[0].split()[0]
    rate = next((int(p.split()[0]) for p in parts if p.endswith(" Hz")), 0)
    layout = parts[2] if len(parts) > 2 else ""
    return AudioProbe(
        path=path,
        codec=codec,
        container=container,
        sample_rate=rate,
        channels=_layout_channels(layout),
        duration=_ffmpeg_duration(text),
        bits_per_sample=None,
    )


def _search(pattern: str, text: str) -> str | None:
    match = re.search(pattern, text)
    return match.group(1) if match else None


def _layout_channels(layout: str) -> int:
    """Channel count of an ffmpeg layout name.

    >>> _layout_channels("stereo"), _layout_channels("mono"), _layout_channels("5.1(side)")
    (2, 1, 6)
    """
    named = {"mono": 1, "stereo": 2, "2.1": 3, "quad": 4, "5.0": 5, "5.1": 6, "7.1": 8}
    base = layout.split("(")[0].strip()
    if base in named:
        return named[base]
    count = _search(r"(\d+) channels", layout)
    return int(count) if count else 2


def _ffmpeg_duration(text: str) -> float:
    match = re.search(r"Duration: (\d+):(\d+):(\d+(?:\.\d+)?)", text)
    if not match:
        return 0.0
    hours, minutes, seconds = match.groups()
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def _merge(fromffmpeg: AudioProbe, tagged: StreamFacts) -> AudioProbe:
    """Prefer mutagen's numbers where it has them; ffmpeg's codec name is more precise."""
    return AudioProbe(
        path=fromffmpeg.path,
        codec=fromffmpeg.codec or tagged.codec,
        container=tagged.container,
        sample_rate=tagged.sample_rate or fromffmpeg.sample_rate,
        channels=tagged.channels or fromffmpeg.channels,
        duration=tagged.duration or fromffmpeg.duration,
        bits_per_sample=tagged.bits_per_sample,
    )


def _wav_length(path: Path, facts: AudioProbe) -> AudioProbe:
    """The duration a WAV's data really holds: all of it when the header says "unknown"
    (written to a pipe: the header's 0xFFFFFFFF is no length), an error when the header
    promises more than the file holds (a copy cut short)."""
    data = wav_data(path)
    if data is None:  # RF64 and other headers we do not read: ffmpeg's decode is the judge
        return facts
    if data.truncated and data.seconds(data.declared) > data.seconds(data.available) + 0.05:
        raise AudioError(
            f"truncated WAV: header says {data.seconds(data.declared):.2f} s but the file holds "
            f"at most {data.seconds(data.available):.2f} s",
            path,
        )
    if data.streamed:
        return dataclasses.replace(facts, duration=data.seconds(data.size))
    return facts
