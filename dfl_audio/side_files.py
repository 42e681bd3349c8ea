"""The small files an episode points to besides its audio: chapters (and their images),
transcripts (every format, from the one source), artwork.

They follow the metadata: on every run their content keys are worked out from the episode
files (pure, so ``--dry-run`` and the refusal checks see the feed the run will write), and
whatever the storage does not hold yet is stored — never touching the published audio.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from dfl_audio.episode_audio import content_key
from dfl_audio.episodes import Project
from dfl_audio.errors import TranscriptError
from dfl_audio.feed import chapters_json
from dfl_audio.fsutil import file_digest, sha256_bytes
from dfl_audio.mediatypes import MEDIA_TYPES
from dfl_audio.models.episode import Episode, shifted_episode
from dfl_audio.models.fields import is_remote_image
from dfl_audio.models.show import Show
from dfl_audio.records import Published, StoredTranscript
from dfl_audio.state import PublishState
from dfl_audio.storage_base import Storage
from dfl_audio.storage_check import Inventory, holds
from dfl_audio.transcript_cache import FormsCache, digests_of
from dfl_audio.transcripts import TranscriptSource, published_transcripts


@dataclass(frozen=True)
class SideFile:
    """One object to store: bytes made here (now, or by ``make`` only if it must be stored),
    or a repository file as it is."""

    key: str
    sha256: str
    size: int
    data: bytes | None = None
    path: Path | None = None
    make: Callable[[], bytes] | None = None
    md5_hex: str | None = None  # known without the bytes (remembered with the digests)

    def md5(self) -> str:
        if self.md5_hex is not None:
            return self.md5_hex
        if self.data is not None:
            return hashlib.md5(self.data).hexdigest()
        assert self.path is not None
        return _file_md5(self.path, self.sha256)

    def content(self) -> bytes:
        """The bytes to store (made now when they were only remembered by their digest)."""
        if self.data is not None:
            return self.data
        assert self.make is not None
        data = self.make()
        if sha256_bytes(data) != self.sha256:  # a remembered digest that is out of date
            raise TranscriptError(
                "was made differently from what .dfl-audio/transcripts.json remembers; "
                "delete that file and run again",
                self.key,
            )
        return data


def side_files(
    project: Project, show: Show, episodes: Sequence[Episode], state: PublishState
) -> tuple[PublishState, list[SideFile]]:
    """``state`` with every published episode's side keys as its metadata gives them now,
    and the files those keys name."""
    files: dict[str, SideFile] = {}
    digests: dict[str, tuple[str, int]] = {}  # one hash per repository file (shared artwork)

    def add(item: SideFile) -> str:
        files[item.key] = item
        return item.key

    def repo_file(folder: str, stem: str, rel: str) -> SideFile:
        if rel not in digests:
            path = project.root / rel
            digests[rel] = (file_digest(path), path.stat().st_size)
        digest, size = digests[rel]
        key = content_key(folder, stem, digest, PurePosixPath(rel).suffix.lower())
        return SideFile(key, digest, size, path=project.root / rel)

    forms_cache = FormsCache(project.cache_dir / "transcripts.json")
    new = state.model_copy(update={"episodes": dict(state.episodes)})
    new.show_artwork_key = add(repo_file("art", "show", show.artwork))
    for episode in episodes:
        record = state.episodes.get(episode.meta.guid)
        if record is None:
            continue
        meta = shifted_episode(episode, record.intro_seconds).meta
        images = {  # repository chapter images, stored like artwork; the JSON links them
            chapter.img: repo_file("art", episode.slug, chapter.img)
            for chapter in meta.chapters
            if chapter.img is not None and not is_remote_image(chapter.img)
        }
        image_urls = {img: show.public_url + add(item) for img, item in images.items()}
        chapters = (
            _bytes_file(episode.slug, ".chapters.json", chapters_json(meta.chapters, image_urls))
            if meta.chapters
            else None
        )
        transcripts = [
            StoredTranscript(key=add(item), type=kind)
            for item, kind in _transcript_files(project, show, episode, record, forms_cache)
        ]
        artwork = repo_file("art", episode.slug, meta.artwork) if meta.artwork else None
        new.episodes[meta.guid] = record.model_copy(
            update={
                "episode_path": episode.path,
                "chapters_key": add(chapters) if chapters else None,
                "transcripts": tuple(transcripts),
                "artwork_key": add(artwork) if artwork else None,
                "chapter_image_keys": tuple(sorted({item.key for item in images.values()})),
            }
        )
    forms_cache.keep_only(forms_cache.used)
    forms_cache.save()
    return new, list(files.values())


def store_side_files(storage: Storage, files: Sequence[SideFile], inventory: Inventory) -> int:
    """Store what the listing does not show stored already; returns how many were written."""
    written = 0
    for item in files:
        if holds(inventory.get(item.key), item.size, item.sha256, item.md5):
            continue
        if item.data is not None or item.make is not None:
            storage.put_bytes(item.key, item.content())
        else:
            assert item.path is not None
            storage.put_file(item.key, item.path, sha256=item.sha256)
        written += 1
    return written


def _transcript_files(
    project: Project, show: Show, episode: Episode, record: Published, cache: FormsCache
) -> list[tuple[SideFile, str]]:
    """Every published form of the episode's transcript (none without one), with its type.

    Their digests come from ``cache`` when the file and settings are the ones remembered:
    the forms are then made only if one must be stored.
    """
    rel = episode.meta.transcript
    if rel is None:
        return []
    path = project.root / rel
    stat = path.stat()
    version = (stat.st_size, stat.st_mtime_ns)
    forms = TranscriptForms(
        rel, record.intro_seconds, record.interview_seconds, episode.meta.title, show.language
    )
    settings = (forms.shift, forms.duration, forms.title, forms.language)
    key = cache.key(rel, (*version, stat.st_ino), settings)
    cache.used.add(key)
    digests = cache.get(key)
    if digests is None:
        digests = digests_of(_published_forms(path, version, forms))
        cache.put(key, digests)
    files = []
    for suffix, (sha256, size, md5) in digests.items():
        made = functools.partial(_published_form, path, version, forms, suffix)
        item = SideFile(
            content_key("audio", episode.slug, sha256, suffix), sha256, size, make=made, md5_hex=md5
        )
        files.append((item, MEDIA_TYPES[suffix]))
    return files


def _published_form(
    path: Path, version: tuple[int, int], forms: TranscriptForms, suffix: str
) -> bytes:
    return _published_forms(path, version, forms)[suffix]


@dataclass(frozen=True)
class TranscriptForms:
    """What the published forms of a transcript file depend on, besides its bytes."""

    rel: str
    shift: float
    duration: float | None
    title: str
    language: str


@functools.lru_cache(maxsize=128)
def _published_forms(
    path: Path, version: tuple[int, int], forms: TranscriptForms
) -> dict[str, bytes]:
    """Made once per file version and settings: a feed run looks at every episode."""
    source = TranscriptSource(
        forms.rel, path.read_bytes(), forms.shift, forms.duration, forms.title, forms.language
    )
    return published_transcripts(source)


@functools.lru_cache(maxsize=64)
def _file_md5(path: Path, sha256: str) -> str:
    """Once per file content: a show's artwork may stand for a thousand episodes."""
    return file_digest(path, "md5")


def _bytes_file(slug: str, suffix: str, data: bytes) -> SideFile:
    digest = sha256_bytes(data)
    return SideFile(content_key("audio", slug, digest, suffix), digest, len(data), data=data)
