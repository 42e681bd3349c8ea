"""One episode's recording → a levelled, tagged MP3 in storage, and the record of it.

The audio half of :mod:`dfl_audio.publish`: what decides that published audio is stale (the
settings digest, the source's fingerprint), and the work itself: probe, the engine's two
passes (with the intro and outro), ID3 tags, content-addressed storage, the engine's report.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict, TypeVar

from dfl_audio.episodes import Project
from dfl_audio.errors import AudioError
from dfl_audio.fsutil import sha256_bytes, sha256_file
from dfl_audio.models.episode import CLIP_ROLES, ClipRole, Episode, episode_clip, shifted_episode
from dfl_audio.models.fields import is_remote_image
from dfl_audio.models.show import Show
from dfl_audio.progress import Reporter, accumulate
from dfl_audio.records import AudioReport, LevelerStats, LimiterStats, Published
from dfl_audio.storage_base import Storage

if TYPE_CHECKING:
    from dfl_audio.audio import EncodeResult
    from dfl_audio.audio.assemble import Clip

log = logging.getLogger(__name__)

PIPELINE_VERSION = "2"  # 2: speech leveler, high-pass, one decode


def settings_digest(show: Show, clips: Sequence[tuple[ClipRole, str]] = ()) -> str:
    """A change in audio settings, pipeline version or intro/outro means stale audio.

    ``clips`` are the (role, SHA-256) of the clips an episode plays; without any, the digest
    is the one earlier versions recorded, so adding the feature re-encodes nothing.
    """
    settings = json.dumps(show.audio.model_dump(), sort_keys=True) + PIPELINE_VERSION
    settings += "".join(f"|{role}:{digest}" for role, digest in clips)
    return sha256_bytes(settings.encode())[:16]


def episode_settings_digest(project: Project, show: Show, episode: Episode) -> str:
    """:func:`settings_digest` for one episode: its own intro and outro, or the show's."""
    clips = []
    for role in CLIP_ROLES:
        rel = episode_clip(show, episode.meta, role)
        if rel is not None:
            path = project.root / rel
            clips.append((role, _clip_sha256(path, *source_fingerprint(path))))
    return settings_digest(show, clips)


@functools.lru_cache(maxsize=64)
def _clip_sha256(path: Path, size: int, mtime_ns: int) -> str:
    """Hashed once per file version: every episode of a show usually shares one intro (and
    one artwork, for :func:`episode_tags_digest`)."""
    return sha256_file(path)


def episode_tags_digest(
    project: Project, show: Show, episode: Episode, intro_seconds: float, duration: float
) -> str:
    """What the episode's MP3 tag is made from, as :func:`dfl_audio.tags.tag_digest` hashes it."""
    from dfl_audio.tags import TagSource, tag_digest

    cover = project.root / (episode.meta.artwork or show.artwork)
    cover_digest = _clip_sha256(cover, *source_fingerprint(cover))
    src = TagSource(show, shifted_episode(episode, intro_seconds), duration, show.feed_url)
    images = {}
    for rel in _chapter_image_paths(episode):
        path = project.root / rel
        images[rel] = _clip_sha256(path, *source_fingerprint(path))
    return tag_digest(src, cover_digest, images)


def retag_audio(
    project: Project,
    show: Show,
    episode: Episode,
    record: Published,
    storage: Storage,
    workdir: Path,
    reporter: Reporter,
) -> Published:
    """Give the published MP3 the tag its metadata makes now, without re-encoding: the
    stored file is fetched, checked, re-tagged (its MPEG frames untouched) and stored under
    its new content key; the old one is superseded."""
    from dfl_audio.tags import write_tags

    mp3 = workdir / f"{episode.slug}.mp3"
    with reporter.stage(f"fetch {episode.slug}", record.audio_bytes, "B"):
        storage.get_file(record.audio_key, mp3)
    if sha256_file(mp3) != record.audio_sha256:
        raise AudioError(
            f"the stored audio {record.audio_key} is not what was published; run dfl-audio "
            "publish --force",
            episode.path,
        )
    cover, chapter_images = _tag_images(project, show, episode)
    write_tags(
        mp3,
        show,
        shifted_episode(episode, record.intro_seconds),
        duration=record.duration,
        cover_jpeg=cover,
        feed_url=show.feed_url,
        chapter_images=chapter_images,
    )
    stored = _store_mp3(storage, episode, mp3, reporter)
    tags = episode_tags_digest(project, show, episode, record.intro_seconds, record.duration)
    return record.model_copy(update={**stored, "tags_digest": tags})


class StoredAudio(TypedDict):
    """The record fields that describe a stored MP3."""

    audio_key: str
    audio_sha256: str
    audio_bytes: int
    audio_etag: str | None


def _store_mp3(storage: Storage, episode: Episode, mp3: Path, reporter: Reporter) -> StoredAudio:
    """Store a finished MP3 under its content key; the record fields that describe it."""
    mp3_sha = sha256_file(mp3)
    key = content_key("audio", episode.slug, mp3_sha, ".mp3")
    size = mp3.stat().st_size
    with reporter.stage(f"store {episode.slug}", size, "B") as update:
        stored, _ = storage.put_file(key, mp3, sha256=mp3_sha, progress=accumulate(update))
    return {
        "audio_key": key,
        "audio_sha256": mp3_sha,
        "audio_bytes": size,
        "audio_etag": stored.etag,
    }


def content_key(folder: str, slug: str, digest: str, suffix: str) -> str:
    """A content-addressed key: new bytes get a new URL, so no cache ever serves stale ones.

    >>> content_key("audio", "t5", "0123456789abcdef", ".mp3")
    'audio/t5-0123456789ab.mp3'
    """
    return f"{folder}/{slug}-{digest[:12]}{suffix}"


def _stamp(path: Path) -> tuple[int, int, int, int]:
    """Size, mtime, inode and ctime: any write, rename over or ``touch -r`` changes one."""
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns, stat.st_ino, stat.st_ctime_ns


def _check_unchanged(
    source: Path, before: tuple[int, int, int, int], sha256: str, rel: str
) -> None:
    """The recorded digest must be of the bytes encoded: refuse a source that changed during
    the run. Only the ctime moved (a new hard link, a chmod, an in-place rewrite that kept
    the mtime): the bytes decide."""
    after = _stamp(source)
    if after == before or (after[:3] == before[:3] and sha256_file(source) == sha256):
        return
    raise AudioError(
        "the recording changed while it was being published; nothing was stored: run the "
        "command again",
        rel,
    )


def source_fingerprint(path: Path) -> tuple[int, int]:
    """Size and modification time: a cheap "unchanged" test before hashing an hour of audio."""
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns


def publish_audio(
    project: Project,
    show: Show,
    episode: Episode,
    storage: Storage,
    workdir: Path,
    reporter: Reporter,
    now: datetime,
) -> Published:
    """Probe, measure, normalize + encode, tag, store and verify one episode's audio."""
    from dfl_audio import audio  # numpy/scipy/mutagen load only when audio work is due
    from dfl_audio.tags import write_tags

    assert episode.meta.audio is not None
    source = project.root / episode.meta.audio
    before = _stamp(source)
    source_size, source_mtime_ns = before[:2]
    digest = episode_settings_digest(project, show, episode)  # before the clips are read
    probe = audio.probe(source)
    with reporter.stage(f"measure {episode.slug}", probe.duration, "s") as update:
        measurement = audio.measure(source, probe, show.audio, progress=update, workdir=workdir)
    # hashed, and the tag's images made, on the core LAME leaves free while encoding
    # (hashlib and Pillow release the GIL); result() waits for each
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dfl-audio-aside")
    hashing = executor.submit(sha256_file, source)
    images = executor.submit(_tag_images, project, show, episode)
    executor.shutdown(wait=False)
    clips = {role: _prepared_clip(project, show, episode, role) for role in CLIP_ROLES}
    intro, outro = clips["intro"], clips["outro"]
    mp3 = workdir / f"{episode.slug}.mp3"
    try:
        with reporter.stage(f"encode {episode.slug}", probe.duration, "s") as update:
            encoded = audio.normalize_to_mp3(
                source,
                mp3,
                probe,
                measurement,
                show.audio,
                progress=update,
                intro=intro.frames if intro is not None else None,
                outro=outro.frames if outro is not None else None,
            )
    finally:
        measurement.close()
    for warning in (*measurement.warnings, *encoded.warnings):
        log.warning("%s: %s", episode.meta.audio, warning)
    report = audio_report(encoded)
    log.info("%s: %s", episode.meta.audio, describe_audio(measurement.integrated_lufs, report))
    intro_seconds = encoded.intro_seconds
    cover, chapter_images = images.result()
    write_tags(
        mp3,
        show,
        shifted_episode(episode, intro_seconds),
        duration=encoded.duration,
        cover_jpeg=cover,
        feed_url=show.feed_url,
        chapter_images=chapter_images,
    )
    source_sha256 = hashing.result()
    _check_unchanged(source, before, source_sha256, episode.meta.audio)
    stored = _store_mp3(storage, episode, mp3, reporter)
    tags = episode_tags_digest(project, show, episode, intro_seconds, encoded.duration)
    return Published(
        guid=episode.meta.guid,
        episode_path=episode.path,
        source_sha256=source_sha256,
        source_size=source_size,
        source_mtime_ns=source_mtime_ns,
        settings_digest=digest,
        **stored,
        tags_digest=tags,
        duration=encoded.duration,
        intro_seconds=intro_seconds,
        input_lufs=round(measurement.integrated_lufs, 2),
        input_true_peak=round(measurement.true_peak_dbtp, 2),
        output_lufs=round(encoded.output_lufs, 2),
        output_true_peak=round(encoded.output_true_peak_dbtp, 2),
        audio_report=report,
        published_at=now,
    )


def audio_report(encoded: EncodeResult) -> AudioReport:
    """The engine's account of an episode, rounded for the state file and ``--json``."""
    return AudioReport(
        passes=encoded.passes,
        loudness_reencodes=encoded.loudness_reencodes,
        true_peak_reencodes=encoded.true_peak_reencodes,
        gain_db=round(encoded.gain_db, 2),
        leveler=_rounded(encoded.leveler),
        limiter=_rounded(encoded.limiter),
        intro_seconds=round(encoded.intro_seconds, 3),
        outro_seconds=round(encoded.outro_seconds, 3),
    )


Stats = TypeVar("Stats", LevelerStats, LimiterStats)


def _rounded(stats: Stats) -> Stats:
    """The same statistics to 0.01 (the state file is read by people too)."""
    values = stats.model_dump()
    update = {name: round(value, 2) for name, value in values.items() if type(value) is float}
    return stats.model_copy(update=update)


def describe_audio(input_lufs: float, report: AudioReport) -> str:
    """One line for the ``-v`` log: what the leveler and the limiter did."""
    leveler, limiter = report.leveler, report.limiter
    levelled = (
        f"leveler {leveler.min_gain_db:+.1f}..{leveler.max_gain_db:+.1f} dB"
        if leveler.enabled
        else "leveler off"
    )
    return (
        f"input {input_lufs:.1f} LUFS; {levelled}; gain {report.gain_db:+.1f} dB; limiter "
        f"max {limiter.max_reduction_db:.1f} dB, active {limiter.active_percent:.1f} % of "
        f"speech; {report.passes} encode pass{'es' if report.passes > 1 else ''}"
    )


def _prepared_clip(project: Project, show: Show, episode: Episode, role: ClipRole) -> Clip | None:
    """The episode's intro or outro, trimmed, faded and as loud as the encoded interview."""
    from dfl_audio import mp3_calibration
    from dfl_audio.audio.assemble import prepare_clip

    rel = episode_clip(show, episode.meta, role)
    if rel is None:
        return None
    settings = show.audio
    codec_db = mp3_calibration.mp3_level_offset(
        settings.sample_rate, settings.channels, settings.bitrate
    )
    return prepare_clip(
        project.root / rel,
        sample_rate=settings.sample_rate,
        channels=settings.channels,
        loudness_lufs=settings.loudness - codec_db,  # the PCM target normalize_to_mp3 uses
    )


def _tag_images(project: Project, show: Show, episode: Episode) -> tuple[bytes, dict[str, bytes]]:
    """The small JPEGs the episode's tag carries: its cover, and each chapter's image by
    repository path."""
    from dfl_audio.artwork import tag_cover

    artwork = episode.meta.artwork or show.artwork
    return tag_cover(project.root / artwork), _chapter_covers(project, episode)


CHAPTER_IMAGE_PX = 300  # a chapter's APIC: small, as there may be dozens in one MP3
CHAPTER_IMAGE_BYTES = 60_000


def _chapter_image_paths(episode: Episode) -> list[str]:
    """The repository images the chapters show, each once (URLs are not fetched to tag)."""
    paths = (chapter.img for chapter in episode.meta.chapters if chapter.img is not None)
    return list(dict.fromkeys(img for img in paths if not is_remote_image(img)))


def _chapter_covers(project: Project, episode: Episode) -> dict[str, bytes]:
    """Each chapter image as the small JPEG its ``CHAP`` frame carries."""
    from dfl_audio.artwork import tag_cover

    return {
        rel: tag_cover(project.root / rel, CHAPTER_IMAGE_PX, CHAPTER_IMAGE_BYTES)
        for rel in _chapter_image_paths(episode)
    }
