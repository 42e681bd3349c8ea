"""Helpers shared by the S3 tests (moto and the real Ceph RGW): counting requests, and
fetching anonymously over HTTP as a podcast app does."""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    """A moto S3 server over real HTTP on a free loopback port; its URL. werkzeug's INFO line
    per request is muted meanwhile (it would bury failures)."""
    from moto.server import ThreadedMotoServer

    quiet = logging.getLogger("werkzeug")
    level = quiet.level
    quiet.setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()
        quiet.setLevel(level)


# Every request that writes an object (a re-publish of unchanged episodes makes none).
WRITES = ("PutObject", "CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload")


def count_calls(client: S3Client) -> Counter[str]:
    """Counts every request by operation name, as the client is about to send it."""
    calls: Counter[str] = Counter()

    def hook(model: Any, **_: Any) -> None:
        calls[model.name] += 1

    client.meta.events.register("before-call.s3", hook)
    return calls


def http_get(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes, Any]:
    """An anonymous GET, as a podcast app makes it."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read(), response.headers
    except urllib.error.HTTPError as error:
        return error.code, error.read(), error.headers


def make_public(client: S3Client, bucket: str) -> None:
    """The bucket policy that lets anyone GET objects: what a podcast bucket needs."""
    statement = {
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{bucket}/*",
    }
    policy = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    client.put_bucket_policy(Bucket=bucket, Policy=policy)


def kill_after_first_part(client: Any, ctl: Callable[[str], None]) -> threading.Event:
    """Kill radosgw once the first multipart part is in (``ctl`` is the s3_rgw_ctl fixture),
    so the remaining parts meet a dead server. The event tells whether it fired."""
    killed = threading.Event()

    def kill(**_: Any) -> None:
        if not killed.is_set():
            killed.set()
            killer = threading.Thread(target=ctl, args=("kill",))
            killer.start()
            killer.join()

    client.meta.events.register("after-call.s3.UploadPart", kill)
    return killed
