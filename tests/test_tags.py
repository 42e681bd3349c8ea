"""ID3 tagging on real MP3s made by ffmpeg, read back with mutagen itself and re-decoded."""

from __future__ import annotations

import re
import shutil
import string
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import mutagen.id3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from dfl_audio.artwork import tag_cover
from dfl_audio.errors import AudioError
from dfl_audio.models.episode import Chapter, Episode, EpisodeMeta
from dfl_audio.models.show import Person, Show
from dfl_audio.tags import write_tags
from dfl_audio.tags_read import ChapterTag, TagSnapshot, read_tags

ROOT = Path(__file__).resolve().parent.parent
FEED_URL = "https://audio.depthfirstlearning.com/feed.xml"
SECONDS = 3.0

# --- real audio --------------------------------------------------------------------------


def ffmpeg(*args: str) -> str:
    """Run ffmpeg quietly; return what it reported as errors."""
    done = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y", *args], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stderr


def probe_duration(path: Path) -> str:
    done = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", path],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def decode_errors(path: Path) -> str:
    return ffmpeg("-i", str(path), "-f", "null", "-")


@pytest.fixture(scope="module")
def encoded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 3 s mono sine MP3 exactly as ffmpeg writes it (ID3v2.4 header with TSSE)."""
    path = tmp_path_factory.mktemp("audio") / "encoded.mp3"
    ffmpeg(
        "-f", "lavfi", "-i", f"sine=frequency=440:duration={SECONDS}",
        "-ac", "1", "-c:a", "libmp3lame", "-b:a", "64k", str(path),
    )  # fmt: skip
    return path


@pytest.fixture
def mp3(encoded: Path, tmp_path: Path) -> Path:
    return Path(shutil.copy(encoded, tmp_path / "episode.mp3"))


@pytest.fixture(scope="module")
def cover() -> bytes:
    return tag_cover(ROOT / "episodes" / "art" / "show.jpg")


# --- models ------------------------------------------------------------------------------


def make_show(**changes: Any) -> Show:
    fields: dict[str, Any] = {
        "title": "Depth First Learning Interviews",
        "description": "Conversations with researchers about the ideas behind the papers.",
        "link": "https://www.depthfirstlearning.com/",
        "language": "en",
        "category": "Education",
        "subcategory": "Courses",
        "explicit": False,
        "author": "Depth First Learning",
        "owner": {"name": "DFL", "email": "podcast@depthfirstlearning.com"},
        "artwork": "episodes/art/show.jpg",
        "copyright": "© 2024 Depth First Learning",
        "hosts": [{"name": "Avital Oliver"}, {"name": "Surya Bhupatiraju"}],
        "public_url": "https://audio.depthfirstlearning.com/",
    }
    return Show.model_validate(fields | changes)


def make_episode(
    notes: str = "We talk about ordinary differential equations.", **meta: Any
) -> Episode:
    fields: dict[str, Any] = {
        "title": "Neural ODEs with a guest",
        "date": "2024-03-04 10:00:00 -05:00",
        "guid": "dfl-interviews-0003",
        "episode": 3,
        "guests": [{"name": "Zoë Kravitz-Ng", "href": "https://example.org/zoe"}],
        "chapters": [
            {"start": 0, "title": "Intro"},
            {
                "start": "00:01.5",
                "title": "The adjoint method",
                "url": "https://arxiv.org/abs/1806.07366",
            },
            {"start": 2.25, "title": "Wrap-up"},
        ],
    }
    return Episode(
        path="episodes/neural-odes.md",
        slug="neural-odes",
        meta=EpisodeMeta.model_validate(fields | meta),
        notes_markdown=notes,
        notes_html=f"<p>{notes}</p>",
        notes_text=notes,
    )


def tag(
    mp3: Path, show: Show, episode: Episode, cover: bytes | None, duration: float = SECONDS
) -> None:
    write_tags(mp3, show, episode, duration=duration, cover_jpeg=cover, feed_url=FEED_URL)


# --- every frame, read back with mutagen itself -----------------------------------------


def test_every_frame_is_written_as_id3v24(mp3: Path, cover: bytes) -> None:
    tag(mp3, make_show(), make_episode(), cover)
    tags = mutagen.id3.ID3(mp3)
    assert tags.version == (2, 4, 0)
    text = {key: list(map(str, tags[key].text)) for key in tags if hasattr(tags[key], "text")}
    assert text == {
        "TIT2": ["Neural ODEs with a guest"],
        "TPE1": ["Avital Oliver", "Surya Bhupatiraju", "Zoë Kravitz-Ng"],
        "TALB": ["Depth First Learning Interviews"],
        "TDRC": ["2024-03-04 15:00:00"],  # mutagen's form; the file has ISO 8601 (below)
        "TCON": ["Podcast"],
        "COMM::eng": ["We talk about ordinary differential equations."],
        "TCOP": ["© 2024 Depth First Learning"],
        "TPUB": ["Depth First Learning"],
        "TRCK": ["3"],
        "TLEN": ["3000"],
        "TGID": ["dfl-interviews-0003"],
        "TDES": ["We talk about ordinary differential equations."],
        "TCAT": ["Education", "Courses"],
    }
    assert tags["PCST"].value == 1
    assert tags["WFED"].url == FEED_URL
    assert b"TDRC" in mp3.read_bytes()[:4096] and b"2024-03-04T15:00:00" in mp3.read_bytes()[:4096]


def test_cover_is_a_front_cover_jpeg(mp3: Path, cover: bytes) -> None:
    tag(mp3, make_show(), make_episode(), cover)
    [apic] = mutagen.id3.ID3(mp3).getall("APIC")
    assert (apic.mime, apic.type, apic.data) == (
        "image/jpeg",
        mutagen.id3.PictureType.COVER_FRONT,
        cover,
    )
    assert apic.data[:3] == b"\xff\xd8\xff"


def test_chapters_and_table_of_contents(mp3: Path) -> None:
    tag(mp3, make_show(), make_episode(), None)
    tags = mutagen.id3.ID3(mp3)
    chapters = {chap.element_id: chap for chap in tags.getall("CHAP")}
    spans = {key: (chap.start_time, chap.end_time) for key, chap in chapters.items()}
    assert spans == {"chp0": (0, 1500), "chp1": (1500, 2250), "chp2": (2250, 3000)}
    titles = {key: str(chap.sub_frames["TIT2"].text[0]) for key, chap in chapters.items()}
    assert titles == {"chp0": "Intro", "chp1": "The adjoint method", "chp2": "Wrap-up"}
    urls = {key: [w.url for w in chap.sub_frames.getall("WXXX")] for key, chap in chapters.items()}
    assert urls == {"chp0": [], "chp1": ["https://arxiv.org/abs/1806.07366"], "chp2": []}
    [toc] = tags.getall("CTOC")
    assert toc.flags == mutagen.id3.CTOCFlags.TOP_LEVEL | mutagen.id3.CTOCFlags.ORDERED
    assert toc.child_element_ids == ["chp0", "chp1", "chp2"]


def test_audio_still_decodes_with_the_same_duration(mp3: Path, cover: bytes) -> None:
    before = probe_duration(mp3)
    tag(mp3, make_show(), make_episode(), cover)
    assert decode_errors(mp3) == ""
    assert probe_duration(mp3) == before
    assert float(before) == pytest.approx(SECONDS, abs=0.06)


def test_encoder_tags_and_id3v1_are_replaced(mp3: Path) -> None:
    old = mutagen.id3.ID3(mp3)
    assert "TSSE" in old  # what ffmpeg wrote
    old.add(mutagen.id3.TXXX(encoding=3, desc="stale", text=["x"]))
    old.save(mp3, v1=mutagen.id3.ID3v1SaveOptions.CREATE)
    assert mp3.read_bytes()[-128:-125] == b"TAG"
    tag(mp3, make_show(), make_episode(), None)
    assert {key[:4] for key in mutagen.id3.ID3(mp3)} == {
        "TIT2", "TPE1", "TALB", "TDRC", "TCON", "COMM", "TCOP", "TPUB", "TRCK", "TLEN",
        "TGID", "TDES", "TCAT", "CHAP", "CTOC", "PCST", "WFED",
    }  # fmt: skip
    assert mp3.read_bytes()[-128:-125] != b"TAG"
    assert decode_errors(mp3) == ""


def test_tagging_twice_gives_the_same_file(mp3: Path, cover: bytes) -> None:
    tag(mp3, make_show(), make_episode(), cover)
    first = mp3.read_bytes()
    tag(mp3, make_show(), make_episode(), cover)
    assert mp3.read_bytes() == first


def test_optional_frames_are_left_out(mp3: Path) -> None:
    show = make_show(copyright=None, subcategory=None)
    episode = make_episode(notes="", episode=None, guests=[], chapters=[])
    tag(mp3, show, episode, None)
    keys = set(mutagen.id3.ID3(mp3).keys())
    assert keys.isdisjoint({"TCOP", "TRCK", "COMM::eng", "TDES", "APIC:Cover", "CTOC:toc"})
    assert not any(key.startswith("CHAP") for key in keys)
    assert read_tags(mp3).artists == ("Avital Oliver", "Surya Bhupatiraju")
    assert read_tags(mp3).category == ("Education",)


def test_long_notes_are_clipped_at_a_word(mp3: Path) -> None:
    notes = " ".join(["gradient"] * 1000)  # 8999 characters
    tag(mp3, make_show(), make_episode(notes=notes), None)
    comment = str(mutagen.id3.ID3(mp3)["COMM::eng"].text[0])
    assert len(comment) <= 4000
    assert comment.endswith("gradient…")
    assert notes.startswith(comment[:-1])


def test_non_ascii_urls_are_percent_encoded(mp3: Path) -> None:
    url = "https://ja.wikipedia.org/wiki/深層学習"  # not even Latin-1
    tag(
        mp3,
        make_show(),
        make_episode(chapters=[{"start": 0, "title": "深層学習", "url": url}]),
        None,
    )
    [chap] = mutagen.id3.ID3(mp3).getall("CHAP")
    wxxx = "https://ja.wikipedia.org/wiki/%E6%B7%B1%E5%B1%A4%E5%AD%A6%E7%BF%92"
    assert chap.sub_frames["WXXX:"].url == wxxx
    assert str(chap.sub_frames["TIT2"].text[0]) == "深層学習"


def test_a_guest_who_is_also_a_host_is_listed_once(mp3: Path) -> None:
    tag(mp3, make_show(), make_episode(guests=[{"name": "Avital Oliver"}]), None)
    assert list(mutagen.id3.ID3(mp3)["TPE1"].text) == ["Avital Oliver", "Surya Bhupatiraju"]


# --- read_tags ---------------------------------------------------------------------------


def test_read_tags_gives_back_what_was_written(mp3: Path, cover: bytes) -> None:
    tag(mp3, make_show(), make_episode(), cover)
    notes = "We talk about ordinary differential equations."
    assert read_tags(mp3) == TagSnapshot(
        version=(2, 4, 0),
        frame_ids=tuple(sorted(
            ["APIC", "CHAP", "CHAP", "CHAP", "COMM", "CTOC", "PCST", "TALB", "TCAT", "TCON",
             "TCOP", "TDES", "TDRC", "TGID", "TIT2", "TLEN", "TPE1", "TPUB", "TRCK", "WFED"]
        )),
        title="Neural ODEs with a guest",
        artists=("Avital Oliver", "Surya Bhupatiraju", "Zoë Kravitz-Ng"),
        album="Depth First Learning Interviews",
        date="2024-03-04T15:00:00",
        genre="Podcast",
        comment=notes,
        copyright="© 2024 Depth First Learning",
        publisher="Depth First Learning",
        track="3",
        length_ms=3000,
        cover=cover,
        cover_mime="image/jpeg",
        chapters=(
            ChapterTag(0, 1500, "Intro", None),
            ChapterTag(1500, 2250, "The adjoint method", "https://arxiv.org/abs/1806.07366"),
            ChapterTag(2250, 3000, "Wrap-up", None),
        ),
        toc_children=("chp0", "chp1", "chp2"),
        podcast=True,
        guid="dfl-interviews-0003",
        feed_url=FEED_URL,
        description=notes,
        category=("Education", "Courses"),
    )  # fmt: skip


def test_read_tags_of_an_untagged_file_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "bare.mp3"
    ffmpeg("-f", "lavfi", "-i", "sine=duration=0.5", "-id3v2_version", "0", str(path))
    assert read_tags(path) == TagSnapshot()


# --- errors ------------------------------------------------------------------------------


def test_a_file_that_is_not_mp3_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "notes.mp3"
    path.write_bytes(b"these are not MPEG frames\n" * 40)
    with pytest.raises(AudioError) as caught:
        tag(path, make_show(), make_episode(), None)
    assert caught.value.path == str(path)
    assert isinstance(caught.value.original, mutagen.MutagenError)
    assert str(caught.value).startswith(f"{path}: cannot read the MP3: ")
    assert path.read_bytes() == b"these are not MPEG frames\n" * 40


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(AudioError, match="cannot read ID3 tags") as caught:
        read_tags(tmp_path / "gone.mp3")
    assert caught.value.original is not None


def test_a_chapter_after_the_end_is_refused(mp3: Path) -> None:
    before = mp3.read_bytes()
    episode = make_episode(chapters=[{"start": 0, "title": "Intro"}, {"start": 3, "title": "Late"}])
    with pytest.raises(
        AudioError, match=r"chapter 'Late' starts at 3 s, not before the end"
    ) as caught:
        tag(mp3, make_show(), episode, None)
    assert caught.value.path == episode.path  # the file to fix, not the temp MP3
    assert mp3.read_bytes() == before


# --- the committed sample clip ------------------------------------------------------------

VTT_CUE = re.compile(
    r"^(\d\d):(\d\d):(\d\d\.\d{3}) --> (\d\d):(\d\d):(\d\d\.\d{3})\n<v ([^>]+)>(.+)$", re.M
)


def vtt_seconds(hours: str, minutes: str, seconds: str) -> float:
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def test_sample_clip_is_real_speech_and_takes_tags(tmp_path: Path, cover: bytes) -> None:
    """The fixture: 5-8 s of MP3 under 200 KB, its VTT cues inside it; one chapter per cue."""
    source = ROOT / "episodes" / "audio" / "sample-clip.mp3"
    assert source.stat().st_size < 200_000
    duration = float(probe_duration(source))
    assert 5 <= duration <= 8
    cues = VTT_CUE.findall((ROOT / "episodes" / "audio" / "sample-clip.vtt").read_text("utf-8"))
    assert [cue[6] for cue in cues] == ["Host", "Guest", "Host"]
    starts = [vtt_seconds(*cue[:3]) for cue in cues]
    assert starts == sorted(starts) and vtt_seconds(*cues[-1][3:6]) <= duration
    mp3 = Path(shutil.copy(source, tmp_path / "sample.mp3"))
    chapters = [{"start": start, "title": cue[7]} for start, cue in zip(starts, cues, strict=True)]
    episode = make_episode(chapters=chapters)
    tag(mp3, make_show(), episode, cover, duration=duration)
    snapshot = read_tags(mp3)
    assert [c.title for c in snapshot.chapters] == [cue[7] for cue in cues]
    assert snapshot.chapters[-1].end_ms == round(duration * 1000)
    assert decode_errors(mp3) == "" and probe_duration(mp3) == probe_duration(source)


# --- round trip: whatever the models accept comes back unchanged -------------------------


def accepted_by(check: Callable[[str], object]) -> Callable[[str], bool]:
    def accepts(value: str) -> bool:
        try:
            check(value)
        except ValidationError:
            return False
        return True

    return accepts


XML_REFUSED = "".join(map(chr, [*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F]))
raw_text = st.text(
    # Mostly characters XML allows, so few draws are wasted; the models still decide (filter).
    st.characters(exclude_categories=("Cs",), exclude_characters=XML_REFUSED + "\ufffe\uffff"),
    min_size=1,
    max_size=40,
)
names = raw_text.filter(accepted_by(lambda value: Person(name=value))).map(str.strip)
titles = raw_text.filter(accepted_by(lambda value: Chapter(start=0, title=value))).map(str.strip)
guids = st.text(string.ascii_letters + string.digits + "-:/.", min_size=1, max_size=60)
dates = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1),
    timezones=st.integers(-12 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m))),
)  # fmt: skip
chapter_starts = st.lists(st.integers(0, 2999), max_size=8, unique=True).map(sorted)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much],
)
@given(
    title=titles,
    people=st.lists(names, min_size=1, max_size=5, unique=True),
    hosts_count=st.integers(1, 5),
    starts_ms=chapter_starts,
    chapter_titles=st.lists(titles, min_size=8, max_size=8),
    guid=guids,
    date=dates,
)
def test_round_trip(
    encoded: Path,
    tmp_path: Path,
    title: str,
    people: list[str],
    hosts_count: int,
    starts_ms: list[int],
    chapter_titles: list[str],
    guid: str,
    date: datetime,
) -> None:
    mp3 = Path(shutil.copy(encoded, tmp_path / "round-trip.mp3"))
    hosts, guests = people[:hosts_count], people[hosts_count:]
    show = make_show(hosts=[{"name": name} for name in hosts])
    chapters = [
        {"start": ms / 1000, "title": t} for ms, t in zip(starts_ms, chapter_titles, strict=False)
    ]
    episode = make_episode(
        title=title, guests=[{"name": n} for n in guests], chapters=chapters, guid=guid, date=date
    )
    tag(mp3, show, episode, None)
    got = read_tags(mp3)
    assert got.title == title == episode.meta.title
    assert got.artists == tuple(hosts + guests)
    assert got.guid == guid
    assert got.date is not None
    assert datetime.fromisoformat(got.date).replace(tzinfo=UTC) == date.replace(microsecond=0)
    ends = [*starts_ms[1:], 3000]
    assert got.chapters == tuple(
        ChapterTag(start, end, title, None)
        for start, end, title in zip(starts_ms, ends, chapter_titles, strict=False)
    )
    assert got.toc_children == tuple(f"chp{i}" for i in range(len(starts_ms)))
