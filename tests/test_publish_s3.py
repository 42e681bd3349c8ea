"""The whole pipeline against S3 over real HTTP: a moto server on 127.0.0.1, configured the
way a user does it (``--storage s3://bucket/prefix``, ``--public-url``, the AWS_* variables).

Every S3 client the CLI builds is instrumented (``make_client`` is wrapped where
``dfl_audio.s3.open_s3`` looks it up), so each test sees the exact order of the requests the
command made: which objects were written, verified and deleted, and that the feed was written
last.
"""

from __future__ import annotations

import copy
import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import podcastparser
import pytest
from click.testing import CliRunner, Result
from lxml import etree
from project_fixtures import REPO, SAMPLE_EPISODE, edit, project
from s3_helpers import http_get, make_public, moto_server

import dfl_audio.publish
import dfl_audio.s3
import dfl_audio.s3_client
from dfl_audio import audio
from dfl_audio.cli import cli
from dfl_audio.compression import gzip_bytes
from dfl_audio.episodes import Project
from dfl_audio.s3 import S3Storage

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = ["project"]

SECRET = "dfl-s3-secret-Zq8vK2pW9xR4tL7m"  # distinctive: must never reach any output
ACCESS = "AKIADFLPIPELINE7Q3X"
TOKEN = "dfl-session-token-Hc5nJ1bV6yT0"
GUID = "190bd4dd-f34d-4f16-a06a-213eaff1a95a"
FEED = "feeds/interviews.xml"
STATE = "feeds/interviews.published.json"
WRITES = {"PutObject", "CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload"}
IMMUTABLE = "public, max-age=31536000, immutable"
SHORT = "public, max-age=300, must-revalidate"
CONTENT_TYPES = {
    ".mp3": "audio/mpeg",
    ".jpg": "image/jpeg",
    ".vtt": "text/vtt",
    ".srt": "application/x-subrip",
    ".json": "application/json",  # the JSON transcript; chapters: *.chapters.json below
    ".html": "text/html; charset=utf-8",
    ".xml": "application/rss+xml",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}
SITE = {"pod/index.html", "pod/sitemap.xml", "pod/episodes/welcome.html"}  # and two assets
CHAPTERS_TYPE = "application/json+chapters"


# -- the server and the instrumented clients ------------------------------------------------------


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    """A real HTTP S3 server on a free loopback port, for the whole module."""
    with moto_server() as endpoint:
        yield endpoint


@dataclass
class S3:
    """One test's bucket on the moto server, an admin client, and every request the
    dfl-audio clients made as ``(operation, key)`` in order."""

    endpoint: str
    bucket: str
    admin: S3Client
    ops: list[tuple[str, str | None]] = field(default_factory=list)

    def location(self, prefix: str = "pod", bucket: str | None = None) -> str:
        return f"s3://{bucket or self.bucket}/{prefix}"

    def public_url(self, prefix: str = "pod", bucket: str | None = None) -> str:
        return f"{self.endpoint}/{bucket or self.bucket}/{prefix}/"

    def options(self, prefix: str = "pod") -> list[str]:
        return ["--storage", self.location(prefix), "--public-url", self.public_url(prefix)]

    def keys(self, prefix: str = "pod/", bucket: str | None = None) -> list[str]:
        pages = self.admin.get_paginator("list_objects_v2").paginate(
            Bucket=bucket or self.bucket, Prefix=prefix
        )
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))

    def raw(self, key: str) -> bytes:
        """The object's bytes as stored (the site's files: gzip-encoded)."""
        data: bytes = self.admin.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        return data

    def body(self, key: str) -> bytes:
        """The content, as a client that decodes the Content-Encoding reads it."""
        response = self.admin.get_object(Bucket=self.bucket, Key=key)
        data: bytes = response["Body"].read()
        if response.get("ContentEncoding") == "gzip":
            return gzip.decompress(data)
        return data

    def exists(self, key: str) -> bool:
        return key in self.keys(key)

    def writes(self) -> list[tuple[str, str | None]]:
        return [op for op in self.ops if op[0] in WRITES]


def record_requests(client: S3Client, ops: list[tuple[str, str | None]]) -> None:
    """Append ``(operation, key)`` for every request, just before it is built."""

    def hook(params: dict[str, Any], model: Any, **_: Any) -> None:
        ops.append((model.name, params.get("Key")))

    client.meta.events.register("before-parameter-build.s3", hook)


def credentials_env(endpoint: str) -> dict[str, str]:
    """What a user exports: the endpoint and credentials boto3's default chain reads."""
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": ACCESS,
        "AWS_SECRET_ACCESS_KEY": SECRET,
        "AWS_DEFAULT_REGION": "us-east-1",
    }


@pytest.fixture
def s3(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> S3:
    """A fresh bucket, the AWS_* variables set, and every client dfl-audio makes recorded."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3", "AWS_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    for name in ("DFL_AUDIO_STORAGE", "DFL_AUDIO_PUBLIC_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in credentials_env(moto_endpoint).items():
        monkeypatch.setenv(name, value)
    admin = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    bucket = f"dfl-pub-{uuid.uuid4().hex[:10]}"
    admin.create_bucket(Bucket=bucket)
    made = S3(moto_endpoint, bucket, admin)
    real_make_client = dfl_audio.s3_client.make_client

    def instrumented(*args: Any, **kwargs: Any) -> S3Client:
        client = real_make_client(*args, **kwargs)
        record_requests(client, made.ops)
        return client

    monkeypatch.setattr(dfl_audio.s3, "make_client", instrumented)
    return made


def dfl(project: Project, *args: str) -> Result:
    """``dfl-audio --root <project> ARGS`` in-process, as a user types it."""
    return CliRunner().invoke(cli, ["--root", str(project.root), *args])


# -- helpers on feeds and projects ----------------------------------------------------------------


def feed_of(data: bytes, url: str = "http://feed.invalid/interviews.xml") -> dict[str, Any]:
    import io

    parsed: dict[str, Any] = podcastparser.parse(url, io.BytesIO(data))
    return parsed


def guids(data: bytes) -> list[str]:
    return [episode["guid"] for episode in feed_of(data)["episodes"]]


def linked_keys(data: bytes, public_url: str, prefix: str = "pod") -> set[str]:
    """Every object key the feed points to under the storage's public URL (but itself)."""
    root = etree.fromstring(data)
    urls = {value for element in root.iter() for value in element.attrib.values()}
    urls |= {element.text.strip() for element in root.iter() if element.text}
    keys = {
        f"{prefix}/{url.removeprefix(public_url)}" for url in urls if url.startswith(public_url)
    }
    return keys - {f"{prefix}/interviews.xml"}


def add_episode(project: Project, day: date, slug: str, guid: str, title: str) -> Path:
    """A copy of the sample episode with its own date, file name, GUID and title."""
    text = (REPO / SAMPLE_EPISODE).read_text(encoding="utf-8")
    assert "2026-11-20 09:00:00" in text and GUID in text and 'title: "Welcome to' in text
    text = (
        text.replace("2026-11-20 09:00:00", f"{day.isoformat()} 09:00:00")
        .replace(GUID, guid)
        .replace('title: "Welcome to the Depth First Learning Interviews"', f'title: "{title}"')
    )
    path = project.episodes_dir / f"{day.isoformat()}-{slug}.md"
    path.write_text(text, encoding="utf-8")
    return path


def copy_project(root: Path) -> Project:
    shutil.copytree(REPO / "episodes", root / "episodes")
    (root / "feeds").mkdir()
    return Project(root)


@pytest.fixture
def encode_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Episodes sharing one recording: probe, measure and encode it once for real and reuse
    the results (what a real run would compute again, byte for byte). Tags, hashing, uploads
    and the feed still happen per episode."""
    probes: dict[Path, audio.AudioProbe] = {}
    measurements: dict[Path, audio.Measurement] = {}
    encodes: dict[Path, tuple[bytes, audio.EncodeResult]] = {}
    real_probe, real_measure, real_encode = audio.probe, audio.measure, audio.normalize_to_mp3

    def probe(path: Path) -> audio.AudioProbe:
        if path not in probes:
            probes[path] = real_probe(path)
        return probes[path]

    def measure(
        path: Path, found: audio.AudioProbe, *args: Any, **kwargs: Any
    ) -> audio.Measurement:
        if path not in measurements:
            measurements[path] = real_measure(path, found, *args, **kwargs)
        return measurements[path]

    def encode(path: Path, dst: Path, *args: Any, **kwargs: Any) -> audio.EncodeResult:
        if path not in encodes:
            result = real_encode(path, dst, *args, **kwargs)
            encodes[path] = (dst.read_bytes(), result)
        data, result = encodes[path]
        dst.write_bytes(data)
        return replace(result, path=dst)

    monkeypatch.setattr(audio, "probe", probe)
    monkeypatch.setattr(audio, "measure", measure)
    monkeypatch.setattr(audio, "normalize_to_mp3", encode)


# -- publish --------------------------------------------------------------------------------------


def test_publish_stores_everything_with_headers_and_writes_the_feed_last(
    project: Project, s3: S3
) -> None:
    result = dfl(project, "publish", *s3.options())
    assert result.exit_code == 0, result.output
    assert f"feed updated: {project.root / FEED} ({s3.public_url()}interviews.xml)" in result.stdout

    keys = s3.keys()
    feed_bytes = s3.body("pod/interviews.xml")
    assert feed_bytes == (project.root / FEED).read_bytes()
    assert guids(feed_bytes) == [GUID]
    kinds = sorted(Path(key).suffix for key in keys)
    assert kinds == [
        *(".css", ".html", ".html", ".html", ".jpg", ".jpg", ".js"),
        *(".json", ".json", ".mp3", ".srt", ".vtt", ".xml", ".xml"),
    ], keys
    assert set(keys) >= SITE
    for key in keys:
        head = s3.admin.head_object(Bucket=s3.bucket, Key=key)
        if key.endswith(".chapters.json"):
            expected = CHAPTERS_TYPE
        elif key.endswith("sitemap.xml"):
            expected = "application/xml"
        else:
            expected = CONTENT_TYPES[Path(key).suffix]
        assert head["ContentType"] == expected, key
        short = key.endswith(".xml") or key in SITE  # the feed, pages and sitemap
        assert head["CacheControl"] == (SHORT if short else IMMUTABLE), key
        site = key in SITE or key.startswith("pod/assets/")  # travels gzipped; nothing else
        assert head.get("ContentEncoding") == ("gzip" if site else None), key
        if not key.endswith(".xml"):  # content-addressed media carry their verified SHA-256
            assert head["Metadata"]["sha256"] == hashlib.sha256(s3.raw(key)).hexdigest()

    episode = feed_of(feed_bytes)["episodes"][0]
    enclosure = episode["enclosures"][0]
    audio_key = "pod/" + enclosure["url"].removeprefix(s3.public_url())
    assert audio_key in keys and audio_key.startswith("pod/audio/welcome-")
    assert enclosure["file_size"] == len(s3.body(audio_key))
    assets = {key for key in keys if key.startswith("pod/assets/")}
    unlinked = {"pod/interviews.xml", "pod/sitemap.xml", *assets}  # the feed links the pages
    assert linked_keys(feed_bytes, s3.public_url()) == set(keys) - unlinked

    # Order: each linked object is PUT and verified (HEAD) before the one feed write, the last;
    # so are the site's files (the pages link the same objects).
    writes = s3.writes()
    assert writes[-1] == ("PutObject", "pod/interviews.xml")
    assert [op for op in writes if op[1] == "pod/interviews.xml"] == [writes[-1]]
    feed_at = s3.ops.index(("PutObject", "pod/interviews.xml"))
    for key in linked_keys(feed_bytes, s3.public_url()) | unlinked - {"pod/interviews.xml"}:
        put_at = s3.ops.index(("PutObject", key))
        assert put_at < s3.ops.index(("HeadObject", key), put_at) < feed_at, key


def test_republish_of_an_unchanged_episode_makes_zero_puts(project: Project, s3: S3) -> None:
    assert dfl(project, "publish", *s3.options()).exit_code == 0
    feed_before = s3.body("pod/interviews.xml")
    s3.ops.clear()
    result = dfl(project, "publish", *s3.options())
    assert result.exit_code == 0, result.output
    assert f"unchanged: {SAMPLE_EPISODE} — audio is current" in result.stdout
    assert "feed unchanged:" in result.stdout
    assert s3.writes() == [] and s3.ops  # it did talk to the server: read the feed
    assert sorted(op for op, _ in s3.ops) == ["GetObject", "ListObjectsV2"]  # one of each
    assert s3.body("pod/interviews.xml") == feed_before


def test_an_unchanged_feed_run_builds_nothing_and_a_lost_page_is_stored_again(
    project: Project, s3: S3, monkeypatch: pytest.MonkeyPatch
) -> None:
    """dfl_audio.run_memo on S3, where pages are stored gzip-encoded: the recorded objects
    are compared with the listing's ETags of the gzip bodies."""
    built: list[bool] = []
    real_run = dfl_audio.publish.run

    def recorded(*args: Any, **kwargs: Any) -> Any:
        result = real_run(*args, **kwargs)
        built.append(result.built)
        return result

    monkeypatch.setattr(dfl_audio.publish, "run", recorded)
    assert dfl(project, "publish", *s3.options()).exit_code == 0  # records what it built
    s3.ops.clear()
    assert dfl(project, "feed", *s3.options()).exit_code == 0
    assert built == [True, False]
    assert s3.writes() == []
    assert sorted(op for op, _ in s3.ops) == ["GetObject", "ListObjectsV2"]
    stored = s3.keys()
    page = next(key for key in stored if key.startswith("pod/episodes/"))
    s3.admin.delete_object(Bucket=s3.bucket, Key=page)
    result = dfl(project, "feed", *s3.options())
    assert result.exit_code == 0, result.output
    assert built[-1] is True and [key for _, key in s3.writes()] == [page]
    assert dfl(project, "feed", *s3.options()).exit_code == 0
    assert built[-1] is False


def _slow_enabled() -> bool:
    return os.environ.get("DFL_AUDIO_SLOW_TESTS") == "1"


@pytest.mark.parametrize(
    "encoding",
    [
        "once",
        pytest.param(
            "real",
            marks=[
                pytest.mark.slow,
                pytest.mark.skipif(
                    not _slow_enabled(),
                    reason="100 real encodes take about a minute: set DFL_AUDIO_SLOW_TESTS=1",
                ),
            ],
        ),
    ],
)
def test_republish_of_100_unchanged_episodes_makes_zero_puts(
    project: Project, s3: S3, encoding: str, request: pytest.FixtureRequest
) -> None:
    if encoding == "once":
        request.getfixturevalue("encode_once")
    (project.root / SAMPLE_EPISODE).unlink()
    for number in range(100):
        day = date(2026, 11, 20) - timedelta(days=number)
        guid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"dfl-test-episode-{number}"))
        add_episode(project, day, f"episode-{number:03d}", guid, f"Episode {number:03d}")

    started = time.perf_counter()
    first = dfl(project, "publish", *s3.options())
    publish_seconds = time.perf_counter() - started
    assert first.exit_code == 0, first.output
    assert first.stdout.count("published: ") == 100
    assert len(guids(s3.body("pod/interviews.xml"))) == 100
    puts = sum(op == "PutObject" for op, _ in s3.ops)
    # mp3, chapters, 4 transcripts, art and page each; show art; show page, sitemap, 2 assets;
    # the feed
    assert puts == 100 * 8 + 1 + 4 + 1

    s3.ops.clear()
    started = time.perf_counter()
    again = dfl(project, "publish", *s3.options())
    republish_seconds = time.perf_counter() - started
    assert again.exit_code == 0, again.output
    assert again.stdout.count("— audio is current") == 100
    assert "feed unchanged:" in again.stdout
    assert s3.writes() == []
    print(
        f"\n100 episodes ({encoding} encoding): first publish {publish_seconds:.2f} s "
        f"({puts} PUTs), re-publish {republish_seconds:.2f} s "
        f"({len(s3.ops)} requests, 0 writes)"
    )


# -- where the settings come from -----------------------------------------------------------------


def test_storage_and_public_url_come_from_the_environment_when_no_option(
    project: Project, s3: S3, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DFL_AUDIO_STORAGE", s3.location("from-env"))
    monkeypatch.setenv("DFL_AUDIO_PUBLIC_URL", s3.public_url("from-env"))
    result = dfl(project, "feed")
    assert result.exit_code == 0, result.output
    stored = s3.body("from-env/interviews.xml")
    assert stored == (project.root / FEED).read_bytes()
    assert feed_of(stored)["link"] == s3.public_url("from-env") + "index.html"  # show page
    assert f'href="{s3.public_url("from-env")}interviews.xml"' in stored.decode()
    assert s3.keys("pod/") == []


def test_an_option_beats_the_environment(
    tmp_path: Path, s3: S3, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DFL_AUDIO_STORAGE", s3.location("from-env"))
    monkeypatch.setenv("DFL_AUDIO_PUBLIC_URL", s3.public_url("from-env"))
    project = copy_project(tmp_path / "project")
    result = dfl(project, "feed", *s3.options("from-option"))
    assert result.exit_code == 0, result.output
    stored = s3.body("from-option/interviews.xml").decode()
    assert f'href="{s3.public_url("from-option")}interviews.xml"' in stored
    assert s3.public_url("from-env") not in stored
    assert s3.keys("from-env/") == []
    # Each option alone also wins over its own variable only.
    other = copy_project(tmp_path / "other")
    result = dfl(other, "feed", "--storage", s3.location("storage-option"))
    assert result.exit_code == 0, result.output
    stored = s3.body("storage-option/interviews.xml").decode()
    assert f'href="{s3.public_url("from-env")}interviews.xml"' in stored
    assert s3.keys("from-env/") == []


# -- failures -------------------------------------------------------------------------------------


def test_a_missing_bucket_fails_with_one_line_and_writes_no_feed(project: Project, s3: S3) -> None:
    missing = f"no-such-bucket-{uuid.uuid4().hex[:8]}"
    result = dfl(
        project,
        "publish",
        "--storage",
        s3.location(bucket=missing),
        "--public-url",
        s3.public_url(bucket=missing),
    )
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0] == (  # found by the first request, before any encode
        f"Error: Failed to list {missing}/pod/: the bucket {missing} does not exist "
        "(check the bucket name and endpoint)"
    )
    assert result.stdout == ""
    assert not (project.root / FEED).exists()
    assert not (project.root / STATE).exists()  # nothing was stored, so nothing is recorded
    for text in (result.stdout, result.stderr):
        assert SECRET not in text and ACCESS not in text


@pytest.fixture(scope="module")
def verbose_failure(moto_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """``dfl-audio --verbose publish`` to a missing bucket, in a real process (so the
    command's own logging setup decides what reaches the terminal): stdout + stderr."""
    root = tmp_path_factory.mktemp("verbose")
    shutil.copytree(REPO / "episodes", root / "episodes")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "DFL_AUDIO_"))
    }
    env |= credentials_env(moto_endpoint) | {"AWS_SESSION_TOKEN": TOKEN}
    location = "s3://no-such-bucket-verbose/pod"
    public = f"{moto_endpoint}/no-such-bucket-verbose/pod/"
    command = [sys.executable, "-m", "dfl_audio", "--root", str(root), "--verbose", "publish"]
    done = subprocess.run(
        [*command, "--storage", location, "--public-url", public],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr[-2000:]
    assert "Traceback (most recent call last)" in done.stderr
    assert done.stderr.splitlines()[-1].startswith("Error: Failed to list "), done.stderr[-2000:]
    assert not (root / FEED).exists()
    return done.stdout + done.stderr


def test_verbose_output_never_shows_the_secret_key(verbose_failure: str) -> None:
    # -v is on: botocore's INFO lines show (markdown-it's DEBUG lines no longer do)
    assert "StorageError" in verbose_failure and "INFO: Found credentials" in verbose_failure
    assert SECRET not in verbose_failure


def test_verbose_output_never_shows_the_access_key_id_or_session_token(
    verbose_failure: str,
) -> None:
    assert ACCESS not in verbose_failure
    assert TOKEN not in verbose_failure


# -- several publishers ---------------------------------------------------------------------------


def second_publisher(root: Path) -> tuple[Project, str]:
    """Another clone whose editor publishes a different episode (the sample is not in it)."""
    project = copy_project(root)
    (project.root / SAMPLE_EPISODE).unlink()
    guid = "5a3c9a8e-2f4b-4a8e-9a1f-3c2b1d0e9f77"
    add_episode(project, date(2026, 11, 21), "second-guest", guid, "A second guest")
    return project, guid


def test_two_publishers_to_one_bucket_keep_both_episodes(tmp_path: Path, s3: S3) -> None:
    first = copy_project(tmp_path / "a")
    second, other_guid = second_publisher(tmp_path / "b")
    assert dfl(first, "publish", *s3.options()).exit_code == 0
    result = dfl(second, "publish", *s3.options())
    assert result.exit_code == 0, result.output
    assert "added: A second guest" in result.stdout
    stored = s3.body("pod/interviews.xml")
    assert guids(stored) == [other_guid, GUID]  # newest first
    assert stored == (second.root / FEED).read_bytes()
    assert linked_keys(stored, s3.public_url()) <= set(s3.keys())

    again = dfl(first, "publish", *s3.options())  # the first clone never saw episode B
    assert again.exit_code == 0, again.output
    assert "removed:" not in again.stdout
    assert guids(s3.body("pod/interviews.xml")) == [other_guid, GUID]


def test_with_two_publishers_a_run_that_changes_nothing_writes_nothing(
    tmp_path: Path, s3: S3
) -> None:
    first = copy_project(tmp_path / "a")
    second, _ = second_publisher(tmp_path / "b")
    for publisher in (first, second, first):
        assert dfl(publisher, "publish", *s3.options()).exit_code == 0
    s3.ops.clear()
    for publisher in (second, first):
        result = dfl(publisher, "publish", *s3.options())
        assert result.exit_code == 0, result.output
        assert "feed unchanged:" in result.stdout
    assert s3.writes() == []


def rival_feed(stored: bytes, guid: str, title: str) -> bytes:
    """The stored feed plus one item a third publisher added (a copy of the newest item)."""
    root = etree.fromstring(stored)
    channel = root.find("channel")
    assert channel is not None
    item = copy.deepcopy(channel.find("item"))
    assert item is not None
    item.find("guid").text = guid  # type: ignore[union-attr]
    item.find("title").text = title  # type: ignore[union-attr]
    item.find("pubDate").text = "Sat, 21 Nov 2026 08:00:00 +0000"  # type: ignore[union-attr]
    channel.find("item").addprevious(item)  # type: ignore[union-attr]
    data: bytes = etree.tostring(root, encoding="UTF-8", xml_declaration=True)
    return data


def test_a_lost_race_on_the_feed_is_retried_and_merged(
    tmp_path: Path, s3: S3, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    first = copy_project(tmp_path / "a")
    second, other_guid = second_publisher(tmp_path / "b")
    assert dfl(first, "publish", *s3.options()).exit_code == 0
    real_put_conditional = S3Storage.put_conditional
    calls: list[str | None] = []

    def racing(self: S3Storage, key: str, data: bytes, *, expected_etag: str | None) -> str:
        """Just before our first feed write, a third publisher's feed write lands."""
        calls.append(expected_etag)
        if len(calls) == 1:
            got = self.get(key)
            assert got is not None and got[1] == expected_etag
            rival = rival_feed(got[0], "rival-guid", "The rival's episode")
            real_put_conditional(self, key, rival, expected_etag=got[1])
        return real_put_conditional(self, key, data, expected_etag=expected_etag)

    monkeypatch.setattr(S3Storage, "put_conditional", racing)
    with caplog.at_level("WARNING", logger="dfl_audio"):
        result = dfl(second, "publish", *s3.options())
    assert result.exit_code == 0, result.output
    assert len(calls) == 2 and calls[0] != calls[1]  # retried against the rival's ETag
    warning = "the stored feed changed while publishing (another publisher?); merging"
    assert warning in caplog.text
    assert "added: A second guest" in result.stdout and "removed:" not in result.stdout
    stored = s3.body("pod/interviews.xml")
    assert guids(stored) == [other_guid, "rival-guid", GUID]  # newest first, by pubDate
    assert stored == (second.root / FEED).read_bytes()


# -- unpublish ------------------------------------------------------------------------------------


def test_unpublish_writes_the_feed_before_deleting_the_files(project: Project, s3: S3) -> None:
    assert dfl(project, "publish", *s3.options()).exit_code == 0
    before = s3.keys()
    episode_keys = linked_keys(s3.body("pod/interviews.xml"), s3.public_url())
    show_art = {key for key in before if key.startswith("pod/art/show-")}
    assert len(show_art) == 1
    s3.ops.clear()

    episode = str(project.root / SAMPLE_EPISODE)
    result = dfl(project, "unpublish", episode, "--delete-audio", *s3.options())
    assert result.exit_code == 0, result.output
    assert "removed: Welcome to the Depth First Learning Interviews" in result.stdout
    stored = s3.body("pod/interviews.xml")
    assert guids(stored) == [] and GUID not in stored.decode()
    assert stored == (project.root / FEED).read_bytes()
    site = {key for key in before if key.startswith("pod/assets/")}
    site |= {"pod/index.html", "pod/sitemap.xml"}  # the show's site stays, its page goes
    assert s3.keys() == sorted({"pod/interviews.xml"} | show_art | site)
    assert b"welcome.html" not in s3.body("pod/index.html")

    feed_at = s3.ops.index(("PutObject", "pod/interviews.xml"))
    assert s3.ops.index(("PutObject", "pod/index.html")) < feed_at  # the show page without it
    deleted = [(at, key) for at, (op, key) in enumerate(s3.ops) if op == "DeleteObject"]
    assert {key for _, key in deleted} == episode_keys - show_art - {"pod/index.html"}
    assert "pod/episodes/welcome.html" in {key for _, key in deleted}
    assert all(at > feed_at for at, _ in deleted)


# -- bugs found -----------------------------------------------------------------------------------


def test_switching_storage_uploads_everything_the_new_feed_points_to(
    project: Project, s3: S3
) -> None:
    assert dfl(project, "publish").exit_code == 0  # show.yaml: the local folder storage/
    result = dfl(project, "publish", *s3.options())
    assert result.exit_code == 0, result.output
    stored = s3.body("pod/interviews.xml")
    missing = linked_keys(stored, s3.public_url()) - set(s3.keys())
    assert missing == set(), f"the feed points to objects never uploaded: {sorted(missing)}"


def test_doctor_reports_a_private_bucket_and_what_to_fix(project: Project, s3: S3) -> None:
    result = dfl(
        project,
        "doctor",
        "--storage",
        f"s3://{s3.bucket}/pod",
        "--public-url",
        f"{s3.endpoint}/{s3.bucket}/pod/",
    )
    lines = result.stdout.splitlines()
    assert result.exit_code == 1
    assert lines[0].startswith("ok   ffmpeg: ")
    assert lines[1].startswith("ok   storage writable: wrote dfl-audio-doctor/")
    assert lines[2].startswith(f"FAIL public GET: {s3.endpoint}/{s3.bucket}/pod/dfl-audio-doctor/")
    assert "answered 403: allow anonymous s3:GetObject with a bucket policy" in lines[2]
    assert result.stderr == "Error: some checks failed\n"
    # the probe object is cleaned up
    listed = s3.admin.list_objects_v2(Bucket=s3.bucket).get("Contents", [])
    assert [o["Key"] for o in listed if "doctor" in o["Key"]] == []


@pytest.mark.parametrize("damage", ["deleted", "replaced with the same size"])
def test_audio_lost_or_altered_in_the_bucket_is_published_again(
    project: Project, s3: S3, damage: str
) -> None:
    """One LIST per run compares every recorded object with the bucket (size and ETag)."""
    assert dfl(project, "publish", *s3.options()).exit_code == 0
    (record,) = json.loads((project.root / STATE).read_text())["episodes"].values()
    key = "pod/" + record["audio_key"]
    if damage == "deleted":
        s3.admin.delete_object(Bucket=s3.bucket, Key=key)
    else:
        s3.admin.put_object(Bucket=s3.bucket, Key=key, Body=b"\0" * record["audio_bytes"])
    s3.ops.clear()
    result = dfl(project, "publish", *s3.options())
    assert result.exit_code == 0, result.output
    assert f"published: {SAMPLE_EPISODE} — its audio {record['audio_key']} " in result.stdout
    assert ("PutObject", key) in s3.writes() or ("CreateMultipartUpload", key) in s3.writes()
    body = s3.body(key)
    assert hashlib.sha256(body).hexdigest() == record["audio_sha256"]  # the same MP3 again
    s3.ops.clear()
    result = dfl(project, "publish", *s3.options())
    assert f"unchanged: {SAMPLE_EPISODE} — audio is current" in result.stdout
    assert s3.writes() == []


def test_gc_deletes_superseded_objects_from_the_bucket_and_nothing_else(
    project: Project, s3: S3
) -> None:
    assert dfl(project, "publish", *s3.options()).exit_code == 0
    s3.admin.put_object(Bucket=s3.bucket, Key="pod/audio/someone-else.mp3", Body=b"theirs")
    (record,) = json.loads((project.root / STATE).read_text())["episodes"].values()
    old = "pod/" + record["chapters_key"]
    path = project.root / SAMPLE_EPISODE
    path.write_text(path.read_text().replace("title: Welcome\n", "title: Hello again\n", 1))
    assert dfl(project, "feed", *s3.options()).exit_code == 0
    assert s3.exists(old)  # superseded, but within the grace: apps may still fetch it
    result = dfl(project, "gc", "--grace-days", "0", *s3.options())
    assert result.exit_code == 0, result.output
    assert result.stdout.endswith("2 superseded files deleted\n")  # re-tagged MP3, chapters
    assert not s3.exists(old)
    assert s3.exists("pod/audio/someone-else.mp3")


def test_a_title_edit_retags_the_object_in_the_bucket(project: Project, s3: S3) -> None:
    """The MP3 listeners download says what the feed says: re-tagged, not re-encoded."""
    from io import BytesIO

    from mutagen.id3 import ID3

    assert dfl(project, "publish", *s3.options()).exit_code == 0
    path = project.root / SAMPLE_EPISODE
    path.write_text(path.read_text().replace('title: "Welcome to', 'title: "Edited:', 1))
    result = dfl(project, "feed", *s3.options())
    assert result.exit_code == 0, result.output
    assert f"re-tagged: {SAMPLE_EPISODE} — the metadata in its ID3 tags changed" in result.stdout
    (record,) = json.loads((project.root / STATE).read_text())["episodes"].values()
    body = s3.body("pod/" + record["audio_key"])
    assert hashlib.sha256(body).hexdigest() == record["audio_sha256"]
    assert str(ID3(BytesIO(body))["TIT2"]).startswith("Edited:")
    s3.ops.clear()
    result = dfl(project, "publish", *s3.options())
    assert f"unchanged: {SAMPLE_EPISODE} — audio is current" in result.stdout
    assert s3.writes() == []


# -- the show's website ---------------------------------------------------------------------------


def test_site_in_the_bucket_links_the_bucket_and_a_note_edit_rewrites_one_page_then_the_feed(
    project: Project, s3: S3
) -> None:
    from bs4 import BeautifulSoup

    assert dfl(project, "publish", *s3.options()).exit_code == 0
    feed = feed_of(s3.body("pod/interviews.xml"))
    page_url = s3.public_url() + "episodes/welcome.html"
    assert feed["link"] == s3.public_url() + "index.html"
    assert feed["episodes"][0]["link"] == page_url
    page = BeautifulSoup(s3.body("pod/episodes/welcome.html"), "lxml")
    audio = page.select_one("section.player audio#player-audio")
    assert audio is not None
    assert audio["src"] == feed["episodes"][0]["enclosures"][0]["url"]
    canonical = page.select_one("link[rel=canonical]")
    assert canonical is not None and canonical["href"] == page_url
    show_page = BeautifulSoup(s3.body("pod/index.html"), "lxml")
    assert [a["href"] for a in show_page.select("li.episode-summary a")] == [
        "episodes/welcome.html"
    ]

    s3.ops.clear()
    edit(project.root / SAMPLE_EPISODE, "This trailer is made by", "This short trailer is made by")
    result = dfl(project, "feed", *s3.options())
    assert result.exit_code == 0, result.output
    writes = [key for _, key in s3.writes()]
    assert writes[-2:] == ["pod/episodes/welcome.html", "pod/interviews.xml"]
    assert [key for key in writes if "welcome" not in key] == ["pod/interviews.xml"]  # the
    # re-tagged MP3 and the page, then the feed; the show page's summary did not change
    assert b"This short trailer" in s3.body("pod/episodes/welcome.html")


def test_the_site_travels_gzipped_and_clients_read_the_pages_as_reviewed(
    project: Project, s3: S3
) -> None:
    """Pages, sitemap and assets are stored gzip-encoded (Content-Encoding: gzip), byte for
    byte the deterministic gzip of the review copy; a client that decodes (urllib by hand,
    requests by itself) reads the review copy. The feed and the transcripts stay plain."""
    import requests

    assert dfl(project, "publish", *s3.options()).exit_code == 0
    make_public(s3.admin, s3.bucket)
    keys = s3.keys()
    site = sorted(SITE | {key for key in keys if key.startswith("pod/assets/")})
    assert len(site) == 5
    for key in site:
        review = (project.site_dir / key.removeprefix("pod/")).read_bytes()
        url = s3.public_url() + key.removeprefix("pod/")
        status, body, headers = http_get(url, {"Accept-Encoding": "gzip"})
        assert status == 200, url
        assert headers["Content-Encoding"] == "gzip", url
        stored_type = s3.admin.head_object(Bucket=s3.bucket, Key=key)["ContentType"]
        assert headers["Content-Type"] == stored_type, url
        assert body == gzip_bytes(review)  # mtime 0, fixed level: the same bytes every run
        assert gzip.decompress(body) == review
        assert len(body) < len(review)
        decoded = requests.get(url, timeout=10)
        assert decoded.status_code == 200 and decoded.content == review, url
    plain = [key for key in keys if key not in site]
    assert "pod/interviews.xml" in plain and any(k.endswith(".html") for k in plain)  # transcript
    for key in plain:
        status, body, headers = http_get(s3.public_url() + key.removeprefix("pod/"))
        assert status == 200 and "Content-Encoding" not in headers, key
        assert body == s3.raw(key)
    assert s3.body("pod/interviews.xml") == (project.root / FEED).read_bytes()
    for key in site:  # the review copy (feeds/site/) is the site plain, for git diff
        assert not (project.site_dir / key.removeprefix("pod/")).read_bytes().startswith(b"\x1f")
    assert (project.site_dir / "index.html").read_bytes().startswith(b"<!DOCTYPE html>")


def test_unchanged_gzipped_site_makes_zero_puts_even_without_the_gzip_memo(
    project: Project, s3: S3
) -> None:
    """The stored gzip bodies are recognised from the listing alone: with the remembered
    digests, and after .dfl-audio/ is lost (every page compressed again, to the same bytes)."""
    assert dfl(project, "publish", *s3.options()).exit_code == 0
    memo = project.root / ".dfl-audio" / "site-gzip.json"
    assert memo.is_file()
    for remove in (False, True):
        if remove:  # with the record of the last run (run.json), or that run builds nothing
            memo.unlink()
            (project.root / ".dfl-audio" / "run.json").unlink()
        s3.ops.clear()
        result = dfl(project, "feed", *s3.options())
        assert result.exit_code == 0, result.output
        assert s3.writes() == [], (remove, s3.writes())
    assert memo.is_file()  # remembered again


def test_a_site_stored_plain_by_an_older_version_is_stored_gzipped_once(
    project: Project, s3: S3
) -> None:
    """Objects written before the site travelled gzipped are replaced by their gzip form on
    the next run (the listing shows other bytes), then left alone."""
    assert dfl(project, "publish", *s3.options()).exit_code == 0
    storage = S3Storage(s3.admin, s3.bucket, "pod")
    for key in SITE:
        storage.put_bytes(key.removeprefix("pod/"), s3.body(key))  # plain: no Content-Encoding
    for key in SITE:
        assert "ContentEncoding" not in s3.admin.head_object(Bucket=s3.bucket, Key=key)
    s3.ops.clear()
    assert dfl(project, "feed", *s3.options()).exit_code == 0
    assert {key for _, key in s3.writes()} == SITE
    for key in SITE:
        assert s3.admin.head_object(Bucket=s3.bucket, Key=key)["ContentEncoding"] == "gzip"
    s3.ops.clear()
    assert dfl(project, "feed", *s3.options()).exit_code == 0
    assert s3.writes() == []
