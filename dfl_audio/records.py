"""Pure data: what publishing recorded and what the feed is built from.

The publish state's records (each episode's stored objects, digests and how its audio was
made) and the feed's items. They are written by dfl-audio, not edited by hand, but a hand edit
or a merge can break them, so every field is still checked as it is read
(:mod:`dfl_audio.state`). The human-edited files' schema is :mod:`dfl_audio.models`.
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from dfl_audio.keys import check_content_key
from dfl_audio.mediatypes import MEDIA_TYPES, transcript_type
from dfl_audio.models.episode import Episode
from dfl_audio.models.fields import clean_text


class LevelerStats(BaseModel):
    """What the speech leveler did to one episode (dB of gain given to speech)."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    enabled: bool
    min_gain_db: float
    max_gain_db: float
    speech_seconds: float


class LimiterStats(BaseModel):
    """How hard the true-peak limiter worked: its deepest cut, and the share of speech time
    it was turning the gain down (more than 0.1 dB)."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    max_reduction_db: float
    active_percent: float
    margin_db: float


class AudioReport(BaseModel):
    """How one episode's audio was produced: passes, gains and the limiter's statistics."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    passes: int
    loudness_reencodes: int = 0
    true_peak_reencodes: int = 0
    gain_db: float
    leveler: LevelerStats
    limiter: LimiterStats
    intro_seconds: float = 0.0
    outro_seconds: float = 0.0


def _recorded_guid(value: str) -> str:
    """A GUID as the state records it: exactly the episode's (already cleaned) GUID."""
    if value != clean_text(value):
        raise ValueError(f"{value!r} has spaces around it; no episode has such a GUID")
    return value


class StoredTranscript(BaseModel):
    """One published transcript: its content key and the type the feed declares for it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str
    type: str

    @field_validator("key")
    @classmethod
    def _content_key(cls, key: str) -> str:
        return check_content_key(key, "transcript")

    @field_validator("type")
    @classmethod
    def _type_of_its_key(cls, value: str, info: ValidationInfo) -> str:
        """The type the feed declares must be the one of the stored file's extension."""
        if "key" not in info.data:  # the key itself is wrong: that one problem
            return value
        key = info.data["key"]
        expected = transcript_type(key)
        if value != expected:
            raise ValueError(f"is {value!r}, but the transcript {key} is {expected!r}")
        return value


_SHA256 = re.compile(r"[0-9a-f]{64}")
# A GUID in the published state (a record's, its key, a withdrawn one).
RecordedGuid = Annotated[str, StringConstraints(max_length=200), AfterValidator(_recorded_guid)]


class Published(BaseModel):
    """What publish stored for one episode; the state file keeps one per GUID.

    The state file is edited by git merges and by hand, and its keys become URLs in the
    feed: every field is checked on load, not trusted.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")  # finite: checked below, by value

    guid: str
    episode_path: str
    source_sha256: str
    source_size: int | None = None  # with the mtime: skip re-hashing an untouched hour of audio
    source_mtime_ns: int | None = None
    settings_digest: str  # audio settings + pipeline version: a change means re-encode
    audio_key: str
    audio_sha256: str
    audio_bytes: int
    audio_etag: str | None = None  # as the storage listed it: an altered object is noticed
    tags_digest: str | None = None  # what the MP3's ID3 tag was made from (tags.tag_digest)
    duration: float
    intro_seconds: float = 0.0  # what the intro moved the interview by: chapters, transcript
    input_lufs: float | None = None
    input_true_peak: float | None = None
    output_lufs: float | None = None
    output_true_peak: float | None = None
    audio_report: AudioReport | None = None
    chapters_key: str | None = None
    transcripts: tuple[StoredTranscript, ...] = ()  # every published format, in feed order
    artwork_key: str | None = None
    chapter_image_keys: tuple[str, ...] = ()  # the repository chapter images, stored
    published_at: datetime

    @model_validator(mode="before")
    @classmethod
    def _one_transcript_before(cls, data: object) -> object:
        """State files written before every format was published hold one transcript as
        ``transcript_key``/``transcript_type``: read as a list of one, checked the same."""
        if not isinstance(data, dict) or not ({"transcript_key", "transcript_type"} & set(data)):
            return data
        data = dict(data)
        key, kind = data.pop("transcript_key", None), data.pop("transcript_type", None)
        if "transcripts" in data:
            raise ValueError(
                "transcript_key: is the old form of transcripts; keep only transcripts"
            )
        if key is not None or kind is not None:
            data["transcripts"] = [{"key": key, "type": kind}]
        return data

    @property
    def transcript_keys(self) -> tuple[str, ...]:
        return tuple(transcript.key for transcript in self.transcripts)

    @property
    def interview_seconds(self) -> float | None:
        """The recording's own length: the stored audio less its intro and outro (None for
        a record that stands in for audio not encoded yet)."""
        outro = self.audio_report.outro_seconds if self.audio_report else 0.0
        seconds = self.duration - self.intro_seconds - outro
        return seconds if seconds > 0 else None

    @field_validator("guid")
    @classmethod
    def _guid(cls, guid: str) -> str:
        return _recorded_guid(guid)

    @field_validator("audio_key", "chapters_key", "artwork_key")
    @classmethod
    def _content_key(cls, key: str | None, info: ValidationInfo) -> str | None:
        """Only a key publish writes may reach the feed (no ``../``, no other folder)."""
        kind = (info.field_name or "").removesuffix("_key")
        return None if key is None else check_content_key(key, kind)

    @field_validator("chapter_image_keys")
    @classmethod
    def _image_keys(cls, keys: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(check_content_key(key, "artwork") for key in keys)

    @field_validator("source_sha256", "audio_sha256")
    @classmethod
    def _sha256(cls, digest: str) -> str:
        if not _SHA256.fullmatch(digest):
            raise ValueError(f"{digest!r} is not a SHA-256 (64 lower-case hex digits)")
        return digest

    @field_validator("source_size", "audio_bytes")
    @classmethod
    def _size(cls, size: int | None) -> int | None:
        if size is not None and size < 0:
            raise ValueError(f"{size} is negative; a size is a count of bytes")
        return size

    @field_validator(
        "duration",
        "intro_seconds",
        "input_lufs",
        "input_true_peak",
        "output_lufs",
        "output_true_peak",
    )
    @classmethod
    def _finite(cls, value: float | None, info: ValidationInfo) -> float | None:
        if value is not None and not math.isfinite(value):
            raise ValueError(f"{value} is not a finite number")
        if value is not None and info.field_name in ("duration", "intro_seconds") and value < 0:
            raise ValueError(f"{value} is negative")
        return value


class TranscriptLink(BaseModel):
    """A transcript in the feed: its URL, and its type (else its extension's)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    url: str
    type: str | None = None


class FeedItem(BaseModel):
    """An episode ready for the feed: its metadata plus the absolute URLs of what was stored."""

    model_config = ConfigDict(frozen=True, allow_inf_nan=False)

    episode: Episode
    audio_url: str
    audio_bytes: int
    audio_type: str = MEDIA_TYPES[".mp3"]
    duration: float
    chapters_url: str | None = None
    transcripts: tuple[TranscriptLink, ...] = ()  # each its own podcast:transcript
    image_url: str | None = None
    page_url: str | None = None  # the episode's page on the show's website
