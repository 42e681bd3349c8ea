"""The show's website as published: the sample show to a local folder, read back and parsed.

What a browser, a search engine and a link preview read (the contract markup the player
relies on, JSON-LD, Open Graph, the sitemap, canonical URLs), what the storage holds and
when (pages with the feed, none rewritten when nothing changed, an unpublished episode's
page removed), and ``dfl-audio serve`` showing it at ``/``. Browser tests live with the player.
"""

from __future__ import annotations

import json
import shutil
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from bs4 import BeautifulSoup, Tag
from click.testing import CliRunner
from feed_factory import make_item, make_show
from lxml import etree
from project_fixtures import REPO, SAMPLE_EPISODE, edit, project

from dfl_audio.cli import cli
from dfl_audio.config import Overrides
from dfl_audio.episodes import Project
from dfl_audio.feed import render_feed
from dfl_audio.preview import site_for
from dfl_audio.publish import RunOptions, RunResult, run
from dfl_audio.serve import start
from dfl_audio.site.build import render_site
from dfl_audio.site.listing import listed_episodes
from dfl_audio.state import load_state
from dfl_audio.storage import LocalStorage
from dfl_audio.transcript_cues import Cue, read_cues
from dfl_audio.unpublish import unpublish

__all__ = ["project"]

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
PUBLIC = "https://audio.depthfirstlearning.com/"
SHOW_PAGE = PUBLIC + "index.html"
PAGE_URL = PUBLIC + "episodes/welcome.html"
TITLE = "Welcome to the Depth First Learning Interviews"
SHORT = "public, max-age=300, must-revalidate"
IMMUTABLE = "public, max-age=31536000, immutable"


def publish(project: Project, **options: object) -> RunResult:
    storage = LocalStorage(project.root / "storage")
    return run(project, storage, RunOptions(now=NOW, **options))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """One real publish of the sample show, shared by the read-only checks."""
    root = tmp_path_factory.mktemp("site")
    shutil.copytree(REPO / "episodes", root / "episodes")
    project = Project(root)
    publish(project)
    return project


def stored(project: Project, key: str) -> bytes:
    return (project.root / "storage" / key).read_bytes()


def soup(data: bytes) -> BeautifulSoup:
    return BeautifulSoup(data, "lxml")


def one(page: BeautifulSoup | Tag, selector: str) -> Tag:
    found = page.select(selector)
    assert len(found) == 1, (selector, found)
    return found[0]


def record(project: Project):  # type: ignore[no-untyped-def]
    return load_state(project.root / "feeds/interviews.published.json").episodes[
        "190bd4dd-f34d-4f16-a06a-213eaff1a95a"
    ]


# -- the episode page: the contract the player relies on ------------------------------------------


def test_episode_page_has_the_contract_markup(published: Project) -> None:
    page = soup(stored(published, "episodes/welcome.html"))
    audio_url = PUBLIC + record(published).audio_key
    article = one(page, "main#main > article.episode")
    assert float(article["data-duration"]) == pytest.approx(record(published).duration, abs=1e-3)
    assert one(article, "h1").get_text() == TITLE
    date, duration = article.select("p.episode-meta time[datetime]")
    assert date["datetime"] == "2026-11-20T09:00:00-05:00"
    assert duration["datetime"] == "PT8S" and duration.get_text() == "8 s"
    audio = one(article, "section.player[aria-label=Player] > audio#player-audio")
    assert audio["src"] == audio_url and audio["preload"] == "metadata"
    assert audio.has_attr("controls")
    download = one(article, "section.player > a.download")
    assert download["href"] == audio_url and download.has_attr("download")
    assert download.get_text().startswith("Download (MP3, ")

    chapters = article.select("section.chapters[aria-labelledby=chapters-heading] ol > li.chapter")
    assert [li["data-start"] for li in chapters] == ["0", "3"]
    assert [one(li, "a.chapter-time")["href"] for li in chapters] == ["#t=0:00", "#t=0:03"]
    assert [one(li, "span.chapter-title").get_text() for li in chapters] == [
        "Welcome",
        "The guest says hello",
    ]
    assert one(page, "h2#chapters-heading").get_text() == "Chapters"


def test_transcript_cues_are_the_published_transcripts(published: Project) -> None:
    page = soup(stored(published, "episodes/welcome.html"))
    transcript_key = next(t.key for t in record(published).transcripts if t.type == "text/vtt")
    cues = read_cues(stored(published, transcript_key), transcript_key)
    items = page.select("section.transcript ol.cues > li.cue")
    assert [(float(li["data-start"]), float(li["data-end"])) for li in items] == [
        (cue.start, cue.end) for cue in cues
    ]
    assert [one(li, "span.speaker").get_text() for li in items] == ["Host", "Guest", "Host"]
    assert [one(li, "span.cue-text").get_text() for li in items] == [cue.text for cue in cues]
    assert [one(li, "a.cue-time")["href"] for li in items] == ["#t=0:00", "#t=0:02", "#t=0:05"]


def test_the_speaker_is_named_where_their_turn_begins() -> None:
    """As a script reads (and ~17 KB lighter on an hour's page): one name per turn; every cue
    keeps its times, its #t= link and its text."""
    show, item = make_show(), make_item(1)
    cues = [
        Cue(0.0, 1.0, "Hello.", "Host"),
        Cue(1.0, 2.0, "Welcome.", "Host"),
        Cue(2.0, 3.0, "Thanks.", "Guest"),
        Cue(3.0, 4.0, "[laughter]"),
        Cue(4.0, 5.0, "Where was I?", "Guest"),
        Cue(5.0, 6.0, "Right.", "Guest"),
    ]
    image = "https://media.example.org/dfl/art/show.png"
    feed = render_feed(show, [item], image_url=image)
    site = render_site(show, image, [item], {item.episode.slug: cues}, listed_episodes(feed))
    page = soup(next(f.data for f in site.files if f.key.startswith("episodes/")))
    items = page.select("section.transcript ol.cues > li.cue")
    named = [li.select_one("span.speaker") for li in items]
    assert [tag.get_text() if tag else None for tag in named] == [
        "Host",
        None,
        "Guest",
        None,
        "Guest",
        None,
    ]
    assert [li["data-start"] for li in items] == ["0", "1", "2", "3", "4", "5"]
    assert [li["data-end"] for li in items] == ["1", "2", "3", "4", "5", "6"]
    assert [one(li, "span.cue-text").get_text() for li in items] == [cue.text for cue in cues]
    assert [one(li, "a.cue-time")["href"] for li in items] == [f"#t=0:0{n}" for n in range(6)]


def test_an_intro_moves_chapters_and_cues_on_the_page(project: Project) -> None:
    """data-start is where the stored audio says it: after the intro."""
    edit(project.show_file, "storage:\n", "intro: episodes/audio/sample-clip.mp3\nstorage:\n")
    publish(project)
    intro = record(project).intro_seconds
    assert intro > 1
    page = soup(stored(project, "episodes/welcome.html"))
    starts = [float(li["data-start"]) for li in page.select("li.chapter")]
    assert starts == pytest.approx([intro, 3 + intro], abs=1e-3)
    first_cue = page.select("li.cue")[0]
    assert float(first_cue["data-start"]) == pytest.approx(0.25 + intro, abs=1e-3)


# -- what search engines and link previews read -----------------------------------------------


def test_pages_have_landmarks_lang_canonical_and_feed_autodiscovery(published: Project) -> None:
    for key, canonical in (("index.html", SHOW_PAGE), ("episodes/welcome.html", PAGE_URL)):
        page = soup(stored(published, key))
        assert one(page, "html")["lang"] == "en"
        assert one(page, "link[rel=canonical]")["href"] == canonical
        feed = one(page, 'link[rel=alternate][type="application/rss+xml"]')
        assert feed["href"] == PUBLIC + "interviews.xml"
        body = one(page, "body")
        skip = body.find("a")
        assert skip is not None and skip["href"] == "#main" and "skip-link" in skip["class"]
        for landmark in ("body > header", "body > main#main", "body > footer"):
            one(page, landmark)


def test_open_graph_and_twitter_cards_use_absolute_urls_and_the_episode_art(
    published: Project,
) -> None:
    page = soup(stored(published, "episodes/welcome.html"))
    meta = {
        tag.get("property") or tag.get("name"): tag["content"]
        for tag in page.select("meta[content]")
    }
    art = PUBLIC + record(published).artwork_key
    assert meta["og:title"] == meta["twitter:title"] == TITLE
    assert meta["og:image"] == meta["twitter:image"] == art
    assert meta["og:url"] == PAGE_URL
    assert meta["og:audio"] == PUBLIC + record(published).audio_key
    assert meta["twitter:card"] == "summary_large_image"
    assert meta["og:description"].startswith("A short sample of what is coming")
    show_page = soup(stored(published, "index.html"))
    show_meta = {tag.get("property"): tag["content"] for tag in show_page.select("meta[property]")}
    state = load_state(published.root / "feeds/interviews.published.json")
    assert show_meta["og:image"] == PUBLIC + state.show_artwork_key


def json_ld(data: bytes) -> dict:  # type: ignore[type-arg]
    scripts = soup(data).select('script[type="application/ld+json"]')
    assert len(scripts) == 1
    return json.loads(scripts[0].string)  # type: ignore[no-any-return]


def test_json_ld_describes_the_series_and_the_episode(published: Project) -> None:
    series = json_ld(stored(published, "index.html"))
    assert series["@type"] == "PodcastSeries"
    assert (series["url"], series["webFeed"]) == (SHOW_PAGE, PUBLIC + "interviews.xml")
    episode = json_ld(stored(published, "episodes/welcome.html"))
    assert episode["@type"] == "PodcastEpisode"
    assert episode["name"] == TITLE and episode["url"] == PAGE_URL
    assert episode["datePublished"] == "2026-11-20T09:00:00-05:00"
    media = episode["associatedMedia"]
    assert media["contentUrl"] == PUBLIC + record(published).audio_key
    assert media["encodingFormat"] == "audio/mpeg"
    assert episode["partOfSeries"] == {
        "@type": "PodcastSeries",
        "name": "Depth First Learning Interviews",
        "url": SHOW_PAGE,
    }


HOSTILE = '</script><script>alert("x")</script> & <b>"quotes"</b>'


def test_a_title_cannot_break_out_of_the_page(project: Project) -> None:
    """JSON-LD keeps ``</script>`` inside its string; every attribute and text stays text."""
    edit(project.root / SAMPLE_EPISODE, f'title: "{TITLE}"', f"title: '{HOSTILE}'")
    publish(project)
    data = stored(project, "episodes/welcome.html")
    page = soup(data)
    assert [s.get("type") for s in page.select("script")] == [None, "application/ld+json"]
    assert json_ld(data)["name"] == HOSTILE
    assert one(page, "h1").get_text() == HOSTILE
    assert one(page, 'meta[property="og:title"]')["content"] == HOSTILE
    assert b"<script>alert" not in data
    listed = soup(stored(project, "index.html")).select("li.episode-summary h3 a")
    assert [a.get_text() for a in listed] == [HOSTILE]


def test_sitemap_lists_the_show_page_and_every_episode_page(published: Project) -> None:
    root = etree.fromstring(stored(published, "sitemap.xml"))
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    assert root.xpath("/s:urlset/s:url/s:loc/text()", namespaces=ns) == [SHOW_PAGE, PAGE_URL]
    assert root.xpath("//s:lastmod/text()", namespaces=ns) == ["2026-11-20", "2026-11-20"]


def test_show_page_lists_episodes_subscribe_links_and_the_podcast_guid(project: Project) -> None:
    edit(
        project.show_file,
        "storage:\n",
        "subscribe:\n  overcast: https://overcast.fm/itunes1\n"
        "  apple_podcasts: https://podcasts.apple.com/podcast/id1\nstorage:\n",
    )
    publish(project)
    page = soup(stored(project, "index.html"))
    assert one(page, "h1").get_text() == "Depth First Learning Interviews"
    assert one(page, "input#feed-url")["value"] == PUBLIC + "interviews.xml"
    assert one(page, "label[for=feed-url]")
    copy = one(page, "button.copy")
    assert copy["data-copy"] == "feed-url" and copy.has_attr("hidden")  # useful with JS only
    apps = [(a.get_text(), a["href"]) for a in page.select("ul.apps a.app")]
    assert apps == [
        ("Apple Podcasts", "https://podcasts.apple.com/podcast/id1"),
        ("Overcast", "https://overcast.fm/itunes1"),
    ]
    guid = one(page, "p.podcast-guid code").get_text()
    feed = (project.root / "feeds/interviews.xml").read_bytes()
    assert f"<podcast:guid>{guid}</podcast:guid>".encode() in feed
    entries = page.select("ol.episode-list > li.episode-summary h3 a")
    assert [(a.get_text(), a["href"]) for a in entries] == [(TITLE, "episodes/welcome.html")]
    hosts = one(page, "p.hosts a")
    assert hosts.get_text() == "Cinjon Resnick"


def test_show_page_lists_episodes_newest_first(project: Project) -> None:
    text = (project.root / SAMPLE_EPISODE).read_text(encoding="utf-8")
    older = text.replace("2026-11-20 09:00:00", "2026-11-19 09:00:00").replace(
        "190bd4dd-f34d-4f16-a06a-213eaff1a95a", "6e0b3c84-8f0b-4b55-9d7c-2c8a1c1f3b11"
    )
    older = older.replace(f'title: "{TITLE}"', 'title: "An older one"')
    (project.episodes_dir / "2026-11-19-older.md").write_text(older, encoding="utf-8")
    publish(project)
    page = soup(stored(project, "index.html"))
    hrefs = [a["href"] for a in page.select("li.episode-summary h3 a")]
    assert hrefs == ["episodes/welcome.html", "episodes/older.html"]
    assert (project.root / "storage/episodes/older.html").is_file()


# -- the feed links the site ----------------------------------------------------------------------


def test_feed_links_the_show_page_and_each_episode_page(published: Project) -> None:
    channel = etree.parse(str(published.root / "feeds/interviews.xml")).getroot().find("channel")
    assert channel is not None
    assert channel.findtext("link") == SHOW_PAGE
    assert [item.findtext("link") for item in channel.iterfind("item")] == [PAGE_URL]


def test_an_episode_link_wins_in_the_feed_but_its_page_is_still_published(
    project: Project,
) -> None:
    own = "https://www.depthfirstlearning.com/2026/welcome"
    edit(project.root / SAMPLE_EPISODE, "episode_type:", f"link: {own}\nepisode_type:")
    publish(project)
    feed = etree.parse(str(project.root / "feeds/interviews.xml")).getroot()
    assert [item.findtext("link") for item in feed.iter("item")] == [own]
    assert (project.root / "storage/episodes/welcome.html").is_file()


# -- the feed's guarantees ------------------------------------------------------------------------


def site_files(project: Project) -> dict[str, int]:
    root = project.root / "storage"
    return {
        path.relative_to(root).as_posix(): path.stat().st_mtime_ns
        for path in root.rglob("*")
        if path.is_file()
        and (path.suffix in (".html", ".js", ".css") or path.name == "sitemap.xml")
        and not path.relative_to(root).as_posix().startswith("audio/")  # the HTML transcript
    }


def test_a_run_that_changes_nothing_rewrites_no_page(project: Project) -> None:
    first = publish(project)
    assert sorted(first.site_written) == sorted(site_files(project))
    assert len(first.site_written) == 5  # 2 assets, the episode page, show page, sitemap
    before = site_files(project)
    again = run(
        project, LocalStorage(project.root / "storage"), RunOptions(process_audio=False, now=NOW)
    )
    assert again.site_written == [] and again.site_deleted == []
    assert site_files(project) == before


def test_a_metadata_edit_rewrites_the_pages_it_shows_on(project: Project) -> None:
    publish(project)
    edit(project.root / SAMPLE_EPISODE, "title: The guest says hello", "title: Hello there")
    result = CliRunner().invoke(cli, ["--root", str(project.root), "feed"])
    assert result.exit_code == 0, result.output
    assert "site updated: 1 file written, 0 pages removed" in result.output
    assert b"Hello there" in stored(project, "episodes/welcome.html")


def test_dry_run_writes_no_page(project: Project) -> None:
    result = publish(project, dry_run=True)
    assert "index.html" in result.site_written and "episodes/welcome.html" in result.site_written
    assert not (project.root / "storage").exists()
    assert not (project.root / "feeds/site").exists()
    output = CliRunner().invoke(cli, ["--root", str(project.root), "publish", "--dry-run"])
    assert "site would change: 5 files to write, 0 to remove" in output.output
    assert not (project.root / "storage").exists()


def test_review_copy_in_feeds_site_is_what_was_stored(published: Project) -> None:
    review = published.root / "feeds/site"
    copied = sorted(p.relative_to(review).as_posix() for p in review.rglob("*") if p.is_file())
    assert copied == sorted(site_files(published))
    for key in copied:
        assert (review / key).read_bytes() == stored(published, key)


def test_unpublish_removes_the_page_after_the_feed_and_updates_the_show_page(
    project: Project,
) -> None:
    publish(project)
    storage = LocalStorage(project.root / "storage")
    deletions: list[str] = []
    real_delete = storage.delete

    def delete(key: str) -> None:
        feed = (project.root / "storage/interviews.xml").read_bytes()
        assert b"welcome" not in feed, "a page was deleted before the feed stopped linking it"
        deletions.append(key)
        real_delete(key)

    storage.delete = delete  # type: ignore[method-assign]
    result = unpublish(project, storage, project.root / SAMPLE_EPISODE, now=NOW)
    assert result.site_deleted == ["episodes/welcome.html"] == deletions
    assert not (project.root / "storage/episodes/welcome.html").exists()
    assert not (project.root / "feeds/site/episodes/welcome.html").exists()
    show_page = soup(stored(project, "index.html"))
    assert show_page.select("li.episode-summary") == []
    assert b"welcome" not in stored(project, "sitemap.xml")
    # published again by name: the page comes back
    publish(project, only=[project.root / SAMPLE_EPISODE])
    assert (project.root / "storage/episodes/welcome.html").is_file()


def test_a_draft_again_loses_its_page(project: Project) -> None:
    publish(project)
    edit(project.root / SAMPLE_EPISODE, "explicit: false", "explicit: false\ndraft: true")
    result = publish(project, allow_removal=True)
    assert result.site_deleted == ["episodes/welcome.html"]


def test_another_publishers_pages_are_left_alone(project: Project) -> None:
    publish(project)
    foreign = project.root / "storage/episodes/someone-else.html"
    foreign.write_text("<!DOCTYPE html><title>theirs</title>", encoding="utf-8")
    edit(project.root / SAMPLE_EPISODE, "explicit: false", "explicit: false\ndraft: true")
    publish(project, allow_removal=True)
    assert foreign.is_file()


# -- serve ----------------------------------------------------------------------------------------


def fetch(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


@pytest.fixture
def served(published: Project) -> Iterator[str]:
    server, base = start(site_for(published, Overrides()), port=0)
    try:
        yield base
    finally:
        server.shutdown()


def test_serve_shows_the_show_page_at_the_root_with_local_urls(
    published: Project, served: str
) -> None:
    status, headers, body = fetch(served)
    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert headers["Cache-Control"] == SHORT
    assert PUBLIC.encode() not in body
    page = soup(body)
    assert one(page, "link[rel=canonical]")["href"] == served + "index.html"
    assert one(page, "input#feed-url")["value"] == served + "interviews.xml"
    assert fetch(served + "index.html")[2] == body


def test_serve_shows_episode_pages_whose_links_all_resolve(published: Project, served: str) -> None:
    status, headers, body = fetch(served + "episodes/welcome.html")
    assert status == 200 and headers["Cache-Control"] == SHORT
    page = soup(body)
    audio = one(page, "audio#player-audio")["src"]
    assert audio.startswith(served)
    status, headers, _ = fetch(audio)
    assert (status, headers["Content-Type"]) == (200, "audio/mpeg")
    for asset in (one(page, "link[rel=stylesheet]")["href"], one(page, "script[src]")["src"]):
        url = urllib.parse.urljoin(served + "episodes/welcome.html", asset)
        status, headers, _ = fetch(url)
        assert status == 200 and headers["Cache-Control"] == IMMUTABLE, url
    status, headers, sitemap = fetch(served + "sitemap.xml")
    assert (status, headers["Content-Type"]) == (200, "application/xml")
    assert f"<loc>{served}episodes/welcome.html</loc>".encode() in sitemap


def test_feed_check_fails_when_the_review_copy_is_stale(project: Project) -> None:
    publish(project)
    check = ["--root", str(project.root), "feed", "--check"]
    assert CliRunner().invoke(cli, check).exit_code == 0
    (project.root / "feeds/site/index.html").write_text("edited by hand", encoding="utf-8")
    result = CliRunner().invoke(cli, check)
    assert result.exit_code == 1
    assert "the feed in feeds/ is stale: run dfl-audio feed" in result.output


def test_unchanged_pages_are_not_rendered_again_and_a_changed_copy_is(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dfl_audio.site.build as build

    publish(project)
    rendered: list[str] = []
    real = build.render_episode_page

    def counting(show, episode, assets):  # type: ignore[no-untyped-def]
        rendered.append(episode.key)
        return real(show, episode, assets)

    monkeypatch.setattr(build, "render_episode_page", counting)
    feed_run = RunOptions(process_audio=False, now=NOW)
    storage = LocalStorage(project.root / "storage")
    assert run(project, storage, feed_run).site_written == []
    assert rendered == []  # read back from feeds/site/

    copy = project.root / "feeds/site/episodes/welcome.html"
    copy.write_bytes(copy.read_bytes().replace(b"Welcome", b"Tampered"))
    assert run(project, storage, feed_run).site_written == []  # the stored page was right
    assert rendered == ["episodes/welcome.html"]
    assert copy.read_bytes() == stored(project, "episodes/welcome.html")

    rendered.clear()
    edit(project.root / SAMPLE_EPISODE, "title: The guest says hello", "title: Hi")
    assert run(project, storage, feed_run).site_written == ["episodes/welcome.html"]
    assert set(rendered) == {"episodes/welcome.html"}  # as planned, then with the re-tagged MP3
