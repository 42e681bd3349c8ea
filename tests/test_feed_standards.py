"""The standards issue 8 item 7 adds to the feed, read back the way clients read them.

Per-episode ``<link>``, ``itunes:new-feed-url`` (with ``podcast:guid`` kept),
``itunes:block``/``itunes:complete``, ``podcast:txt``, ``podcast:updateFrequency`` and WebSub
(``atom:link rel="hub"`` plus a ping to a hub this test runs on 127.0.0.1). The feed is parsed
with feedparser and gPodder's podcastparser, and with lxml for exact names and namespaces.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import feedparser
import podcastparser
import pytest
from click.testing import CliRunner
from feed_factory import IMAGE_URL, make_episode, make_item, make_show
from lxml import etree
from project_fixtures import SAMPLE_EPISODE, edit, project

from dfl_audio.cli import cli
from dfl_audio.episodes import Project
from dfl_audio.feed import render_feed
from dfl_audio.feed_ext import NAMESPACES
from dfl_audio.models.show import Show, podcast_guid_for
from dfl_audio.websub import ping_hub

__all__ = ["project"]

ITUNES = f"{{{NAMESPACES['itunes']}}}"
PODCAST = f"{{{NAMESPACES['podcast']}}}"
ATOM = f"{{{NAMESPACES['atom']}}}"
FEED_URL = "https://media.example.org/dfl/feed.xml"
KEPT_GUID = "9b024349-ccf0-5f69-a609-6b82873eab3c"


def render(show: Show, *items: Any) -> bytes:
    return render_feed(show, list(items), image_url=IMAGE_URL)


def channel(xml: bytes) -> Any:
    return etree.fromstring(xml).find("channel")


def standards_show(**overrides: Any) -> Show:
    fields: dict[str, Any] = {
        "podcast_guid": KEPT_GUID,
        "new_feed_url": "https://feeds.example.net/dfl/interviews.xml",
        "block": True,
        "complete": True,
        "txt": [
            {"purpose": "applepodcastsverify", "text": "0c2d9e7a-verify"},
            {"text": "no purpose"},
        ],
        "update_frequency": {"text": "Every other week", "rrule": "FREQ=WEEKLY;INTERVAL=2"},
        "websub_hub": "https://pubsubhubbub.appspot.com/",
    }
    return make_show(**{**fields, **overrides})


# --- rendering -------------------------------------------------------------------------


def test_channel_standards_elements_exact() -> None:
    xml = render(standards_show())
    found = channel(xml)
    assert found.findtext(ITUNES + "new-feed-url") == "https://feeds.example.net/dfl/interviews.xml"
    assert found.findtext(ITUNES + "block") == "yes"
    assert found.findtext(ITUNES + "complete") == "yes"
    assert found.findtext(PODCAST + "guid") == KEPT_GUID
    txts = [(t.text, dict(t.attrib)) for t in found.iterfind(PODCAST + "txt")]
    assert txts == [
        ("0c2d9e7a-verify", {"purpose": "applepodcastsverify"}),
        ("no purpose", {}),
    ]
    frequency = found.find(PODCAST + "updateFrequency")
    assert (frequency.text, dict(frequency.attrib)) == (
        "Every other week",
        {"rrule": "FREQ=WEEKLY;INTERVAL=2"},
    )
    links = {link.get("rel"): dict(link.attrib) for link in found.iterfind(ATOM + "link")}
    assert links["hub"] == {"href": "https://pubsubhubbub.appspot.com/", "rel": "hub"}
    assert links["self"]["href"] == FEED_URL


def test_update_frequency_complete_is_written_only_when_true() -> None:
    frequency = {"text": "Done", "rrule": "FREQ=MONTHLY", "complete": True}
    found = channel(render(standards_show(update_frequency=frequency)))
    assert found.find(PODCAST + "updateFrequency").get("complete") == "true"


def test_standards_elements_are_left_out_when_not_set() -> None:
    found = channel(render(make_show(), make_item(1)))
    for name in ("new-feed-url", "block", "complete"):
        assert found.find(ITUNES + name) is None
    for name in ("txt", "updateFrequency"):
        assert found.find(PODCAST + name) is None
    assert [link.get("rel") for link in found.iterfind(ATOM + "link")] == ["self"]
    assert found.find("item/" + ITUNES + "block") is None


def test_clients_read_the_standards_elements() -> None:
    own_page = "https://www.depthfirstlearning.com/2021/interview-1"
    items = (
        make_item(1, episode=make_episode(1, link=own_page, block=True)),
        make_item(2),
    )
    xml = render(standards_show(), *items)
    parsed = feedparser.parse(xml)
    assert not parsed.bozo, parsed.bozo_exception
    assert parsed.feed["itunes_new-feed-url"] == "https://feeds.example.net/dfl/interviews.xml"
    assert parsed.feed["itunes_block"] == 1
    assert parsed.feed["itunes_complete"] == "yes"
    hubs = [link["href"] for link in parsed.feed["links"] if link["rel"] == "hub"]
    assert hubs == ["https://pubsubhubbub.appspot.com/"]
    by_guid = {entry["id"]: entry for entry in parsed.entries}
    assert by_guid["dfl-ep-0001"]["link"] == own_page
    assert by_guid["dfl-ep-0001"]["itunes_block"] == 1
    assert by_guid["dfl-ep-0002"]["link"] == items[1].page_url  # its page on the site
    assert "itunes_block" not in by_guid["dfl-ep-0002"]

    gpodder = podcastparser.parse(FEED_URL, io.BytesIO(xml))
    assert gpodder["new_url"] == "https://feeds.example.net/dfl/interviews.xml"
    links = {episode["guid"]: episode["link"] for episode in gpodder["episodes"]}
    assert links == {"dfl-ep-0001": own_page, "dfl-ep-0002": items[1].page_url}


def test_moving_the_feed_keeps_the_podcast_guid() -> None:
    """STANDARDS.md: podcast:guid "is assigned once and kept when the feed moves"."""
    before = make_show(public_url="https://media.example.org/dfl/")
    assigned = str(before.guid)
    moved = make_show(
        public_url="https://feeds.example.net/dfl/",
        podcast_guid=assigned,
        new_feed_url="https://feeds.example.net/dfl/feed.xml",
    )
    assert channel(render(moved)).findtext(PODCAST + "guid") == assigned
    assert assigned == str(podcast_guid_for(FEED_URL))
    assert str(podcast_guid_for(moved.feed_url)) != assigned  # what deriving would have done


@pytest.mark.parametrize(
    "link", ["http://127.0.0.1:4000/2021/interview-1", "https://dfl.example/interview?a=1&b=2"]
)
def test_episode_link_is_the_items_link(link: str) -> None:
    xml = render(make_show(), make_item(1, episode=make_episode(1, link=link)))
    assert channel(xml).findtext("item/link") == link


# --- validation through the CLI --------------------------------------------------------


def invoke(project: Project, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--root", str(project.root), *args])
    return result.exit_code, result.stdout, result.stderr


def add_to_show(project: Project, text: str) -> None:
    with project.show_file.open("a", encoding="utf-8") as handle:
        handle.write(text)


def test_validate_accepts_every_standards_field(project: Project) -> None:
    add_to_show(
        project,
        "podcast_guid: 9b024349-ccf0-5f69-a609-6b82873eab3c\n"
        "new_feed_url: https://feeds.example.net/interviews.xml\n"
        "block: false\ncomplete: false\n"
        "txt:\n  - purpose: applepodcastsverify\n    text: abc-123\n"
        "update_frequency:\n  text: Weekly\n  rrule: FREQ=WEEKLY;BYDAY=TU\n"
        "websub_hub: https://pubsubhubbub.appspot.com/\n",
    )
    edit(
        project.root / SAMPLE_EPISODE,
        "explicit: false",
        "explicit: false\nlink: https://www.depthfirstlearning.com/welcome\nblock: true",
    )
    code, out, err = invoke(project, "validate")
    assert (code, err) == (0, ""), err
    assert out.startswith("ok: ")


def test_new_feed_url_without_an_explicit_podcast_guid_is_refused(project: Project) -> None:
    add_to_show(project, "new_feed_url: https://feeds.example.net/interviews.xml\n")
    code, out, err = invoke(project, "validate")
    line = len(project.show_file.read_text(encoding="utf-8").splitlines())
    assert (code, out) == (1, "")
    assert err == (
        f"Error: episodes/show.yaml:{line}: new_feed_url: needs podcast_guid set in show.yaml "
        "first: copy the podcast:guid of the current feed there, so moving the feed does not "
        "change it\n"
    )


@pytest.mark.parametrize(
    ("text", "field", "message"),
    [
        (
            "websub_hub: http://hub.example.com/\n",
            "websub_hub",
            "must be an https:// URL (http:// only on localhost, 127.0.0.0/8 or [::1]), "
            "got 'http://hub.example.com/'",
        ),
        (
            "update_frequency:\n  text: Weekly\n  rrule: FREQ=FORTNIGHTLY\n",
            "update_frequency.rrule",
            "must set FREQ to one of SECONDLY, MINUTELY, HOURLY, DAILY, WEEKLY, MONTHLY, "
            "YEARLY, got 'FREQ=FORTNIGHTLY'",
        ),
        (
            "update_frequency:\n  text: Weekly\n  rrule: RRULE:FREQ=WEEKLY\n",
            "update_frequency.rrule",
            "must be an RFC 5545 rule such as FREQ=WEEKLY;BYDAY=TU, got 'RRULE:FREQ=WEEKLY' "
            "('RRULE:FREQ=WEEKLY' is not a NAME=VALUE part it allows, or is repeated)",
        ),
        (
            "txt:\n  - purpose: applepodcastsverify\n",
            "txt[0].text",
            "is required",
        ),
        (
            "complete: finished\n",
            "complete",
            "input should be a valid boolean, unable to interpret input",
        ),
    ],
)
def test_bad_show_values_are_located_problems(
    project: Project, text: str, field: str, message: str
) -> None:
    add_to_show(project, text)
    code, _, err = invoke(project, "validate")
    assert code == 1
    assert err.startswith("Error: episodes/show.yaml:"), err
    assert err.endswith(f": {field}: {message}\n"), err


@pytest.mark.parametrize(
    ("link", "shown"),
    [
        (
            "http://www.depthfirstlearning.com/welcome",
            "'http://www.depthfirstlearning.com/welcome'",
        ),
        ("www.depthfirstlearning.com/welcome", "'www.depthfirstlearning.com/welcome'"),
    ],
)
def test_bad_episode_link_is_a_located_problem(project: Project, link: str, shown: str) -> None:
    edit(project.root / SAMPLE_EPISODE, "explicit: false", f"explicit: false\nlink: {link}")
    code, _, err = invoke(project, "validate", str(project.root / SAMPLE_EPISODE))
    assert code == 1
    assert err.startswith(f"Error: {SAMPLE_EPISODE}:"), err
    assert err.endswith(
        ": link: must be an https:// URL (http:// only on localhost, 127.0.0.0/8 or [::1]), "
        f"got {shown}\n"
    ), err


def test_episode_link_with_a_password_is_refused_unprinted(project: Project) -> None:
    link = "https://me:secret@dfl.example/x"
    edit(project.root / SAMPLE_EPISODE, "explicit: false", f"explicit: false\nlink: {link}")
    code, _, err = invoke(project, "validate")
    assert code == 1
    assert err == (
        f"Error: {SAMPLE_EPISODE}:7: link: must not contain a user name or password "
        "(user:password@)\n"
    )


# --- WebSub ----------------------------------------------------------------------------


class Hub:
    """A WebSub hub on 127.0.0.1 that records every request and answers ``status``."""

    def __init__(self, status: int = 204) -> None:
        self.requests: list[tuple[str, str, str, dict[str, list[str]]]] = []
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                size = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(size).decode("ascii")
                content_type = self.headers.get("Content-Type", "")
                hub.requests.append(("POST", self.path, content_type, parse_qs(body)))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_GET(self) -> None:
                hub.requests.append(("GET", self.path, "", {}))
                self.send_response(405)
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hub"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def hub() -> Iterator[Hub]:
    server = Hub()
    yield server
    server.close()


def publish_ping(feed_url: str) -> tuple[str, str, str, dict[str, list[str]]]:
    return (
        "POST",
        "/hub",
        "application/x-www-form-urlencoded",
        {"hub.mode": ["publish"], "hub.url": [feed_url]},
    )


def test_ping_hub_posts_the_publish_form(hub: Hub) -> None:
    assert ping_hub(hub.url, FEED_URL) is None
    assert hub.requests == [publish_ping(FEED_URL)]


def test_ping_hub_refusal_and_unreachable_hub_are_warnings() -> None:
    refusing = Hub(status=500)
    try:
        warning = ping_hub(refusing.url, FEED_URL)
    finally:
        refusing.close()
    assert warning == f"the WebSub hub {refusing.url} refused the ping for {FEED_URL}: HTTP 500"
    unreachable = ping_hub(refusing.url, FEED_URL, timeout=1.0)  # the server is closed now
    assert unreachable is not None
    assert unreachable.startswith(f"could not ping the WebSub hub {refusing.url} for {FEED_URL}: ")


def test_cli_pings_the_hub_once_per_run_that_changes_the_feed(project: Project, hub: Hub) -> None:
    add_to_show(project, f"websub_hub: {hub.url}\n")
    feed_url = "https://audio.depthfirstlearning.com/interviews.xml"
    hub_line = f'<atom:link href="{hub.url}" rel="hub"/>'

    code, out, err = invoke(project, "publish", "--dry-run")
    assert code == 0, err
    assert hub.requests == []  # a dry run changes nothing, so it tells no hub

    code, out, err = invoke(project, "feed")
    assert code == 0, err
    assert "feed updated" in out
    assert hub_line in (project.root / "feeds/interviews.xml").read_text(encoding="utf-8")
    assert hub.requests == [publish_ping(feed_url)]

    code, out, err = invoke(project, "feed")
    assert code == 0, err
    assert "feed unchanged" in out
    assert hub.requests == [publish_ping(feed_url)]  # no second ping

    edit(project.show_file, "title: Depth First Learning Interviews", "title: DFL Interviews")
    code, out, err = invoke(project, "feed")
    assert (code, err) == (0, "")
    assert "feed updated" in out
    assert hub.requests == [publish_ping(feed_url)] * 2


def test_cli_hub_failure_is_one_warning_not_an_error(project: Project) -> None:
    """The real console script: exit 0, the feed written, exactly one warning line."""
    down = Hub(status=503)
    add_to_show(project, f"websub_hub: {down.url}\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    try:
        done = subprocess.run(
            [sys.executable, "-m", "dfl_audio", "--root", str(project.root), "feed"],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )
    finally:
        down.close()
    assert done.returncode == 0, done.stderr
    assert "feed updated" in done.stdout
    assert done.stderr == (
        f"WARNING: the WebSub hub {down.url} refused the ping for "
        "https://audio.depthfirstlearning.com/interviews.xml: HTTP 503\n"
    )
    assert len(down.requests) == 1


def test_publish_and_unpublish_each_ping_once(project: Project, hub: Hub) -> None:
    """The audio path too: a real publish of the sample, then taking it out again."""
    add_to_show(project, f"websub_hub: {hub.url}\n")
    ping = publish_ping("https://audio.depthfirstlearning.com/interviews.xml")
    code, out, err = invoke(project, "publish", "--json")
    assert code == 0, err
    assert hub.requests == [ping]
    code, out, err = invoke(project, "publish")
    assert code == 0, err
    assert "feed unchanged" in out
    assert hub.requests == [ping]
    code, out, err = invoke(project, "unpublish", str(project.root / SAMPLE_EPISODE))
    assert code == 0, err
    assert "removed: " in out
    assert hub.requests == [ping, ping]
