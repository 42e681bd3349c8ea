"""S3Storage against moto: in-process ``mock_aws`` for logic, a real HTTP moto server where the
wire matters. Every request that would write is counted through botocore's event hooks."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError
from botocore.stub import Stubber
from moto import mock_aws
from moto.core import set_initial_no_auth_action_count
from s3_helpers import WRITES, count_calls, moto_server

from dfl_audio.errors import ConflictError, StorageError
from dfl_audio.mediatypes import FEED, IMMUTABLE
from dfl_audio.models.show import StorageSettings
from dfl_audio.s3 import S3Storage
from dfl_audio.s3_client import make_client, make_transfer_config
from dfl_audio.storage import open_storage

MiB = 1 << 20
BUCKET = "dfl-test"
SECRET = "moto-secret-never-shown"
ACCESS = "AKIAMOTOTESTKEY00001"
SMALL_PARTS = make_transfer_config(threshold=5 * MiB, chunksize=5 * MiB, concurrency=3)


@pytest.fixture
def s3_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials from the environment (boto3's default chain), no real endpoint."""
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


@pytest.fixture
def s3_storage(s3_env: None) -> Iterator[S3Storage]:
    with mock_aws():
        client = make_client(StorageSettings(), max_attempts=1)
        client.create_bucket(Bucket=BUCKET)
        yield S3Storage(client, BUCKET, "podcast", transfer_config=SMALL_PARTS)


def writes(calls: Counter[str]) -> int:
    return sum(calls[name] for name in WRITES)


def make_file(path: Path, size: int) -> tuple[Path, str]:
    data = os.urandom(size)
    path.write_bytes(data)
    return path, hashlib.sha256(data).hexdigest()


# -- puts -------------------------------------------------------------------------------------


def test_put_file_sets_headers_metadata_and_reports_progress(s3_storage: S3Storage, tmp_path):
    path, sha = make_file(tmp_path / "ep.mp3", 300_000)
    seen: list[int] = []
    obj, uploaded = s3_storage.put_file("audio/ep.mp3", path, sha256=sha, progress=seen.append)
    head = s3_storage.client.head_object(Bucket=BUCKET, Key="podcast/audio/ep.mp3")
    assert uploaded is True and obj.sha256 == sha and obj.size == 300_000
    assert head["ContentType"] == "audio/mpeg" and head["CacheControl"] == IMMUTABLE
    assert head["Metadata"] == {"sha256": sha}
    assert obj.etag == hashlib.md5(path.read_bytes()).hexdigest()
    assert sum(seen) == 300_000


def test_re_put_of_unchanged_objects_makes_zero_puts(s3_storage: S3Storage, tmp_path):
    path, sha = make_file(tmp_path / "ep.mp3", 11 * MiB)
    s3_storage.put_file("audio/ep.mp3", path, sha256=sha)
    s3_storage.put_bytes("chapters/ep.json", b'{"version": "1.2.0"}')
    calls = count_calls(s3_storage.client)
    obj, uploaded = s3_storage.put_file("audio/ep.mp3", path, sha256=sha)
    again, uploaded_again = s3_storage.put_bytes("chapters/ep.json", b'{"version": "1.2.0"}')
    assert (uploaded, uploaded_again) == (False, False)
    assert obj.sha256 == sha and again.size == 20
    assert writes(calls) == 0 and calls["HeadObject"] == 2


def test_a_changed_object_under_the_same_key_is_uploaded_again(s3_storage: S3Storage):
    s3_storage.put_bytes("show.txt", b"old")
    calls = count_calls(s3_storage.client)
    obj, uploaded = s3_storage.put_bytes("show.txt", b"new")
    assert uploaded is True and calls["PutObject"] == 1
    assert s3_storage.get("show.txt") == (b"new", obj.etag)


def test_multipart_above_the_threshold_with_verified_sha256(s3_storage: S3Storage, tmp_path):
    path, sha = make_file(tmp_path / "long.mp3", 11 * MiB)
    calls = count_calls(s3_storage.client)
    obj, uploaded = s3_storage.put_file("audio/long.mp3", path, sha256=sha)
    assert uploaded is True and obj.sha256 == sha and obj.size == 11 * MiB
    assert calls["CreateMultipartUpload"] == 1 and calls["UploadPart"] == 3
    assert obj.etag is not None and obj.etag.endswith("-3")
    data, _ = s3_storage.get("audio/long.mp3")  # type: ignore[misc]
    assert hashlib.sha256(data).hexdigest() == sha
    assert s3_storage.pending_uploads("audio/long.mp3") == []


def test_verification_catches_a_server_that_stored_something_else(s3_storage: S3Storage):
    def corrupt(params: dict[str, Any], **_: Any) -> None:
        params["Metadata"] = {"sha256": "0" * 64}

    s3_storage.client.meta.events.register("before-parameter-build.s3.PutObject", corrupt)
    with pytest.raises(StorageError, match="verification failed: sha256 metadata 0000"):
        s3_storage.put_bytes("chapters/ep.json", b"{}")


def test_a_failed_multipart_upload_is_aborted(s3_storage: S3Storage, tmp_path):
    path, sha = make_file(tmp_path / "long.mp3", 11 * MiB)
    parts = Counter[str]()

    def drop_second_part(**_: Any) -> None:
        parts["sent"] += 1
        if parts["sent"] == 2:
            raise EndpointConnectionError(endpoint_url="https://s3.amazonaws.com")

    s3_storage.client.meta.events.register("before-call.s3.UploadPart", drop_second_part)
    with pytest.raises(StorageError) as failure:
        s3_storage.put_file("audio/long.mp3", path, sha256=sha)
    assert str(failure.value).startswith(f"Failed to upload {path} to {BUCKET}/podcast/audio/")
    assert "cannot connect to" in str(failure.value)
    assert s3_storage.pending_uploads("audio/long.mp3") == []
    assert s3_storage.list_keys() == []


def test_leftovers_of_a_crashed_run_are_cleared_by_the_next_one(s3_storage: S3Storage, tmp_path):
    path, sha = make_file(tmp_path / "long.mp3", 11 * MiB)
    s3_storage.client.create_multipart_upload(Bucket=BUCKET, Key="podcast/audio/long.mp3")
    assert len(s3_storage.pending_uploads("audio/long.mp3")) == 1
    s3_storage.put_file("audio/long.mp3", path, sha256=sha)
    assert s3_storage.pending_uploads("audio/long.mp3") == []
    assert s3_storage.list_keys() == ["audio/long.mp3"]


# -- the feed: conditional writes ---------------------------------------------------------------


def test_conditional_create_update_and_conflicts(s3_storage: S3Storage):
    first = s3_storage.put_conditional("feed.xml", b"<rss>1</rss>", expected_etag=None)
    with pytest.raises(ConflictError, match="created by someone else"):
        s3_storage.put_conditional("feed.xml", b"<rss>x</rss>", expected_etag=None)
    second = s3_storage.put_conditional("feed.xml", b"<rss>2</rss>", expected_etag=first)
    with pytest.raises(ConflictError, match="changed meanwhile"):
        s3_storage.put_conditional("feed.xml", b"<rss>3</rss>", expected_etag=first)
    with pytest.raises(ConflictError, match="deleted meanwhile"):
        s3_storage.put_conditional("gone.xml", b"<rss/>", expected_etag=first)
    assert s3_storage.get("feed.xml") == (b"<rss>2</rss>", second)
    head = s3_storage.client.head_object(Bucket=BUCKET, Key="podcast/feed.xml")
    assert head["ContentType"] == "application/rss+xml" and head["CacheControl"] == FEED


def test_the_server_side_condition_catches_a_write_between_check_and_put(s3_storage: S3Storage):
    """Another publisher writes after our HEAD pre-check: only If-Match can catch that."""
    first = s3_storage.put_conditional("feed.xml", b"<rss>1</rss>", expected_etag=None)
    rival = boto3.client("s3", region_name="us-east-1")

    def race(params: dict[str, Any], **_: Any) -> None:
        if "IfMatch" in params and not race.done:  # type: ignore[attr-defined]
            race.done = True  # type: ignore[attr-defined]
            rival.put_object(Bucket=BUCKET, Key="podcast/feed.xml", Body=b"<rss>rival</rss>")

    race.done = False  # type: ignore[attr-defined]
    s3_storage.client.meta.events.register("before-parameter-build.s3.PutObject", race)
    with pytest.raises(ConflictError, match="changed meanwhile"):
        s3_storage.put_conditional("feed.xml", b"<rss>ours</rss>", expected_etag=first)
    assert s3_storage.get("feed.xml")[0] == b"<rss>rival</rss>"  # type: ignore[index]


def test_if_match_falls_back_to_a_quoted_etag(s3_storage: S3Storage):
    """RGW wants the bare ETag in If-Match, RFC 9110 servers the quoted one: we try both."""
    first = s3_storage.put_conditional("feed.xml", b"<rss>1</rss>", expected_etag=None)
    sent: list[str] = []

    def strict_rfc_server(request: Any, **_: Any) -> None:
        if "If-Match" in request.headers:
            sent.append(request.headers["If-Match"])
            if not request.headers["If-Match"].startswith('"'):
                del request.headers["If-Match"]
                request.headers["If-Match"] = '"never-matches"'

    s3_storage.client.meta.events.register("before-sign.s3.PutObject", strict_rfc_server)
    second = s3_storage.put_conditional("feed.xml", b"<rss>2</rss>", expected_etag=first)
    assert sent == [first, f'"{first}"']
    assert s3_storage.get("feed.xml") == (b"<rss>2</rss>", second)


def test_probe_tells_whether_the_server_enforces_conditions(s3_storage: S3Storage):
    assert s3_storage.probe_conditional_writes() is True

    def strip(request: Any, **_: Any) -> None:  # what s3rver effectively does
        if "If-None-Match" in request.headers:
            del request.headers["If-None-Match"]

    s3_storage.client.meta.events.register("before-sign.s3.PutObject", strip)
    assert s3_storage.probe_conditional_writes() is False
    assert s3_storage.list_keys() == []  # the probe cleans up after itself


def test_delete_and_list_stay_inside_the_prefix(s3_storage: S3Storage):
    s3_storage.client.put_object(Bucket=BUCKET, Key="elsewhere/x.mp3", Body=b"x")
    for key in ("audio/a.mp3", "audio/b.mp3", "feed.xml"):
        s3_storage.put_bytes(key, key.encode())
    s3_storage.delete("audio/a.mp3")
    s3_storage.delete("audio/a.mp3")
    assert s3_storage.list_keys() == ["audio/b.mp3", "feed.xml"]
    assert s3_storage.list_keys("audio/") == ["audio/b.mp3"]
    assert s3_storage.head("audio/a.mp3") is None and s3_storage.get("audio/a.mp3") is None


# -- error messages ---------------------------------------------------------------------------


def assert_no_credentials(message: str) -> None:
    assert SECRET not in message and ACCESS not in message


def test_no_such_bucket_names_bucket_and_key(s3_storage: S3Storage):
    missing = S3Storage(s3_storage.client, "no-such-bucket", "podcast")
    with pytest.raises(StorageError) as failure:
        missing.put_bytes("feed.xml", b"<rss/>")
    message = str(failure.value)
    assert message.startswith("Failed to upload 6 bytes to no-such-bucket/podcast/feed.xml: ")
    assert "the bucket no-such-bucket does not exist" in message
    assert_no_credentials(message)
    assert failure.value.original is not None


@set_initial_no_auth_action_count(4)
def test_access_denied_says_which_permission(s3_env: None, tmp_path: Path):
    """moto enforces IAM here: a read-only user gets a real 403 on PutObject."""
    with mock_aws():
        iam = boto3.client("iam")
        iam.create_user(UserName="reader")
        policy = {"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": "*"}
        document = json.dumps({"Version": "2012-10-17", "Statement": [policy]})
        iam.put_user_policy(UserName="reader", PolicyName="ro", PolicyDocument=document)
        key = iam.create_access_key(UserName="reader")["AccessKey"]
        boto3.client("s3").create_bucket(Bucket=BUCKET)
        reader = boto3.client(
            "s3",
            aws_access_key_id=key["AccessKeyId"],
            aws_secret_access_key=key["SecretAccessKey"],
        )
        path, sha = make_file(tmp_path / "ep.mp3", 1000)
        with pytest.raises(StorageError) as failure:
            S3Storage(reader, BUCKET, "podcast").put_file("audio/ep.mp3", path, sha256=sha)
        wrong = boto3.client(
            "s3", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key="wrong-secret"
        )
        with pytest.raises(StorageError) as bad_secret:  # a bodyless 403 on HEAD first
            S3Storage(wrong, BUCKET, "podcast").put_bytes("feed.xml", b"<rss/>")
    message = str(failure.value)
    assert message == (
        f"Failed to upload {path} to {BUCKET}/podcast/audio/ep.mp3: access denied: the "
        f"credentials need s3:PutObject on {BUCKET}/podcast/audio/ep.mp3 (HTTP 403 AccessDenied)"
    )
    assert "the secret access key is wrong" in str(bad_secret.value)
    for text in (message, str(bad_secret.value)):
        assert key["SecretAccessKey"] not in text and "wrong-secret" not in text
        assert key["AccessKeyId"] not in text


@pytest.mark.parametrize(
    ("code", "status", "extra", "expected"),
    [
        ("PermanentRedirect", 301, {"Region": "eu-west-1"}, "set storage.region to eu-west-1"),
        ("AuthorizationHeaderMalformed", 400, {}, "is in another region"),
        ("RequestTimeTooSkewed", 403, {}, "clock is more than 15 minutes off"),
        ("SignatureDoesNotMatch", 403, {}, "the secret access key is wrong"),
        ("InvalidAccessKeyId", 403, {}, "does not know this access key id"),
        ("SlowDown", 503, {"Message": "Please reduce your request rate."}, "reduce your request"),
    ],
)
def test_server_errors_become_one_clear_sentence(code, status, extra, expected, s3_env):
    client = make_client(StorageSettings(), max_attempts=1)
    with Stubber(client) as stub:
        stub.add_client_error(
            "get_object",
            service_error_code=code,
            service_message=extra.pop("Message", "server says no"),
            http_status_code=status,
            service_error_meta=extra or None,
        )
        with pytest.raises(StorageError) as failure:
            S3Storage(client, BUCKET).get("feed.xml")
    assert str(failure.value).startswith(f"Failed to read {BUCKET}/feed.xml: ")
    assert expected in str(failure.value)
    assert_no_credentials(str(failure.value))


# -- over real HTTP: a moto server on 127.0.0.1 ------------------------------------------------


@pytest.fixture(scope="module")
def s3_moto_server() -> Iterator[str]:
    with moto_server() as endpoint:
        yield endpoint


def test_aws_endpoint_url_from_the_environment_is_honoured(
    s3_env: None, s3_moto_server: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_moto_server)
    settings = StorageSettings(addressing_style="path")
    storage = open_storage("s3://dfl-http/podcast", root=tmp_path, settings=settings)
    assert isinstance(storage, S3Storage) and storage.endpoint_url == s3_moto_server
    storage.client.create_bucket(Bucket="dfl-http")
    storage.transfer_config = SMALL_PARTS
    path, sha = make_file(tmp_path / "long.mp3", 11 * MiB)
    obj, uploaded = storage.put_file("audio/long.mp3", path, sha256=sha)
    assert uploaded and obj.etag and obj.etag.endswith("-3")
    with urllib.request.urlopen(f"{s3_moto_server}/dfl-http/podcast/audio/long.mp3") as response:
        assert response.headers["Content-Type"] == "audio/mpeg"
        assert response.headers["Cache-Control"] == IMMUTABLE
        assert hashlib.sha256(response.read()).hexdigest() == sha
    first = storage.put_conditional("feed.xml", b"<rss/>", expected_etag=None)
    with pytest.raises(ConflictError):
        storage.put_conditional("feed.xml", b"<rss>2</rss>", expected_etag=None)
    assert storage.put_conditional("feed.xml", b"<rss>2</rss>", expected_etag=first) != first


def test_a_bad_endpoint_is_named_in_the_message(s3_env: None, monkeypatch: pytest.MonkeyPatch):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    storage = S3Storage(make_client(StorageSettings(), max_attempts=1), BUCKET, "podcast")
    with pytest.raises(StorageError) as failure:
        storage.put_bytes("feed.xml", b"<rss/>")
    assert str(failure.value) == (
        f"Failed to upload 6 bytes to {BUCKET}/podcast/feed.xml: "
        f"cannot connect to http://127.0.0.1:{port}: check storage.endpoint_url / "
        "AWS_ENDPOINT_URL and that the server is running"
    )


def test_a_bodyless_403_on_head_is_explained_by_a_ranged_get(s3_env: None):
    """Real S3 and RGW send no error body with HEAD (moto does): a 1-byte GET says why."""
    client = make_client(StorageSettings(), max_attempts=1)
    with Stubber(client) as stub:
        stub.add_client_error("head_object", service_error_code="403", http_status_code=403)
        stub.add_client_error(
            "get_object",
            service_error_code="SignatureDoesNotMatch",
            http_status_code=403,
            expected_params={"Bucket": BUCKET, "Key": "podcast/feed.xml", "Range": "bytes=0-0"},
        )
        with pytest.raises(StorageError, match="the secret access key is wrong"):
            S3Storage(client, BUCKET, "podcast").put_bytes("feed.xml", b"<rss/>")
        stub.assert_no_pending_responses()


def test_listings_skip_date_parsing_and_still_see_every_object(s3_storage: S3Storage):
    """The client keeps timestamps as sent (botocore's date parsing was most of a listing's
    cost); the inventory still has every key, size and ETag."""
    for number in range(3):
        s3_storage.put_bytes(f"audio/ep-{number}.mp3", b"x" * (number + 1))
    page = s3_storage.client.list_objects_v2(Bucket=BUCKET)
    assert all(isinstance(item["LastModified"], str) for item in page["Contents"])
    inventory = s3_storage.inventory("audio/")
    assert {key: found.size for key, found in inventory.items()} == {
        "audio/ep-0.mp3": 1,
        "audio/ep-1.mp3": 2,
        "audio/ep-2.mp3": 3,
    }
    assert all(found.etag for found in inventory.values())
