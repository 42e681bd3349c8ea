"""The boto3 pieces dfl-audio's S3 storage is built from: the client, the transfer settings
and the bucket and prefix of an ``s3://`` location, each from the configuration.

Kept apart from the adapter (:mod:`dfl_audio.s3`), which takes an injected client, so that how
production connects (retries, timeouts, addressing style, botocore's parser) reads in one
place and tests and benchmarks build the same client the CLI does.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import boto3
import botocore.session
from boto3.s3.transfer import TransferConfig
from botocore.config import Config

from dfl_audio.errors import ConfigError
from dfl_audio.models.show import StorageSettings

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

MiB = 1 << 20
_BUCKET_RE = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


def make_transfer_config(
    threshold: int = 16 * MiB, chunksize: int = 8 * MiB, concurrency: int = 4
) -> TransferConfig:
    """Multipart above ``threshold``, ``concurrency`` parts in flight (classic s3transfer)."""
    return TransferConfig(
        multipart_threshold=threshold,
        multipart_chunksize=chunksize,
        max_concurrency=concurrency,
        use_threads=True,
        preferred_transfer_client="classic",
    )


def make_client(
    settings: StorageSettings,
    *,
    max_attempts: int = 5,
    connect_timeout: float = 10,
    read_timeout: float = 60,
) -> S3Client:
    """A client from boto3's default credential chain; the endpoint falls back to the
    ``AWS_ENDPOINT_URL``/``AWS_ENDPOINT_URL_S3`` variables, which botocore reads itself."""
    config = Config(
        retries={"mode": "standard", "max_attempts": max_attempts},
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        s3={"addressing_style": settings.addressing_style},
    )
    core = botocore.session.get_session()
    # Timestamps stay the strings the server sent: no field dfl-audio reads is a date, and
    # botocore's date parsing is ~85 % of the cost of a listing (0.17 -> 0.02 ms a key), which
    # every run pays for every stored object.
    core.get_component("response_parser_factory").set_parser_defaults(timestamp_parser=str)
    session = boto3.session.Session(botocore_session=core)
    return session.client(
        "s3", endpoint_url=settings.endpoint_url, region_name=settings.region, config=config
    )


def parse_s3_url(location: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix/`` → ``("bucket", "some/prefix")``.

    >>> parse_s3_url("s3://dfl-audio/podcast/")
    ('dfl-audio', 'podcast')
    >>> parse_s3_url("s3://dfl-audio")
    ('dfl-audio', '')
    """
    bucket, _, prefix = location.removeprefix("s3://").partition("/")
    if not _BUCKET_RE.fullmatch(bucket):
        raise ConfigError(
            f"invalid S3 location {location!r}: expected s3://bucket/prefix with a bucket name "
            "of 3-63 lowercase letters, digits, dots and hyphens"
        )
    return bucket, prefix.strip("/")
