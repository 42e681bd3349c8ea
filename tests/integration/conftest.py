"""Fixtures for the real-server suite: a Ceph RGW started by scripts/ci_s3.sh (or by hand with
``eval "$(bash ../shared/s3/start-ceph-rgw.sh)"``). Everything skips unless AWS_ENDPOINT_URL
is set; the fault-injection fixture also needs CEPH_RGW_DIR."""

from __future__ import annotations

import contextlib
import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from dfl_audio.models.show import StorageSettings
from dfl_audio.s3 import S3Storage
from dfl_audio.s3_client import make_client, make_transfer_config

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

MiB = 1 << 20
RGW_CTL = Path(
    os.environ.get("RGW_CTL", Path(__file__).resolve().parents[3] / "shared/s3/rgw-ctl.sh")
)
# Small parts so a 12 MiB file is a real 3-part multipart upload.
S3_SMALL_PARTS = make_transfer_config(threshold=5 * MiB, chunksize=5 * MiB, concurrency=2)


def s3_rgw_client(*, max_attempts: int = 3) -> S3Client:
    """A client for the test server via boto3's default chain (the exported variables)."""
    if not os.environ.get("AWS_ENDPOINT_URL"):
        pytest.skip("integration: set AWS_ENDPOINT_URL (see scripts/ci_s3.sh)")
    return make_client(
        StorageSettings(addressing_style="path"),
        max_attempts=max_attempts,
        connect_timeout=3,
        read_timeout=20,
    )


def empty(client: S3Client, bucket: str) -> None:
    for upload in client.list_multipart_uploads(Bucket=bucket).get("Uploads", []):
        client.abort_multipart_upload(Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"])
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            client.delete_object(Bucket=bucket, Key=item["Key"])


@contextlib.contextmanager
def fresh_bucket(*, delete: bool = True) -> Iterator[tuple[S3Client, str]]:
    client = s3_rgw_client()
    bucket = f"dfl-it-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket)
    try:
        yield client, bucket
    finally:
        empty(client, bucket)
        if delete:
            client.delete_bucket(Bucket=bucket)


@pytest.fixture
def s3_bucket() -> Iterator[tuple[S3Client, str]]:
    """A fresh, empty bucket and an admin client; emptied and deleted afterwards."""
    with fresh_bucket() as made:
        yield made


@pytest.fixture
def s3_fault_bucket() -> Iterator[tuple[S3Client, str]]:
    """A fresh bucket for tests that kill radosgw: emptied afterwards but NOT deleted.

    After a SIGKILL the dead radosgw's watches linger on the OSD until they time out
    (osd_client_watch_timeout, 30 s by default), and until then every bucket-metadata write
    (create/delete bucket, bucket policy) stalls; object reads and writes are unaffected.
    So fault tests reuse a bucket made before the kill and run last (the cluster is thrown
    away anyway).
    """
    with fresh_bucket(delete=False) as made:
        yield made


@pytest.fixture
def s3_rgw_storage(s3_bucket: tuple[S3Client, str]) -> S3Storage:
    """S3Storage on the fresh bucket under the prefix ``podcast``, with small parts."""
    client, bucket = s3_bucket
    return S3Storage(client, bucket, "podcast", transfer_config=S3_SMALL_PARTS)


@pytest.fixture
def s3_fault_storage(s3_fault_bucket: tuple[S3Client, str]) -> S3Storage:
    """Like s3_rgw_storage, but with one retry and short timeouts, so a dead server fails an
    upload in seconds instead of after the production back-off."""
    _, bucket = s3_fault_bucket
    client = s3_rgw_client(max_attempts=2)
    return S3Storage(client, bucket, "podcast", transfer_config=S3_SMALL_PARTS)


@pytest.fixture
def s3_rgw_ctl() -> Iterator[Callable[[str], None]]:
    """``ctl("kill")`` / ``ctl("start")`` the radosgw daemon (data and the rest stay up)."""
    cluster = os.environ.get("CEPH_RGW_DIR")
    if not cluster or not RGW_CTL.is_file():
        pytest.skip("fault injection: set CEPH_RGW_DIR (and RGW_CTL if not at ../shared)")

    def ctl(action: str) -> None:
        subprocess.run(["bash", str(RGW_CTL), cluster, action], check=True, timeout=60)

    yield ctl
    ctl("start")  # never leave the server down for the next test
