"""The site's gzip: deterministic bytes (so an unchanged page is never written again), the
storages that keep a Content-Encoding and the one that cannot, and the memo of gzip digests."""

from __future__ import annotations

import gzip
import hashlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws
from s3_helpers import count_calls

from dfl_audio.compression import GZIP, gunzip_bytes, gzip_bytes, travels_compressed
from dfl_audio.errors import StorageError
from dfl_audio.s3 import S3Storage
from dfl_audio.site.gzip_digests import GzipDigests
from dfl_audio.storage import LocalStorage

PAGE = "<li class=cue>Ünïcode and a transcript line</li>\n".encode() * 200
BUCKET = "dfl-gzip"


def test_gzip_bytes_are_the_same_in_another_process_at_another_time() -> None:
    """No time and no file name in the header: another run, later, makes the same bytes."""
    code = "import sys; from dfl_audio.compression import gzip_bytes; "
    code += "sys.stdout.buffer.write(gzip_bytes(sys.stdin.buffer.read()))"
    other = subprocess.run(
        [sys.executable, "-c", code], input=PAGE, capture_output=True, check=True
    ).stdout
    packed = gzip_bytes(PAGE)
    assert packed == other
    assert packed[:4] == b"\x1f\x8b\x08\x00"  # gzip, deflate, no flags: no name, no comment
    assert packed[4:8] == b"\0\0\0\0"  # MTIME 0
    assert packed[8] == 2  # XFL: maximum compression (the fixed level 9)
    assert gzip.decompress(packed) == gunzip_bytes(packed) == PAGE
    assert len(packed) < len(PAGE) / 10


@pytest.mark.parametrize(
    ("key", "compressed"),
    [
        ("index.html", True),
        ("episodes/welcome.html", True),
        ("sitemap.xml", True),
        ("assets/player-0123456789ab.js", True),
        ("assets/player-0123456789ab.css", True),
        ("interviews.xml", False),  # the feed: podcast apps
        ("audio/welcome-0123456789ab.html", False),  # the HTML transcript
        ("audio/welcome-0123456789ab.vtt", False),
        ("audio/welcome-0123456789ab.mp3", False),
        ("art/show-0123456789ab.jpg", False),
        ("episodes/nested/page.txt", False),
    ],
)
def test_which_keys_travel_gzipped(key: str, compressed: bool) -> None:
    assert travels_compressed(key) is compressed


def test_a_folder_refuses_a_content_encoding_it_could_not_keep(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "storage")
    assert storage.keeps_content_encoding is False
    with pytest.raises(StorageError, match="a folder cannot keep a Content-Encoding"):
        storage.put_bytes("index.html", gzip_bytes(PAGE), content_encoding=GZIP)
    assert not (tmp_path / "storage" / "index.html").exists()


@pytest.fixture
def s3_storage(monkeypatch: pytest.MonkeyPatch) -> Iterator[S3Storage]:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield S3Storage(client, BUCKET, "pod")


def test_s3_keeps_the_encoding_and_skips_the_same_gzip_body(s3_storage: S3Storage) -> None:
    assert s3_storage.keeps_content_encoding is True
    body = gzip_bytes(PAGE)
    stored, written = s3_storage.put_bytes("episodes/ep.html", body, content_encoding=GZIP)
    assert written and stored.size == len(body)
    assert stored.sha256 == hashlib.sha256(body).hexdigest()
    head = s3_storage.client.head_object(Bucket=BUCKET, Key="pod/episodes/ep.html")
    assert head["ContentEncoding"] == "gzip"
    assert head["ContentType"] == "text/html; charset=utf-8"
    assert head["ETag"].strip('"') == hashlib.md5(body).hexdigest()
    calls = count_calls(s3_storage.client)
    again = s3_storage.put_bytes("episodes/ep.html", gzip_bytes(PAGE), content_encoding=GZIP)
    assert again == (stored, False)
    assert calls["PutObject"] == 0
    plain, _ = s3_storage.put_bytes("chapters/ep.json", b"{}")  # nothing else is encoded
    head = s3_storage.client.head_object(Bucket=BUCKET, Key="pod/chapters/ep.json")
    assert "ContentEncoding" not in head and plain.size == 2


def test_gzip_digests_are_remembered_by_content_and_zlib(tmp_path: Path) -> None:
    path = tmp_path / "site-gzip.json"
    sha = hashlib.sha256(PAGE).hexdigest()
    memo = GzipDigests(path)
    packed = memo.packed(PAGE, sha)
    body = gzip_bytes(PAGE)
    assert (packed.size, packed.md5) == (len(body), hashlib.md5(body).hexdigest())
    assert packed.sha256 == hashlib.sha256(body).hexdigest()
    memo.save()
    again = GzipDigests(path)
    assert again.entries[sha] == [packed.size, packed.md5, packed.sha256]
    assert again.packed(b"not even the page: the memo answers by digest", sha) == packed
    document = json.loads(path.read_bytes())  # another zlib (or level): nothing is trusted
    document["entries"]["settings"] = "gzip-9-zlib-0.0"
    path.write_text(json.dumps(document))
    assert sha not in GzipDigests(path).entries
    assert GzipDigests(None).packed(PAGE, sha) == packed  # in memory only
