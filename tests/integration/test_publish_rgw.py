"""The whole pipeline against a real Ceph RADOS Gateway: publish through the CLI, then fetch
the feed and the audio anonymously over plain HTTP as a podcast app does; re-publish with zero
writes; a wrong secret; and radosgw killed in the middle of an episode's multipart upload.

Run: ``bash scripts/ci_s3.sh`` (starts and stops the server). The fault test restarts radosgw
and runs last in this module (see the stall notes in conftest.py).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import podcastparser
import pytest
from click.testing import CliRunner, Result
from lxml import etree
from project_fixtures import project
from s3_helpers import WRITES, count_calls, http_get, kill_after_first_part, make_public

from dfl_audio.cli import cli
from dfl_audio.config import Overrides, effective_show
from dfl_audio.episodes import Project, read_show
from dfl_audio.errors import StorageError
from dfl_audio.models.show import Show, StorageSettings
from dfl_audio.publish import RunOptions, run
from dfl_audio.s3 import S3Storage
from dfl_audio.s3_client import make_client

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

pytestmark = pytest.mark.integration
__all__ = ["project"]

REPO = Path(__file__).resolve().parents[2]
SAMPLE_EPISODE = "episodes/2026-11-20-welcome.md"
GUID = "190bd4dd-f34d-4f16-a06a-213eaff1a95a"
FEED = "feeds/interviews.xml"
STATE = "feeds/interviews.published.json"
IMMUTABLE = "public, max-age=31536000, immutable"
SHORT = "public, max-age=300, must-revalidate"


def endpoint() -> str:
    return os.environ["AWS_ENDPOINT_URL"].rstrip("/")


def public_url(bucket: str, prefix: str) -> str:
    return f"{endpoint()}/{bucket}/{prefix}/"


def dfl(project: Project, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--root", str(project.root), *args])


def show_for(project: Project, bucket: str, prefix: str) -> Show:
    """The show as the CLI would resolve it with --storage and --public-url."""
    show = read_show(project).item
    assert show is not None
    overrides = Overrides(f"s3://{bucket}/{prefix}", public_url(bucket, prefix))
    return effective_show(show, overrides)


def keys_in(client: S3Client, bucket: str) -> list[str]:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return sorted(item["Key"] for page in pages for item in page.get("Contents", []))


def stored_urls(feed: bytes, base: str) -> set[str]:
    """Every URL in the feed under the storage's public URL, but the feed's own."""
    root = etree.fromstring(feed)
    found = {value for element in root.iter() for value in element.attrib.values()}
    found |= {element.text.strip() for element in root.iter() if element.text}
    return {url for url in found if url.startswith(base) and not url.endswith(".xml")}


def test_published_feed_and_audio_are_served_anonymously_and_re_publish_writes_nothing(
    project: Project, s3_bucket: tuple[S3Client, str]
) -> None:
    admin, bucket = s3_bucket
    make_public(admin, bucket)
    base = public_url(bucket, "pod")
    result = dfl(project, "publish", "--storage", f"s3://{bucket}/pod", "--public-url", base)
    assert result.exit_code == 0, result.output

    status, feed_bytes, headers = http_get(base + "interviews.xml")
    assert status == 200 and feed_bytes == (project.root / FEED).read_bytes()
    assert headers["Content-Type"] == "application/rss+xml"
    assert headers["Cache-Control"] == SHORT
    feed = podcastparser.parse(base + "interviews.xml", io.BytesIO(feed_bytes))
    assert [episode["guid"] for episode in feed["episodes"]] == [GUID]
    enclosure = feed["episodes"][0]["enclosures"][0]
    assert enclosure["url"].startswith(base + "audio/welcome-")

    status, mp3, headers = http_get(enclosure["url"])
    assert status == 200 and headers["Content-Type"] == "audio/mpeg"
    assert headers["Cache-Control"] == IMMUTABLE
    key = "pod/" + enclosure["url"].removeprefix(base)
    assert mp3 == admin.get_object(Bucket=bucket, Key=key)["Body"].read()
    record = json.loads((project.root / STATE).read_text())["episodes"][GUID]
    assert hashlib.sha256(mp3).hexdigest() == record["audio_sha256"]
    assert len(mp3) == enclosure["file_size"] == record["audio_bytes"]
    status, part, headers = http_get(enclosure["url"], {"Range": "bytes=1000-2999"})
    assert status == 206 and part == mp3[1000:3000]
    assert headers["Content-Range"] == f"bytes 1000-2999/{len(mp3)}"
    linked = stored_urls(feed_bytes, base)
    # audio, chapters, four transcripts (VTT, SRT, JSON, HTML), episode art, show art, and the
    # site: the show page (the channel's link) and the episode page (the item's link)
    assert len(linked) == 10, sorted(linked)
    assert {base + "index.html", base + "episodes/welcome.html"} <= linked
    for url in linked:
        assert http_get(url)[0] == 200, url
    for key in ("index.html", "episodes/welcome.html", "sitemap.xml"):  # the site travels gzipped
        status, body, headers = http_get(base + key, {"Accept-Encoding": "gzip"})
        assert status == 200 and headers["Content-Encoding"] == "gzip", key
        assert gzip.decompress(body) == (project.root / "feeds/site" / key).read_bytes(), key
    _, _, feed_headers = http_get(base + "interviews.xml", {"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in feed_headers  # podcast apps get the feed as it is

    client = make_client(StorageSettings(addressing_style="path"))
    calls = count_calls(client)
    again = run(
        project,
        S3Storage(client, bucket, "pod"),
        RunOptions(),
        show=show_for(project, bucket, "pod"),
    )
    assert [plan.action for plan in again.plans] == ["current"] and not again.feed_changed
    assert sum(calls[name] for name in WRITES) == 0 and calls["GetObject"] == 1
    assert http_get(base + "interviews.xml")[1] == feed_bytes


def test_a_wrong_secret_is_a_clear_error_that_never_shows_the_secret(
    project: Project, s3_bucket: tuple[S3Client, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, bucket = s3_bucket
    real = os.environ["AWS_SECRET_ACCESS_KEY"]
    wrong = "wrong-" + real + "-Xy7Qp"
    options = ["--storage", f"s3://{bucket}/pod", "--public-url", public_url(bucket, "pod")]
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", wrong)
    result = dfl(project, "publish", *options)
    assert result.exit_code == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"Error: Failed to list {bucket}/pod/: ")  # before any encode
    assert line.endswith(
        ": the server rejected the request signature: the secret access key is wrong "
        "for this access key id (SignatureDoesNotMatch)"
    )
    assert not (project.root / FEED).exists()

    command = [sys.executable, "-m", "dfl_audio", "--root", str(project.root), "--verbose"]
    done = subprocess.run(
        [*command, "publish", *options], capture_output=True, text=True, timeout=120
    )
    output = done.stdout + done.stderr
    assert done.returncode == 1
    assert "Traceback (most recent call last)" in done.stderr
    assert done.stderr.splitlines()[-1] == line  # the same message
    for text in (result.output, output):
        assert wrong not in text and real not in text
    assert os.environ["AWS_ACCESS_KEY_ID"] not in result.output


def higher_bitrate(project: Project) -> None:
    """320 kbps, so a short generated source makes an MP3 above the multipart threshold."""
    show_yaml = project.episodes_dir / "show.yaml"
    text = show_yaml.read_text(encoding="utf-8")
    assert "bitrate: 96 " in text
    show_yaml.write_text(text.replace("bitrate: 96 ", "bitrate: 320"), encoding="utf-8")


def add_long_episode(project: Project) -> None:
    """An episode whose MP3 (~6.5 MiB: 170 s of pink noise at 320 kbps) is a two-part
    upload with the fault storage's 5 MiB parts."""
    source = project.episodes_dir / "audio/long.wav"
    noise = "anoisesrc=d=170:c=pink:r=44100:a=0.2"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", noise, "-ac", "1", str(source)],
        check=True,
        timeout=60,
    )
    sample = (project.root / SAMPLE_EPISODE).read_text(encoding="utf-8")
    episode = (
        sample.replace("2026-11-20 09:00:00", "2026-11-21 09:00:00")
        .replace(GUID, "2f1b8c7e-long-episode")
        .replace("episodes/audio/sample-clip.mp3", "episodes/audio/long.wav")
        .replace('title: "Welcome to the Depth First Learning Interviews"', 'title: "Long"')
    )
    (project.episodes_dir / "2026-11-21-long.md").write_text(episode, encoding="utf-8")


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (the feed, the state, the site's review copy) by path."""
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def test_radosgw_killed_mid_upload_leaves_the_feed_and_a_re_run_completes(
    project: Project,
    s3_fault_bucket: tuple[S3Client, str],
    s3_fault_storage: S3Storage,
    s3_rgw_ctl: Callable[[str], None],
) -> None:
    admin, bucket = s3_fault_bucket
    storage = s3_fault_storage
    higher_bitrate(project)
    show = show_for(project, bucket, storage.prefix)
    first = run(project, storage, RunOptions(), show=show)  # a feed exists before the fault
    assert [plan.action for plan in first.plans] == ["encode"]
    feed_before = admin.get_object(Bucket=bucket, Key="podcast/interviews.xml")["Body"].read()
    add_long_episode(project)
    local_before = snapshot(project.root / "feeds")
    keys_before = keys_in(admin, bucket)

    killed = kill_after_first_part(storage.client, s3_rgw_ctl)
    with pytest.raises(StorageError) as failure:
        run(project, storage, RunOptions(), show=show)
    assert killed.is_set()
    message = str(failure.value)
    assert (
        message.startswith("Failed to upload ") and f" to {bucket}/podcast/audio/long-" in message
    )
    s3_rgw_ctl("start")

    assert admin.get_object(Bucket=bucket, Key="podcast/interviews.xml")["Body"].read() == (
        feed_before
    )
    assert snapshot(project.root / "feeds") == local_before
    assert keys_in(admin, bucket) == keys_before  # the half-uploaded MP3 is not an object
    assert len(admin.list_multipart_uploads(Bucket=bucket).get("Uploads", [])) == 1

    again = run(project, storage, RunOptions(), show=show)  # the re-run
    assert [plan.action for plan in again.plans] == ["current", "encode"]
    assert [entry.title for entry in again.diff.added] == ["Long"]
    record = again.published[0]
    head = admin.head_object(Bucket=bucket, Key=f"podcast/{record.audio_key}")
    assert head["ContentLength"] == record.audio_bytes > 5 * (1 << 20)
    assert str(head["ETag"]).strip('"').endswith("-2")  # a real multipart object
    stored_feed = admin.get_object(Bucket=bucket, Key="podcast/interviews.xml")["Body"].read()
    assert stored_feed == (project.root / FEED).read_bytes()
    parsed = podcastparser.parse(show.feed_url, io.BytesIO(stored_feed))
    assert [episode["guid"] for episode in parsed["episodes"]] == ["2f1b8c7e-long-episode", GUID]

    state = json.loads((project.root / STATE).read_text())
    expected = {"podcast/interviews.xml", f"podcast/{state['show_artwork_key']}"}
    for entry in state["episodes"].values():
        for name in ("audio_key", "chapters_key", "artwork_key"):
            expected.add(f"podcast/{entry[name]}")
        expected |= {f"podcast/{stored['key']}" for stored in entry["transcripts"]}
    site = {"index.html", "sitemap.xml", "episodes/welcome.html", "episodes/long.html"}
    expected |= {f"podcast/{key}" for key in (*site, *state["site_assets"])}
    assert keys_in(admin, bucket) == sorted(expected)
    # mp3, chapters, 4 transcripts, art per episode; show art, feed; 2 pages, sitemap, JS, CSS
    assert len(expected) == 2 + 2 * 7 + 6
    assert admin.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
