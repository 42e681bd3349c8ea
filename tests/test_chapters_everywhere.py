"""One chapter source, every output: the front-matter chapters (with ``img`` and ``url``)
become the stored JSON chapters, the MP3's CHAP frames and the list in the show notes, all
where the published audio plays them. Everything is read back from a real publish."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
from pathlib import Path

import podcastparser
import pytest
from click.testing import CliRunner
from lxml import etree
from mutagen.id3 import ID3
from PIL import Image
from project_fixtures import REPO, SAMPLE_EPISODE, edit, project
from test_clips import INTRO, intro_length, line_of, make_clip, record_of, set_show_clips
from test_publish import FEED, publish_now

from dfl_audio import mp3_calibration
from dfl_audio.cli import cli
from dfl_audio.episodes import Project
from dfl_audio.gc import referenced
from dfl_audio.state import load_state
from dfl_audio.tags import TAGS_VERSION, TagSource, _notes, _text_values, tag_digest
from dfl_audio.tags_read import read_tags
from dfl_audio.validate import load_catalog

__all__ = ["project"]

PUBLIC = "https://audio.depthfirstlearning.com/"
CHAPTER_IMAGE = "episodes/art/chapter-welcome.png"
REMOTE_IMAGE = "https://www.depthfirstlearning.com/assets/guest.jpg"
STATE = "feeds/interviews.published.json"
CONTENT = "{http://purl.org/rss/1.0/modules/content/}encoded"


@pytest.fixture(autouse=True)
def _calibration_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(mp3_calibration.CACHE_ENV_VAR, str(tmp_path_factory.getbasetemp() / "cache"))


def write_image(path: Path, colour: str, size: tuple[int, int] = (800, 450)) -> bytes:
    Image.new("RGB", size, colour).save(path, format="PNG")
    return path.read_bytes()


def give_images(project: Project) -> None:
    """The first chapter shows a repository image, the second one on the web."""
    episode = project.root / SAMPLE_EPISODE
    edit(episode, "    title: Welcome\n", f"    title: Welcome\n    img: {CHAPTER_IMAGE}\n")
    edit(
        episode,
        "    title: The guest says hello\n",
        f"    title: The guest says hello\n    img: {REMOTE_IMAGE}\n",
    )


@pytest.fixture(scope="module")
def with_images(tmp_path_factory: pytest.TempPathFactory) -> tuple[Project, float]:
    """The sample, with chapter images and an intro that moves every chapter, published."""
    project = Project(tmp_path_factory.mktemp("chapter-images"))
    shutil.copytree(REPO / "episodes", project.root / "episodes")
    write_image(project.root / CHAPTER_IMAGE, "teal")
    give_images(project)
    set_show_clips(project, intro=make_clip(project, INTRO, "Depth First Learning."))
    publish_now(project)
    return project, intro_length(project, INTRO)


def test_stored_chapters_json_links_each_image_and_url(
    with_images: tuple[Project, float],
) -> None:
    project, seconds = with_images
    record = record_of(project)
    assert record.chapters_key is not None
    document = json.loads((project.root / "storage" / record.chapters_key).read_bytes())
    assert document["version"] == "1.2.0"
    first, second = document["chapters"]
    assert [first["startTime"], second["startTime"]] == pytest.approx(
        [seconds, 3 + seconds], abs=0.001
    )
    (image_key,) = record.chapter_image_keys
    assert image_key.startswith("art/welcome-") and image_key.endswith(".png")
    assert first == {"startTime": first["startTime"], "title": "Welcome", "img": PUBLIC + image_key}
    stored = project.root / "storage" / image_key
    assert stored.read_bytes() == (project.root / CHAPTER_IMAGE).read_bytes()
    assert second["img"] == REMOTE_IMAGE
    assert second["url"] == "https://www.depthfirstlearning.com/"
    state = load_state(project.root / STATE)
    assert image_key in referenced(state)  # kept by the garbage collection


def test_chap_frames_carry_a_small_image_and_the_url(with_images: tuple[Project, float]) -> None:
    project, seconds = with_images
    mp3 = project.root / "storage" / record_of(project).audio_key
    first, second = read_tags(mp3).chapters
    assert (first.title, first.url) == ("Welcome", None)
    assert first.start_ms == round(seconds * 1000)
    assert first.image is not None
    with Image.open(io.BytesIO(first.image)) as image:
        assert image.format == "JPEG"
        assert max(image.size) <= 300 and image.size[0] > image.size[1]  # 16:9 kept
        assert image.getpixel((10, 10)) == pytest.approx((0, 128, 128), abs=8)  # teal
    assert (second.title, second.url) == (
        "The guest says hello",
        "https://www.depthfirstlearning.com/",
    )
    assert second.image is None  # a web image is linked in the JSON, not fetched to tag
    chap = next(frame for frame in ID3(mp3).getall("CHAP") if frame.start_time == first.start_ms)
    assert chap.sub_frames.getall("APIC")[0].mime == "image/jpeg"


def test_show_notes_list_the_chapters_where_the_audio_plays_them(
    with_images: tuple[Project, float],
) -> None:
    project, seconds = with_images
    at_first, at_second = f"00:{int(seconds):02d}", f"00:{int(3 + seconds):02d}"
    with (project.root / FEED).open("rb") as handle:
        episode = podcastparser.parse(PUBLIC + "interviews.xml", handle)["episodes"][0]
    assert episode["description"].endswith(
        "\n\nChapters:\n"
        f"{at_first} Welcome\n"
        f"{at_second} The guest says hello (https://www.depthfirstlearning.com/)"
    )
    item = etree.parse(str(project.root / FEED)).find("channel/item")
    assert item is not None
    notes = etree.fromstring(f"<div>{item.findtext(CONTENT)}</div>")
    assert notes.xpath("p[last()]/text()") == ["Chapters:"]
    rows = notes.findall("ul[last()]/li")
    assert [row.xpath("string()") for row in rows] == [
        f"{at_first} Welcome",
        f"{at_second} The guest says hello",
    ]
    assert rows[1].find("a").get("href") == "https://www.depthfirstlearning.com/"
    assert notes.xpath("p[1]//text()")[0].startswith("A short sample")  # the notes come first


def test_a_new_chapter_image_retags_the_mp3_and_stores_the_new_image(project: Project) -> None:
    write_image(project.root / CHAPTER_IMAGE, "teal")
    give_images(project)
    publish_now(project)
    before = record_of(project)
    write_image(project.root / CHAPTER_IMAGE, "orange")
    result = publish_now(project)
    assert [(plan.action, plan.reason) for plan in result.plans] == [
        ("retag", "the metadata in its ID3 tags changed")
    ]
    after = record_of(project)
    assert after.audio_key != before.audio_key
    assert after.chapter_image_keys != before.chapter_image_keys
    image = read_tags(project.root / "storage" / after.audio_key).chapters[0].image
    assert image is not None
    with Image.open(io.BytesIO(image)) as decoded:
        assert decoded.getpixel((10, 10)) == pytest.approx((255, 165, 0), abs=8)  # orange
    assert after.chapters_key is not None
    document = json.loads((project.root / "storage" / after.chapters_key).read_bytes())
    assert document["chapters"][0]["img"] == PUBLIC + after.chapter_image_keys[0]
    assert before.chapter_image_keys[0] in load_state(project.root / STATE).superseded
    again = publish_now(project)
    assert [plan.action for plan in again.plans] == ["current"] and not again.feed_changed


def validate(project: Project) -> tuple[int, list[str]]:
    result = CliRunner().invoke(cli, ["--root", str(project.root), "validate"])
    return result.exit_code, result.stderr.splitlines()


def test_validate_locates_a_missing_or_unusable_chapter_image(project: Project) -> None:
    episode = project.root / SAMPLE_EPISODE
    edit(episode, "    title: Welcome\n", "    title: Welcome\n    img: episodes/art/nope.jpg\n")
    Image.new("RGB", (64, 64), "red").save(project.root / "episodes/art/gif.jpg", format="GIF")
    edit(
        episode,
        "    title: The guest says hello\n",
        "    title: The guest says hello\n    img: episodes/art/gif.jpg\n",
    )
    first = line_of(project, SAMPLE_EPISODE, "    img: episodes/art/nope.jpg")
    second = line_of(project, SAMPLE_EPISODE, "    img: episodes/art/gif.jpg")
    assert validate(project) == (
        1,
        [
            f"{SAMPLE_EPISODE}:{first}: chapters[0].img: file not found: episodes/art/nope.jpg",
            f"{SAMPLE_EPISODE}:{second}: chapters[1].img: episodes/art/gif.jpg: chapter image "
            "is a GIF image; Apple accepts only JPEG or PNG",
            "Error: 2 problems",
        ],
    )


def test_validate_refuses_a_chapter_image_url_that_is_not_https(project: Project) -> None:
    edit(
        project.root / SAMPLE_EPISODE,
        "    title: Welcome\n",
        "    title: Welcome\n    img: http://example.org/a.png\n",
    )
    line = line_of(project, SAMPLE_EPISODE, "    img: http://")
    assert validate(project) == (
        1,
        [
            f"Error: {SAMPLE_EPISODE}:{line}: chapters[0].img: must be an https:// URL, "
            "got 'http://example.org/a.png'"
        ],
    )


def test_chapters_without_images_hash_as_before_so_no_mp3_is_retagged(project: Project) -> None:
    """The tag digest of an episode whose chapters have no image is the one main recorded
    (the formula before chapter images, spelt out here): upgrading re-tags nothing."""
    show, episodes = load_catalog(project).require_valid()
    episode = next(item for item in episodes if item.path == SAMPLE_EPISODE)
    src = TagSource(show, episode, 12.0, show.feed_url)
    made_of = {
        "version": TAGS_VERSION,
        "text": [[frame_id, values] for frame_id, values in _text_values(src)],
        "notes": _notes(src),
        "cover": "c" * 64,
        "chapters": [[c.start, c.title, c.url] for c in episode.meta.chapters],
        "feed": show.feed_url,
    }
    before = hashlib.sha256(json.dumps(made_of, sort_keys=True).encode()).hexdigest()
    assert tag_digest(src, "c" * 64, {}) == before
    with_image = episode.meta.chapters[0].model_copy(update={"img": CHAPTER_IMAGE})
    meta = episode.meta.model_copy(update={"chapters": (with_image, *episode.meta.chapters[1:])})
    changed = TagSource(show, episode.model_copy(update={"meta": meta}), 12.0, show.feed_url)
    assert tag_digest(changed, "c" * 64, {CHAPTER_IMAGE: "a" * 64}) != tag_digest(
        changed, "c" * 64, {CHAPTER_IMAGE: "b" * 64}
    )


def test_unpublish_delete_audio_removes_the_chapter_images(project: Project) -> None:
    """Its own image and one it shares with the episode's artwork (one key, deleted once)."""
    write_image(project.root / CHAPTER_IMAGE, "teal")
    episode = project.root / SAMPLE_EPISODE
    edit(episode, "    title: Welcome\n", f"    title: Welcome\n    img: {CHAPTER_IMAGE}\n")
    edit(
        episode,
        "    title: The guest says hello\n",
        "    title: The guest says hello\n    img: episodes/art/sample.jpg\n",
    )
    publish_now(project)
    record = record_of(project)
    assert record.artwork_key in record.chapter_image_keys and len(record.chapter_image_keys) == 2
    root = ["--root", str(project.root)]
    done = CliRunner().invoke(cli, [*root, "unpublish", str(episode), "--delete-audio"])
    assert done.exit_code == 0, done.output
    left = [p.name for p in (project.root / "storage").rglob("*") if p.is_file()]
    assert not [name for name in left if name.startswith("welcome-")], left
