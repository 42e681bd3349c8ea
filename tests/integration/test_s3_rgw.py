"""S3Storage against a real Ceph RADOS Gateway: SigV4, public reads over plain HTTP, conditional
writes, and radosgw killed in the middle of a multipart upload.

Run: ``bash scripts/ci_s3.sh`` (starts and stops the server), or with a server already up
``.venv/bin/python -m pytest tests/integration -m integration``.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from s3_helpers import WRITES, count_calls, http_get, kill_after_first_part, make_public

from dfl_audio.errors import ConflictError, StorageError
from dfl_audio.mediatypes import FEED, IMMUTABLE
from dfl_audio.models.show import StorageSettings
from dfl_audio.s3 import S3Storage
from dfl_audio.s3_client import make_client

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

pytestmark = pytest.mark.integration

MiB = 1 << 20


def make_file(path: Path, size: int) -> tuple[Path, str]:
    data = os.urandom(size)
    path.write_bytes(data)
    return path, hashlib.sha256(data).hexdigest()


def test_put_verify_and_zero_puts_on_re_put(s3_rgw_storage: S3Storage, tmp_path: Path):
    path, sha = make_file(tmp_path / "long.mp3", 12 * MiB)
    obj, uploaded = s3_rgw_storage.put_file("audio/long.mp3", path, sha256=sha)
    small, small_uploaded = s3_rgw_storage.put_bytes("chapters/long.json", b'{"chapters": []}')
    assert uploaded and small_uploaded
    assert obj.sha256 == sha and obj.size == 12 * MiB and obj.etag and obj.etag.endswith("-3")
    assert small.etag == hashlib.md5(b'{"chapters": []}').hexdigest()
    calls = count_calls(s3_rgw_storage.client)
    assert s3_rgw_storage.put_file("audio/long.mp3", path, sha256=sha) == (obj, False)
    assert s3_rgw_storage.put_bytes("chapters/long.json", b'{"chapters": []}') == (small, False)
    assert sum(calls[name] for name in WRITES) == 0
    assert s3_rgw_storage.list_keys() == ["audio/long.mp3", "chapters/long.json"]


def test_public_read_over_plain_http_with_ranges(s3_rgw_storage: S3Storage, tmp_path: Path):
    client, bucket = s3_rgw_storage.client, s3_rgw_storage.bucket
    path, sha = make_file(tmp_path / "ep.mp3", 7 * MiB)
    s3_rgw_storage.put_file("audio/ep.mp3", path, sha256=sha)
    s3_rgw_storage.put_bytes("feed.xml", b"<rss/>")
    url = f"{s3_rgw_storage.endpoint_url}/{bucket}/podcast/audio/ep.mp3"
    assert http_get(url)[0] == 403  # private until the bucket policy says otherwise
    make_public(client, bucket)
    status, body, headers = http_get(url)
    assert status == 200 and hashlib.sha256(body).hexdigest() == sha
    assert headers["Content-Type"] == "audio/mpeg" and headers["Cache-Control"] == IMMUTABLE
    status, part, headers = http_get(url, {"Range": "bytes=1000-2999"})
    assert status == 206 and part == path.read_bytes()[1000:3000]
    assert headers["Content-Range"] == f"bytes 1000-2999/{7 * MiB}"
    feed = http_get(f"{s3_rgw_storage.endpoint_url}/{bucket}/podcast/feed.xml")
    assert feed[0] == 200 and feed[2]["Cache-Control"] == FEED


def test_wrong_secret_is_a_clear_auth_error(
    s3_bucket: tuple[S3Client, str], monkeypatch: pytest.MonkeyPatch
):
    _, bucket = s3_bucket
    wrong = "not-the-" + os.environ["AWS_SECRET_ACCESS_KEY"]
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", wrong)
    client = make_client(StorageSettings(addressing_style="path"), max_attempts=1)
    with pytest.raises(StorageError) as failure:
        S3Storage(client, bucket, "podcast").put_bytes("feed.xml", b"<rss/>")
    message = str(failure.value)
    assert message.startswith(f"Failed to upload 6 bytes to {bucket}/podcast/feed.xml: ")
    assert "the secret access key is wrong" in message
    assert wrong not in message and os.environ["AWS_ACCESS_KEY_ID"] not in message


def test_conditional_writes_are_enforced_by_rgw(s3_rgw_storage: S3Storage):
    assert s3_rgw_storage.probe_conditional_writes() is True
    first = s3_rgw_storage.put_conditional("feed.xml", b"<rss>1</rss>", expected_etag=None)
    with pytest.raises(ConflictError):
        s3_rgw_storage.put_conditional("feed.xml", b"<rss>x</rss>", expected_etag=None)
    second = s3_rgw_storage.put_conditional("feed.xml", b"<rss>2</rss>", expected_etag=first)
    with pytest.raises(ConflictError, match="changed meanwhile"):
        s3_rgw_storage.put_conditional("feed.xml", b"<rss>3</rss>", expected_etag=first)
    assert s3_rgw_storage.get("feed.xml") == (b"<rss>2</rss>", second)


def test_if_match_is_checked_by_the_server_not_only_by_our_head(s3_rgw_storage: S3Storage):
    first = s3_rgw_storage.put_conditional("feed.xml", b"<rss>1</rss>", expected_etag=None)
    client, bucket = s3_rgw_storage.client, s3_rgw_storage.bucket
    raced: list[bool] = []

    def rival_writes_after_our_head(params: dict[str, Any], **_: Any) -> None:
        if "IfMatch" in params and not raced:
            raced.append(True)
            rival = make_client(StorageSettings(addressing_style="path"))
            rival.put_object(Bucket=bucket, Key="podcast/feed.xml", Body=b"<rss>rival</rss>")

    client.meta.events.register("before-parameter-build.s3.PutObject", rival_writes_after_our_head)
    with pytest.raises(ConflictError, match="changed meanwhile"):
        s3_rgw_storage.put_conditional("feed.xml", b"<rss>ours</rss>", expected_etag=first)
    assert raced and s3_rgw_storage.get("feed.xml")[0] == b"<rss>rival</rss>"  # type: ignore[index]


def test_radosgw_killed_mid_multipart_then_a_re_run_completes(
    s3_fault_bucket: tuple[S3Client, str],
    s3_fault_storage: S3Storage,
    s3_rgw_ctl: Callable[[str], None],
    tmp_path: Path,
):
    admin, bucket = s3_fault_bucket
    storage = s3_fault_storage
    storage.put_bytes("chapters/ep.json", b"{}")
    path, sha = make_file(tmp_path / "long.mp3", 20 * MiB)
    killed = kill_after_first_part(storage.client, s3_rgw_ctl)
    with pytest.raises(StorageError, match=f"Failed to upload {path} to {bucket}/podcast/"):
        storage.put_file("audio/long.mp3", path, sha256=sha)
    assert killed.is_set()
    s3_rgw_ctl("start")
    orphans = admin.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    assert len(orphans) == 1  # the abort could not reach the dead server: the re-run must
    assert storage.head("audio/long.mp3") is None

    obj, uploaded = storage.put_file("audio/long.mp3", path, sha256=sha)  # the re-run
    assert uploaded and obj.sha256 == sha and obj.size == 20 * MiB
    keys = [item["Key"] for item in admin.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert sorted(keys) == ["podcast/audio/long.mp3", "podcast/chapters/ep.json"]
    assert admin.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    data = admin.get_object(Bucket=bucket, Key="podcast/audio/long.mp3")["Body"].read()
    assert hashlib.sha256(data).hexdigest() == sha
