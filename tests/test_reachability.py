"""After a run that wrote something, the feed and the new audio are fetched anonymously at
their public URLs, and what would stop a listener is a warning that names the URL and the fix.

Real HTTP throughout: a server this test starts on 127.0.0.1 answering what it is told
(200, 403, 404, a wrong type, no HEAD, no answer at all), ``dfl-audio serve`` itself, and
moto's S3 server with a private and then a public bucket.
"""

from __future__ import annotations

import logging
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3
import pytest
from click.testing import CliRunner, Result
from project_fixtures import REPO
from s3_helpers import make_public, moto_server

from dfl_audio import reachability
from dfl_audio.cli import cli
from dfl_audio.config import Overrides
from dfl_audio.episodes import Project
from dfl_audio.preview import site_for
from dfl_audio.reachability import Target, bucket_policy, check
from dfl_audio.serve import start

FEED_PATH = "/interviews.xml"
AUDIO_PATH = "/audio/welcome-0123456789ab.mp3"


@dataclass
class Route:
    status: int = 200
    content_type: str | None = None
    head: bool = True  # False: HEAD is answered 405, as some servers do


@dataclass
class Stub:
    """What the stub server answers per path, and every request it saw."""

    routes: dict[str, Route] = field(default_factory=dict)
    seen: list[tuple[str, str, str | None]] = field(default_factory=list)
    base: str = ""


@pytest.fixture
def stub() -> Iterator[Stub]:
    state = Stub()

    class Handler(BaseHTTPRequestHandler):
        def answer(self, method: str) -> None:
            state.seen.append((method, self.path, self.headers.get("Range")))
            route = state.routes.get(self.path, Route(404, "text/html"))
            status = route.status if route.head or method == "GET" else 405
            self.send_response(status)
            if route.content_type:
                self.send_header("Content-Type", route.content_type)
            self.send_header("Content-Length", "1")
            self.end_headers()
            if method == "GET":
                self.wfile.write(b"x")

        def do_HEAD(self) -> None:
            self.answer("HEAD")

        def do_GET(self) -> None:
            self.answer("GET")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.base = f"http://127.0.0.1:{server.server_port}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield state
    server.shutdown()
    server.server_close()


def both(stub: Stub, feed: Route, audio: Route, location: str = "storage") -> list[str]:
    stub.routes = {FEED_PATH: feed, AUDIO_PATH: audio}
    targets = [Target(stub.base + FEED_PATH, "feed"), Target(stub.base + AUDIO_PATH, "audio")]
    return check(targets, location, timeout=5)


RSS = Route(200, "application/rss+xml")
MP3 = Route(200, "audio/mpeg")


@pytest.mark.parametrize(
    "feed", [RSS, Route(200, "application/xml"), Route(200, "text/xml; charset=utf-8")]
)
def test_what_apps_can_use_raises_nothing(stub: Stub, feed: Route) -> None:
    assert both(stub, feed, MP3) == []
    assert [method for method, _, _ in stub.seen] == ["HEAD", "HEAD"]


def test_a_403_names_the_url_and_the_bucket_policy(stub: Stub) -> None:
    warnings = both(stub, RSS, Route(403, "application/xml"), "s3://dfl-audio/podcast")
    policy = (
        '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", '
        '"Action": "s3:GetObject", "Resource": "arn:aws:s3:::dfl-audio/podcast/*"}]}'
    )
    assert warnings == [
        f"listeners cannot use {stub.base}{AUDIO_PATH}: it answers 403 to an anonymous "
        f"request; allow anonymous reads with this bucket policy: {policy}"
    ]
    assert policy == bucket_policy("s3://dfl-audio/podcast/")


def test_a_403_from_a_web_server(stub: Stub) -> None:
    assert both(stub, Route(403), MP3) == [
        f"listeners cannot use {stub.base}{FEED_PATH}: it answers 403 to an anonymous request; "
        "let the web server serving the storage folder answer anonymous requests"
    ]


def test_a_404_says_where_the_files_should_be(stub: Stub) -> None:
    assert both(stub, Route(404), MP3, "s3://dfl-audio/podcast") == [
        f"listeners cannot use {stub.base}{FEED_PATH}: it answers 404 (not found); "
        "public_url must serve the keys of s3://dfl-audio/podcast (does it end at the prefix?)"
    ]
    assert both(stub, RSS, Route(404)) == [
        f"listeners cannot use {stub.base}{AUDIO_PATH}: it answers 404 (not found); "
        "copy the storage folder to the web server at public_url, or fix public_url"
    ]


@pytest.mark.parametrize(
    ("audio", "shown"),
    [
        (Route(200, "text/plain"), "text/plain"),
        (Route(200, "application/octet-stream"), "application/octet-stream"),
        (Route(200, None), "no Content-Type"),
    ],
)
def test_a_wrong_content_type_is_named(stub: Stub, audio: Route, shown: str) -> None:
    assert both(stub, RSS, audio) == [
        f"listeners cannot use {stub.base}{AUDIO_PATH}: it is served as {shown}, podcast apps "
        "expect audio/mpeg; make the web server send .mp3 as audio/mpeg and .xml as "
        "application/rss+xml"
    ]


def test_a_feed_served_as_html_is_named(stub: Stub) -> None:
    assert both(stub, Route(200, "text/html"), MP3, "s3://b/p") == [
        f"listeners cannot use {stub.base}{FEED_PATH}: it is served as text/html, podcast apps "
        "expect application/rss+xml; the object's Content-Type was changed after upload "
        "(a CDN rule?): republish it"
    ]


def test_a_server_without_head_is_asked_for_one_byte(stub: Stub) -> None:
    assert both(stub, Route(200, "application/rss+xml", head=False), MP3) == []
    assert sorted(stub.seen) == [
        ("GET", FEED_PATH, "bytes=0-0"),
        ("HEAD", AUDIO_PATH, None),
        ("HEAD", FEED_PATH, None),
    ]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_nothing_listening_is_quick_and_says_so() -> None:
    url = f"http://127.0.0.1:{_free_port()}/interviews.xml"
    began = time.monotonic()
    warnings = check([Target(url, "feed")], "storage", timeout=5)
    assert time.monotonic() - began < 1
    assert warnings == [
        f"listeners cannot use {url}: unreachable (Connection refused); check public_url, or "
        "pass --no-check-public when offline"
    ]


def test_a_server_that_never_answers_costs_one_timeout_in_all() -> None:
    """Ten URLs on a server that accepts connections and never answers: one wait, not ten."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(32)
        base = f"http://127.0.0.1:{silent.getsockname()[1]}"
        targets = [Target(f"{base}/audio/{n}.mp3", "audio") for n in range(10)]
        began = time.monotonic()
        warnings = check(targets, "storage", timeout=1)
        took = time.monotonic() - began
    assert 0.9 < took < 2
    assert len(warnings) == 10
    assert all(
        "unreachable (no answer in time)" in w or "no answer within 1 s" in w for w in warnings
    )


def test_only_http_urls_are_checked_and_new_audio_is_capped() -> None:
    audio = [f"https://a.example/audio/{n}.mp3" for n in range(40)]
    found = reachability.targets("file:///srv/feed.xml", audio)
    assert len(found) == reachability.MAX_AUDIO_CHECKED
    assert {target.kind for target in found} == {"audio"}


# -- through the CLI ------------------------------------------------------------------------------


def copy_project(root: Path) -> Project:
    shutil.copytree(REPO / "episodes", root / "episodes")
    (root / "feeds").mkdir()
    return Project(root)


def dfl(project: Project, *args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, ["--root", str(project.root), *args], env=env)


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.levelno == logging.WARNING and record.getMessage().startswith("listeners")
    ]


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return copy_project(tmp_path / "show")


def test_local_storage_is_not_checked_by_default(
    project: Project, stub: Stub, caplog: pytest.LogCaptureFixture
) -> None:
    """The README's first run: a local folder reaches public_url only once deployed."""
    result = dfl(project, "publish", "--public-url", stub.base + "/")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    assert stub.seen == []
    assert warnings_of(caplog) == []


def test_a_forced_check_of_a_folder_not_deployed_yet(
    project: Project, stub: Stub, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="dfl_audio"):
        result = dfl(project, "publish", "--check-public", "--public-url", stub.base + "/")
    assert result.exit_code == 0, result.stderr
    warnings = warnings_of(caplog)
    assert len(warnings) == 2
    assert warnings[0] == (
        f"listeners cannot use {stub.base}/interviews.xml: it answers 404 (not found); "
        "copy the storage folder to the web server at public_url, or fix public_url"
    )
    assert warnings[1].startswith(f"listeners cannot use {stub.base}/audio/welcome-")
    assert {(method, path.split("-")[0]) for method, path, _ in stub.seen} == {
        ("HEAD", "/interviews.xml"),
        ("GET", "/interviews.xml"),
        ("HEAD", "/audio/welcome"),
        ("GET", "/audio/welcome"),
    }
    # A run that writes nothing asks nothing.
    stub.seen.clear()
    again = dfl(project, "publish", "--check-public", "--public-url", stub.base + "/")
    assert again.exit_code == 0 and stub.seen == []


def test_the_preview_server_serves_what_listeners_need(
    project: Project, caplog: pytest.LogCaptureFixture
) -> None:
    """``dfl-audio serve`` over the published folder passes the check the CLI makes."""
    first = dfl(project, "publish")
    assert first.exit_code == 0, first.stderr
    server, base = start(site_for(project, Overrides()), 0)
    try:
        with caplog.at_level(logging.WARNING, logger="dfl_audio"):
            (project.root / "episodes/show.yaml").write_text(
                (project.root / "episodes/show.yaml")
                .read_text()
                .replace("Conversations with", "Talks with")
            )  # a metadata edit: `feed` writes a new feed
            result = dfl(project, "feed", "--check-public", "--public-url", base)
    finally:
        server.shutdown()
    assert result.exit_code == 0, result.stderr
    assert "feed updated" in result.stdout
    assert warnings_of(caplog) == []


# -- S3 (moto) ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture
def bucket(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3", "AWS_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    for name in ("DFL_AUDIO_STORAGE", "DFL_AUDIO_PUBLIC_URL", "DFL_AUDIO_CHECK_PUBLIC"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIADFLREACH")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "dfl-reach-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    name = f"dfl-reach-{uuid.uuid4().hex[:10]}"
    boto3.client("s3", endpoint_url=moto_endpoint).create_bucket(Bucket=name)
    return name


def test_a_private_bucket_is_named_with_its_policy_then_quiet_once_public(
    project: Project, moto_endpoint: str, bucket: str, caplog: pytest.LogCaptureFixture
) -> None:
    public_url = f"{moto_endpoint}/{bucket}/pod/"
    options = ["--storage", f"s3://{bucket}/pod", "--public-url", public_url]
    with caplog.at_level(logging.WARNING, logger="dfl_audio"):
        result = dfl(project, "publish", *options)
    assert result.exit_code == 0, result.stderr
    policy = bucket_policy(f"s3://{bucket}/pod")
    assert f'"Resource": "arn:aws:s3:::{bucket}/pod/*"' in policy
    warnings = warnings_of(caplog)
    assert warnings[0] == (
        f"listeners cannot use {public_url}interviews.xml: it answers 403 to an anonymous "
        f"request; allow anonymous reads with this bucket policy: {policy}"
    )
    assert len(warnings) == 2 and warnings[1].startswith(f"listeners cannot use {public_url}audio/")
    assert warnings[1].endswith(f"allow anonymous reads with this bucket policy: {policy}")

    make_public(boto3.client("s3", endpoint_url=moto_endpoint), bucket)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="dfl_audio"):
        result = dfl(project, "publish", "--force", *options)
    assert result.exit_code == 0, result.stderr
    assert warnings_of(caplog) == []


def test_the_check_can_be_turned_off_for_an_s3_run(
    project: Project, moto_endpoint: str, bucket: str, caplog: pytest.LogCaptureFixture
) -> None:
    options = ["--storage", f"s3://{bucket}/pod", "--public-url", f"{moto_endpoint}/{bucket}/pod/"]
    with caplog.at_level(logging.WARNING, logger="dfl_audio"):
        assert dfl(project, "publish", "--no-check-public", *options).exit_code == 0
        assert (
            dfl(
                project, "publish", "--force", *options, env={"DFL_AUDIO_CHECK_PUBLIC": "0"}
            ).exit_code
            == 0
        )
    assert warnings_of(caplog) == []
