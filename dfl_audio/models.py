"""Pure data: the show and its episodes, as the editor writes them.

These pydantic models are the schema of the human-edited files (``episodes/show.yaml`` and
the front matter of ``episodes/*.md``): unknown fields are refused, types are checked, and
each rule lives next to the field it is about. Cross-file rules (files exist, duplicates,
artwork size) live in :mod:`dfl_audio.validate`.
"""

from __future__ import annotations

import ipaddress
import math
import re
import uuid
from collections.abc import Sequence
from datetime import datetime
from pathlib import PurePosixPath
from typing import Annotated, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    PlainValidator,
    StrictInt,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from dfl_audio.categories import APPLE_CATEGORIES
from dfl_audio.mediatypes import SITEMAP_NAME

# Tab, newline and carriage return are the only control characters XML 1.0 allows; C1
# controls (U+0080-U+009F) are legal XML but clients read them as Windows-1252 text.
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")

# podcast:guid is a UUIDv5 in this namespace over the feed URL without scheme or trailing "/".
PODCAST_GUID_NAMESPACE = uuid.UUID("ead4c236-bf58-58c6-a2c6-a6b28d128cb6")


def clean_text(value: str) -> str:
    """Refuse characters XML cannot carry; strip the spaces feeds must not have."""
    bad = CONTROL_CHARS.search(value)
    if bad:
        raise ValueError(f"contains control character U+{ord(bad.group()):04X}")
    if not value.strip():
        raise ValueError("must not be empty")
    return value.strip()


def _max_4000_bytes(value: str) -> str:
    """Apple and PSP-1 cap descriptions at 4000 bytes of UTF-8."""
    size = len(value.encode())
    if size > 4000:
        raise ValueError(f"is {size} bytes; at most 4000 are allowed")
    return value


def _https_url(value: str) -> str:
    """Accept only absolute https: URLs (Podcasting 2.0 requires https for every url/href)."""
    if not re.fullmatch(r"https://[^\s/?#]+[^\s]*", value):
        raise ValueError(f"must be an https:// URL, got {value!r}")
    return value


def _https_or_loopback(value: str) -> str:
    """https, or http only on loopback (previews and tests)."""
    if not (value.startswith("http://") and _is_loopback(value)):
        try:
            _https_url(value)
        except ValueError:
            raise ValueError(
                f"must be an https:// URL (http:// only on localhost, 127.0.0.0/8 or [::1]), "
                f"got {_masked(value)!r}"
            ) from None
    return value


def _public_base_url(value: str) -> str:
    """The storage's public URL: https, or http on loopback for previews and tests."""
    _https_or_loopback(value)
    _no_userinfo(value)
    return value if value.endswith("/") else value + "/"


def _no_userinfo(value: str) -> str:
    """A URL that would carry a password into the feed, a message or git: refuse it."""
    if "@" in urlsplit(value).netloc:
        raise ValueError(
            "must not contain a user name or password (user:password@); S3 credentials "
            "come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or a profile"
        )
    return value


def _masked(url: str) -> str:
    """The URL as it may be shown: a ``user:password@`` in it becomes ``***@``.

    >>> _masked("http://me:s%2Fcret@example.com/x")
    'http://***@example.com/x'
    """
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc="***@" + parts.netloc.rpartition("@")[2]))


def _is_loopback(url: str) -> bool:
    """Is the URL's host exactly a loopback name or address (not merely starting like one)?

    >>> [_is_loopback(u) for u in ("http://127.0.0.1:8000/", "http://[::1]/", "http://localhost")]
    [True, True, True]
    >>> [_is_loopback(u) for u in ("http://127.0.0.1.evil.example/", "http://127.0.0.1@evil/")]
    [False, False]
    """
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError when the port is not a number
    except ValueError:
        return False
    host = parts.hostname or ""
    return parts.username is None and (host == "localhost" or _is_loopback_address(host))


def _is_loopback_address(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _web_url(value: str) -> str:
    """A page or endpoint URL: https, or http only on loopback (previews and tests), no
    ``user:password@``. Unlike :func:`_public_base_url` the URL is kept exactly as written."""
    _https_or_loopback(value)
    if "@" in urlsplit(value).netloc:
        raise ValueError("must not contain a user name or password (user:password@)")
    return value


# RFC 5545 RECUR rule parts; podcast:updateFrequency's rrule is one (FREQ required).
_RRULE_PARTS = frozenset(
    {"FREQ", "UNTIL", "COUNT", "INTERVAL", "BYSECOND", "BYMINUTE", "BYHOUR", "BYDAY",
     "BYMONTHDAY", "BYYEARDAY", "BYWEEKNO", "BYMONTH", "BYSETPOS", "WKST"}
)  # fmt: skip
_RRULE_FREQS = ("SECONDLY", "MINUTELY", "HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY")


def _rrule(value: str) -> str:
    """An RFC 5545 recurrence rule such as ``FREQ=WEEKLY;BYDAY=TU`` (no ``RRULE:`` prefix).

    >>> _rrule("FREQ=MONTHLY;INTERVAL=2")
    'FREQ=MONTHLY;INTERVAL=2'
    """
    parts: dict[str, str] = {}
    for part in value.split(";"):
        name, equals, setting = part.partition("=")
        if not equals or not setting or name not in _RRULE_PARTS or name in parts:
            raise ValueError(
                f"must be an RFC 5545 rule such as FREQ=WEEKLY;BYDAY=TU, got {value!r} "
                f"({part!r} is not a NAME=VALUE part it allows, or is repeated)"
            )
        parts[name] = setting
    if parts.get("FREQ") not in _RRULE_FREQS:
        raise ValueError(f"must set FREQ to one of {', '.join(_RRULE_FREQS)}, got {value!r}")
    return value


def _language_code(value: str) -> str:
    """An ISO 639 code, optionally with a region: what ``<language>`` and Apple expect."""
    if not re.fullmatch(r"[a-z]{2,3}(-[A-Za-z]{2,8})*", value):
        raise ValueError(f"must be an ISO 639 language code such as en or en-US, got {value!r}")
    return value


def _repo_path(value: str) -> str:
    """A path relative to the repository root that cannot climb out of it."""
    if not value.strip():
        raise ValueError("must be a path to a file in the repository, not empty")
    path = PurePosixPath(value)
    if path.is_absolute() or ".." in path.parts or "\\" in value:
        raise ValueError(
            f"must be a path inside the repository (no '..' or leading '/'): {value!r}"
        )
    return str(path)


FEED_NAME = r"[A-Za-z0-9_-][A-Za-z0-9._-]*\.xml"  # a storage key: never starting with "."


def _feed_name(value: str) -> str:
    """The feed's file name in the storage root (its key)."""
    if not re.fullmatch(FEED_NAME, value):
        raise ValueError(
            f"must be a file name ending in .xml, of letters, digits, '.', '_' and '-', not "
            f"starting with '.' (such as interviews.xml), got {value!r}"
        )
    return value


def _storage_location(value: str) -> str:
    """A folder (relative to the repository, or absolute) or ``s3://bucket/prefix``."""
    scheme = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)://", value)
    if scheme and scheme.group(1).lower() != "s3":
        raise ValueError(
            f"must be a folder or s3://bucket/prefix, got {value!r} ({scheme.group(1)}:// is "
            "not supported)"
        )
    if not value.strip():
        raise ValueError("must be a folder or s3://bucket/prefix, not empty")
    return value


def _clip_choice(value: object) -> str | Literal[False]:
    """An episode's intro or outro: a clip path, or ``false`` for none."""
    if value is False:
        return False
    if isinstance(value, str):
        return _repo_path(value)
    raise ValueError(f"must be a path to an audio clip, or false for none; got {value!r}")


def parse_timestamp(value: object) -> float:
    """Seconds from a number or ``[HH:]MM:SS[.fff]`` text.

    >>> parse_timestamp("1:02:03.5")
    3723.5
    >>> parse_timestamp("02:30")
    150.0
    >>> parse_timestamp(12)
    12.0
    """
    if isinstance(value, bool):
        raise ValueError("must be seconds or HH:MM:SS")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and re.fullmatch(r"(\d+:){1,2}\d+(\.\d+)?", value.strip()):
        seconds = 0.0
        for part in value.strip().split(":"):
            seconds = seconds * 60 + float(part)
    else:
        raise ValueError(f"must be seconds or HH:MM:SS, got {value!r}")
    if not math.isfinite(seconds):
        raise ValueError(f"must be a finite number of seconds, got {value!r}")
    if seconds < 0:
        raise ValueError("must not be negative")
    return seconds


def _aware_datetime(value: object) -> datetime:
    """A date with a time and a time zone: feeds carry RFC 2822 dates, which need both."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError as exc:
            raise ValueError(
                f"must be a date and time with a time zone, e.g. 2021-03-04 10:00:00 -05:00; "
                f"got {value!r}{_why_not_a_date(str(exc))}"
            ) from None
    else:
        raise ValueError(
            "must be a date and time with a time zone, e.g. 2021-03-04 10:00:00 -05:00"
        )
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValueError("needs a time zone, e.g. 2021-03-04 10:00:00 -05:00")
    return parsed


def _why_not_a_date(reason: str) -> str:
    """The part of Python's reason an editor can act on: a day, month or offset out of range.

    >>> _why_not_a_date("day is out of range for month")
    ' (day is out of range for month)'
    >>> _why_not_a_date("Invalid isoformat string: 'soon'")
    ''
    """
    if reason.startswith("offset must be"):
        return " (the time zone offset must be less than 24 hours)"
    return "" if reason.startswith("Invalid isoformat") else f" ({reason})"


Text = Annotated[str, AfterValidator(clean_text)]
LongText = Annotated[Text, AfterValidator(_max_4000_bytes)]
HttpsUrl = Annotated[str, AfterValidator(_https_url)]
WebUrl = Annotated[str, AfterValidator(_web_url)]
Text128 = Annotated[str, StringConstraints(max_length=128), AfterValidator(clean_text)]
RepoPath = Annotated[str, AfterValidator(_repo_path)]
Timestamp = Annotated[float, BeforeValidator(parse_timestamp)]
ClipChoice = Annotated[str | Literal[False], PlainValidator(_clip_choice)]
AwareDatetime = Annotated[datetime, BeforeValidator(_aware_datetime)]
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=80)]


class _Strict(BaseModel):
    # NaN and infinity pass every ge/le bound and crash later (tags, RSS durations): refuse.
    model_config = ConfigDict(
        extra="forbid", frozen=True, str_strip_whitespace=False, allow_inf_nan=False
    )


class Person(_Strict):
    """Someone in ``podcast:person`` (role host or guest) and in the ID3 artist list."""

    name: Text
    href: HttpsUrl | None = None
    img: HttpsUrl | None = None


class Owner(_Strict):
    name: Text
    email: EmailStr


class Funding(_Strict):
    url: HttpsUrl
    text: Annotated[str, StringConstraints(max_length=128), AfterValidator(clean_text)] = (
        "Support the show"
    )


class Subscribe(_Strict):
    """Where listeners follow the show besides its RSS feed: the buttons on the show page.

    Each is the show's page in that app or directory (e.g. ``https://podcasts.apple.com/…``);
    an app left out gets no button.
    """

    apple_podcasts: HttpsUrl | None = None
    spotify: HttpsUrl | None = None
    pocket_casts: HttpsUrl | None = None
    antennapod: HttpsUrl | None = None
    overcast: HttpsUrl | None = None


class Link(_Strict):
    """A link to the DFL curriculum or a paper, listed under the show notes."""

    title: Text
    url: HttpsUrl


def _image_ref(value: str) -> str:
    """A chapter image: an https URL used as it is, or a repository image publish stores."""
    if re.match(r"[A-Za-z][A-Za-z0-9+.-]*:", value):
        return _https_url(value)
    return _repo_path(value)


def is_remote_image(img: str) -> bool:
    """Is ``img`` a URL (used as it is) rather than a repository path (stored by publish)?"""
    return img.startswith("https://")


class Chapter(_Strict):
    start: Timestamp
    title: Text
    url: HttpsUrl | None = None
    img: Annotated[str, AfterValidator(_image_ref)] | None = None


def shift_chapters(chapters: Sequence[Chapter], seconds: float) -> tuple[Chapter, ...]:
    """The chapters ``seconds`` later: where they start once an intro that long plays first.

    >>> chapters = [Chapter(start=0, title="Hello"), Chapter(start=90, title="Work")]
    >>> [chapter.start for chapter in shift_chapters(chapters, 7.5)]
    [7.5, 97.5]
    """
    return tuple(
        chapter.model_copy(update={"start": round(chapter.start + seconds, 3)})
        for chapter in chapters
    )


class Txt(_Strict):
    """``podcast:txt``: free text for a service, e.g. Apple's ``applepodcastsverify`` token.

    Podcasting 2.0 (``docs/tags/txt.md``): ``purpose`` at most 128 characters, the text at
    most 4000.
    """

    purpose: Text128 | None = None
    text: Annotated[str, StringConstraints(max_length=4000), AfterValidator(clean_text)]


class UpdateFrequency(_Strict):
    """``podcast:updateFrequency``: how often episodes come, for apps and directories.

    Podcasting 2.0 (``docs/tags/update-frequency.md``): the text (at most 128 characters) is
    for people, ``rrule`` (RFC 5545) for software; ``complete`` says no more episodes come.
    """

    text: Text128
    rrule: Annotated[str, AfterValidator(_rrule)]
    complete: bool = False


class AudioSettings(_Strict):
    """How publish shapes the audio: podcast loudness and the MP3 encoding."""

    loudness: float = Field(default=-16.0, ge=-30.0, le=-10.0)
    true_peak: float = Field(default=-1.0, ge=-6.0, le=0.0)
    bitrate: Literal[64, 80, 96, 112, 128, 160, 192, 256, 320] = 128
    channels: Literal[1, 2] = 2
    sample_rate: Literal[44100, 48000] = 44100
    leveler: bool = True  # false: plain gain + limiter, for audio that is already produced


class StorageSettings(_Strict):
    """Where published files go; the environment and CLI options override these."""

    location: Annotated[Text, AfterValidator(_storage_location)] = "storage"
    endpoint_url: Annotated[HttpsUrl, AfterValidator(_no_userinfo)] | None = None
    region: Text | None = None
    addressing_style: Literal["auto", "path", "virtual"] = "auto"
    analytics_prefix: HttpsUrl | None = None


class Show(_Strict):
    """The podcast itself: ``episodes/show.yaml``."""

    title: Text
    description: LongText
    link: HttpsUrl
    language: Annotated[str, AfterValidator(_language_code)]
    category: Text
    subcategory: Text | None = None
    explicit: bool
    author: Text
    owner: Owner
    artwork: RepoPath
    copyright: Text | None = None
    license: Text | None = None
    funding: Funding | None = None
    hosts: tuple[Person, ...] = Field(min_length=1)
    public_url: Annotated[str, AfterValidator(_public_base_url)]
    feed_name: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-][A-Za-z0-9._-]*\.xml$")] = (
        "feed.xml"
    )
    podcast_guid: uuid.UUID | None = None
    # Moving the feed: itunes:new-feed-url in the new feed (STANDARDS.md "Migration"). Needs
    # podcast_guid set above, since the derived one hashes the feed URL and would change.
    new_feed_url: WebUrl | None = None
    type: Literal["episodic", "serial"] = "episodic"
    locked: bool = True
    block: bool = False  # itunes:block: keep the whole show out of Apple's directory
    complete: bool = False  # itunes:complete: no more episodes will come
    txt: tuple[Txt, ...] = ()
    update_frequency: UpdateFrequency | None = None
    websub_hub: WebUrl | None = None  # atom:link rel="hub"; pinged after each feed change
    subscribe: Subscribe = Subscribe()  # the show page's links to podcast apps
    audio: AudioSettings = AudioSettings()
    storage: StorageSettings = StorageSettings()
    intro: RepoPath | None = None  # a short clip played before every episode
    outro: RepoPath | None = None  # and after it

    @field_validator("category")
    @classmethod
    def _known_category(cls, value: str) -> str:
        if value not in APPLE_CATEGORIES:
            raise ValueError(f"{value!r} is not one of Apple's podcast categories")
        return value

    @field_validator("subcategory")
    @classmethod
    def _known_subcategory(cls, value: str | None, info: object) -> str | None:
        data = getattr(info, "data", {})
        category = data.get("category")
        known = APPLE_CATEGORIES.get(category, None) if isinstance(category, str) else None
        if value is not None and known is not None and value not in known:
            raise ValueError(f"{value!r} is not a subcategory of {category!r} in Apple's list")
        return value

    @field_validator("feed_name")
    @classmethod
    def _not_the_sitemap(cls, value: str) -> str:
        """The site's sitemap lives next to the feed under this one name."""
        if value == SITEMAP_NAME:
            raise ValueError(f"must not be {SITEMAP_NAME}: the show's website uses that name")
        return value

    @field_validator("new_feed_url")
    @classmethod
    def _guid_kept_when_moving(cls, value: str | None, info: ValidationInfo) -> str | None:
        """The derived ``podcast:guid`` hashes the feed URL, so a move would change it; the
        spec keeps it for life ("assigned once and kept when the feed moves", STANDARDS.md).
        """
        if value is not None and info.data.get("podcast_guid", False) is None:
            raise ValueError(
                "needs podcast_guid set in show.yaml first: copy the podcast:guid of the "
                "current feed there, so moving the feed does not change it"
            )
        return value

    @property
    def feed_url(self) -> str:
        return self.public_url + self.feed_name

    @property
    def guid(self) -> uuid.UUID:
        """``podcast:guid``: set once in show.yaml, else derived from the feed URL per spec."""
        return self.podcast_guid or podcast_guid_for(self.feed_url)


def podcast_guid_for(feed_url: str) -> uuid.UUID:
    """UUIDv5 of the feed URL with scheme and trailing slashes removed (Podcasting 2.0).

    >>> str(podcast_guid_for("https://podnews.net/rss"))
    '9b024349-ccf0-5f69-a609-6b82873eab3c'
    >>> str(podcast_guid_for("http://mp3s.nashownotes.com/pc20rss.xml/"))
    '917393e3-1b1e-5cef-ace4-edaa54e1f810'
    """
    bare = re.sub(r"^[A-Za-z][A-Za-z0-9+.-]*://", "", feed_url).rstrip("/")
    return uuid.uuid5(PODCAST_GUID_NAMESPACE, bare)


class EpisodeMeta(_Strict):
    """The YAML front matter of an episode file."""

    title: Text
    date: AwareDatetime
    guid: Annotated[str, StringConstraints(max_length=200), AfterValidator(clean_text)]
    guests: tuple[Person, ...] = ()
    season: StrictInt | None = Field(default=None, ge=1)  # `true` is not season 1
    episode: StrictInt | None = Field(default=None, ge=1)
    episode_type: Literal["full", "trailer", "bonus"] = "full"
    explicit: bool = False
    audio: RepoPath | None = None
    artwork: RepoPath | None = None
    chapters: tuple[Chapter, ...] = ()
    transcript: RepoPath | None = None
    draft: bool = False
    links: tuple[Link, ...] = ()
    link: WebUrl | None = None  # the interview's page on the DFL site; else its site page
    block: bool = False  # itunes:block: keep this episode out of Apple's directory
    intro: ClipChoice | None = None  # None: the show's; false: none for this episode
    outro: ClipChoice | None = None

    @field_validator("chapters")
    @classmethod
    def _ascending(cls, chapters: tuple[Chapter, ...]) -> tuple[Chapter, ...]:
        starts = [chapter.start for chapter in chapters]
        if starts != sorted(starts) or len(set(starts)) != len(starts):
            raise ValueError("chapters must start at strictly increasing times")
        return chapters


ClipRole = Literal["intro", "outro"]
CLIP_ROLES: tuple[ClipRole, ...] = ("intro", "outro")


def episode_clip(show: Show, meta: EpisodeMeta, role: ClipRole) -> str | None:
    """The clip played as this episode's intro or outro: its own, none, or the show's.

    >>> show = Show.model_construct(intro="episodes/audio/intro.wav", outro=None)
    >>> meta = EpisodeMeta.model_construct(intro=None, outro="episodes/audio/bye.wav")
    >>> episode_clip(show, meta, "intro"), episode_clip(show, meta, "outro")
    ('episodes/audio/intro.wav', 'episodes/audio/bye.wav')
    >>> episode_clip(show, meta.model_copy(update={"intro": False}), "intro") is None
    True
    """
    own: str | Literal[False] | None = getattr(meta, role)
    if own is False:
        return None
    shows: str | None = getattr(show, role)
    return own or shows


class Episode(BaseModel):
    """An episode file: front matter, show notes, and where it came from."""

    model_config = ConfigDict(frozen=True, allow_inf_nan=False)

    path: str  # repository-relative path of the episode file
    slug: Slug
    meta: EpisodeMeta
    notes_markdown: str
    notes_html: str
    notes_text: str

    def is_due(self, now: datetime) -> bool:
        """Drafts and future-dated episodes stay out of the feed until due."""
        return not self.meta.draft and self.meta.date <= now


def shifted_episode(episode: Episode, seconds: float) -> Episode:
    """The episode with its chapters where they are once an intro of ``seconds`` plays first."""
    if not seconds:
        return episode
    meta = episode.meta.model_copy(
        update={"chapters": shift_chapters(episode.meta.chapters, seconds)}
    )
    return episode.model_copy(update={"meta": meta})
