"""The show: ``episodes/show.yaml`` and the settings, people and links it holds.

Separate from :mod:`.episode` because the show is read once and shapes every episode (its
audio, storage, feed and intro/outro defaults), while episodes are many and only refer to it.
"""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    EmailStr,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from dfl_audio.categories import APPLE_CATEGORIES
from dfl_audio.mediatypes import SITEMAP_NAME
from dfl_audio.models.fields import (
    HttpsUrl,
    HttpsUrlNoCredentials,
    LanguageCode,
    LongText,
    PublicBaseUrl,
    RepoPath,
    Rrule,
    StorageLocation,
    StrictModel,
    Text,
    Text128,
    WebUrl,
    clean_text,
)

# podcast:guid is a UUIDv5 in this namespace over the feed URL without scheme or trailing "/".
PODCAST_GUID_NAMESPACE = uuid.UUID("ead4c236-bf58-58c6-a2c6-a6b28d128cb6")


class Person(StrictModel):
    """Someone in ``podcast:person`` (role host or guest) and in the ID3 artist list."""

    name: Text
    href: HttpsUrl | None = None
    img: HttpsUrl | None = None


class Owner(StrictModel):
    name: Text
    email: EmailStr


class Funding(StrictModel):
    url: HttpsUrl
    text: Annotated[str, StringConstraints(max_length=128), AfterValidator(clean_text)] = (
        "Support the show"
    )


class Subscribe(StrictModel):
    """Where listeners follow the show besides its RSS feed: the buttons on the show page.

    Each is the show's page in that app or directory (e.g. ``https://podcasts.apple.com/…``);
    an app left out gets no button.
    """

    apple_podcasts: HttpsUrl | None = None
    spotify: HttpsUrl | None = None
    pocket_casts: HttpsUrl | None = None
    antennapod: HttpsUrl | None = None
    overcast: HttpsUrl | None = None


class Txt(StrictModel):
    """``podcast:txt``: free text for a service, e.g. Apple's ``applepodcastsverify`` token.

    Podcasting 2.0 (``docs/tags/txt.md``): ``purpose`` at most 128 characters, the text at
    most 4000.
    """

    purpose: Text128 | None = None
    text: Annotated[str, StringConstraints(max_length=4000), AfterValidator(clean_text)]


class UpdateFrequency(StrictModel):
    """``podcast:updateFrequency``: how often episodes come, for apps and directories.

    Podcasting 2.0 (``docs/tags/update-frequency.md``): the text (at most 128 characters) is
    for people, ``rrule`` (RFC 5545) for software; ``complete`` says no more episodes come.
    """

    text: Text128
    rrule: Rrule
    complete: bool = False


class AudioSettings(StrictModel):
    """How publish shapes the audio: podcast loudness and the MP3 encoding."""

    loudness: float = Field(default=-16.0, ge=-30.0, le=-10.0)
    true_peak: float = Field(default=-1.0, ge=-6.0, le=0.0)
    bitrate: Literal[64, 80, 96, 112, 128, 160, 192, 256, 320] = 128
    channels: Literal[1, 2] = 2
    sample_rate: Literal[44100, 48000] = 44100
    leveler: bool = True  # false: plain gain + limiter, for audio that is already produced


class StorageSettings(StrictModel):
    """Where published files go; the environment and CLI options override these."""

    location: StorageLocation = "storage"
    endpoint_url: HttpsUrlNoCredentials | None = None
    region: Text | None = None
    addressing_style: Literal["auto", "path", "virtual"] = "auto"
    analytics_prefix: HttpsUrl | None = None


class Show(StrictModel):
    """The podcast itself: ``episodes/show.yaml``."""

    title: Text
    description: LongText
    link: HttpsUrl
    language: LanguageCode
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
    public_url: PublicBaseUrl
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
