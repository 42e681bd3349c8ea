"""An episode: its front matter (``episodes/*.md``), its chapters, and the episode as read.

Separate from :mod:`.show` because these are the per-file records the pipeline walks one by
one; the only pieces of the show they need are the intro/outro defaults
(:func:`episode_clip`) and :class:`~dfl_audio.models.show.Person` for guests.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StringConstraints,
    field_validator,
)

from dfl_audio.models.fields import (
    AwareDatetime,
    ClipChoice,
    HttpsUrl,
    ImageRef,
    RepoPath,
    Slug,
    StrictModel,
    Text,
    Timestamp,
    WebUrl,
    clean_text,
)
from dfl_audio.models.show import Person, Show


class Link(StrictModel):
    """A link to the DFL curriculum or a paper, listed under the show notes."""

    title: Text
    url: HttpsUrl


class Chapter(StrictModel):
    start: Timestamp
    title: Text
    url: HttpsUrl | None = None
    img: ImageRef | None = None


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


class EpisodeMeta(StrictModel):
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
