"""Upload throughput: S3Storage.put_file against a bare boto3 upload_file, same TransferConfig.

The bare upload sends the same headers and metadata. put_file adds a HEAD before (the skip
rule), a HEAD after (verification) and a listing of unfinished multipart uploads (overlapped
with the upload); this measures what that costs on a fast loopback server, where the overhead
shows most. Rounds alternate so both see the same machine load.

    eval "$(bash ../shared/s3/start-ceph-rgw.sh)"
    .venv/bin/python scripts/bench_upload.py --size-mb 60 --rounds 6
    bash ../shared/s3/stop-ceph-rgw.sh "$CEPH_RGW_DIR"
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dfl_audio.mediatypes import IMMUTABLE
from dfl_audio.models.show import StorageSettings
from dfl_audio.s3 import S3Storage
from dfl_audio.s3_client import make_client, make_transfer_config

MB = 1_000_000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mb", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    if not os.environ.get("AWS_ENDPOINT_URL"):
        parser.error("set AWS_ENDPOINT_URL (start the loopback Ceph RGW first, see --help)")

    client = make_client(StorageSettings(addressing_style="path"))
    config = make_transfer_config()
    bucket = f"bench-{uuid.uuid4().hex[:10]}"
    client.create_bucket(Bucket=bucket)
    storage = S3Storage(client, bucket, "bench", transfer_config=config)
    ours: list[float] = []
    bare: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "episode.mp3"
        path.write_bytes(os.urandom(args.size_mb * MB))
        sha = hashlib.sha256(path.read_bytes()).hexdigest()  # known before upload in publish
        print(
            f"{args.size_mb} MB, {args.rounds} rounds, endpoint {storage.endpoint_url}, "
            f"threshold {config.multipart_threshold >> 20} MiB, "
            f"parts {config.multipart_chunksize >> 20} MiB x {config.max_concurrency}"
        )
        for round_ in range(args.rounds):
            first, second = (ours, bare) if round_ % 2 == 0 else (bare, ours)
            for series in (first, second):
                key = f"audio/{'ours' if series is ours else 'bare'}-{round_}.mp3"
                start = time.perf_counter()
                if series is ours:
                    storage.put_file(key, path, sha256=sha)
                else:
                    extra = {
                        "ContentType": "audio/mpeg",
                        "CacheControl": IMMUTABLE,
                        "Metadata": {"sha256": sha},
                    }
                    client.upload_file(
                        str(path), bucket, f"bench/{key}", ExtraArgs=extra, Config=config
                    )
                series.append(args.size_mb * MB / (time.perf_counter() - start) / MB)
            print(
                f"round {round_ + 1}: put_file {ours[-1]:7.1f} MB/s   "
                f"upload_file {bare[-1]:7.1f} MB/s"
            )
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            client.delete_object(Bucket=bucket, Key=item["Key"])
    client.delete_bucket(Bucket=bucket)
    ours_mb, bare_mb = statistics.median(ours), statistics.median(bare)
    paired = statistics.median(o / b for o, b in zip(ours, bare, strict=True))
    print(
        f"median: put_file {ours_mb:.1f} MB/s, upload_file {bare_mb:.1f} MB/s, "
        f"ratio {ours_mb / bare_mb:.2f}; median of per-round ratios {paired:.2f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
